"""Regenerate subst_oracle.json with the reference's `chaoslib.substitute`:

    target/reference-venv/bin/python crates/experiment/tests/subst_gen.py"""
import json
import os

from chaoslib import substitute

CONFIG = {"n": 3, "s": "text", "b": True, "z": None, "m": {"a": 1, "b": [1, "x'y"]}, "l": ["x", 2.5],
          "f": 1e16, "g": 0.0001, "h": 1e-5, "HOME": "/h", "q": "it's \"q\"", "nl": "a\nb\u00e9\u200b"}
SECRETS = {"one": {"tok": "secret", "n": "shadowed"}, "two": {"pw": "p", "tok": "later"}}
INPUTS = [
    "${n}", "${s}", "${b}", "${z}", "${m}", "${l}", "${f}", "$n", "x${n}", "${b} ${z}", "m=${m}", "l=$l",
    "f=${f} g=${g} h=${h}", "${tok}", "$pw!", "${missing}", "$HOME/x", "$USER/x", "$$n", "$$", "$", "$$$",
    "${my-key}", "${ n}", "$1", "${n", "$n-$s.$f", "${n}${n}", "\u00e9$s\u20ac", "", "${N}", "$_", "${_}",
    "q=${q}", "${q}", "nl=${nl}", "[${m}]", "${m}x", "$nope ${n}", "${s}}", "${{s}}",
    ["${n}", "a$s", 1, None, ["${b}"], {"k": "${z}"}],
    {"${n}": "${n}", "x": {"y": ["$s"]}, "e": "", "l": []},
    5, None, True, [], {},
]


def main():
    out = [{"input": i, "output": substitute(i, CONFIG, SECRETS)} for i in INPUTS]
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "subst_oracle.json"), "w") as f:
        f.write(json.dumps({"configuration": CONFIG, "secrets": SECRETS, "cases": out}, indent=1, ensure_ascii=False) + "\n")


main()
