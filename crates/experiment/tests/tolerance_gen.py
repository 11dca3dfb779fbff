"""Regenerate tolerance_oracle.json with the reference (chaostoolkit-lib 1.44.0):

    target/reference-venv/bin/python crates/experiment/tests/tolerance_gen.py [--stdout]

Each case runs the reference's own hypothesis step: a string tolerance is substituted,
then `within_tolerance`. "crash" = the reference raises (we must return Outcome::Error)."""
import json
import logging
import os
import sys
import warnings

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from chaoslib import substitute
from chaoslib.hypothesis import within_tolerance

CONFIG = {"expected": 3, "flag": True, "name": "ok", "pat": "^o+k$", "path": "$.a", "lst": [1, 2],
          "f": 1.5, "nul": None, "m": {"x": 1}}
SECRETS = {"s": {"tok": "abc", "expected": 99}}

HTTP_OK = {"status": 200, "headers": {}, "body": {"a": 1, "items": [{"x": 1}, {"x": 2}]}}
HTTP_TXT = {"status": 204, "headers": {}, "body": "{\"a\": [1, 2], \"b\": \"x\"}"}
PROC = {"status": 0, "stdout": "all ok\n", "stderr": ""}
PROC1 = {"status": 1, "stdout": "580.5", "stderr": "boom"}

CASES = [
    # bool
    (True, True), (True, 1), (True, 1.0), (False, 0), (True, "True"), (True, HTTP_OK), (False, None),
    # int
    (200, HTTP_OK), (204, HTTP_OK), (0, PROC), (1, PROC1), (42, 42.0), (42, 42), (42, "42"), (1, True),
    (0, False), (0, {"no_status": 0}), (0, {"status": False}), (3, [3]), (9007199254740993, 9007199254740992.0),
    # float (rejected by validation)
    (1.0, 1.0), (1.5, 1.5),
    # string
    ("ok", "ok"), ("ok", "OK"), ("ok", PROC), ("", ""), ("1", 1),
    ("${expected}", 3), ("${expected}", "3"), ("${expected}", HTTP_OK), ("${expected}", {"status": 3}),
    ("${flag}", True), ("${flag}", 1), ("${name}", "ok"), ("${tok}", "abc"), ("${missing}", "${missing}"),
    ("x${expected}", "x3"), ("${flag}${flag}", "TrueTrue"), ("${lst}", 1), ("${lst}", 3), ("${lst}", [1, 2]),
    ("${f}", 1.5), ("${nul}", None), ("${m}", {"x": 1}), ("$$", "$"), ("$name", "ok"),
    # list
    ([200, 204], HTTP_OK), ([201, 204], HTTP_OK), ([200, 204, 500], HTTP_OK), ([0, 1], PROC1),
    ([0, 10], 5), ([0, 10], 10), ([0, 10], 10.5), ([0, 10], -1), ([0, 10], True), ([0.5, 1.5], 1),
    (["a", "c"], "b"), (["a", "c"], "d"), ([[1, 1], [1, 3]], [1, 2]), ([1, 2, 3], 2.0), ([1, 2, 3], 4),
    ([1], 1), ([], 1), (["a", "b", "c"], "b"),
    ([0, 10], "5"), ([0, 10], None), ([0, 10], {"x": 1}), ([0, 10], [5]), ([5, "x"], 3), ([1, "x"], 3),
    ([None, 3], 3), (["a", 3], "b"), ([{"a": 1}, {"a": 2}], {"a": 1}),
    ([[1, 2], [3, 4]], [1, 2]), ([1, [2]], [2]),
    # null tolerance
    (None, None),
    # unknown map type
    ({"type": "whatever"}, 1), ({"x": 1}, 1),
    # regex
    ({"type": "regex", "pattern": "ok"}, "all ok"), ({"type": "regex", "pattern": "^ok"}, "all ok"),
    ({"type": "regex", "pattern": "ok$", "target": "stdout"}, PROC),
    ({"type": "regex", "pattern": "ok\\Z", "target": "stdout"}, PROC),
    ({"type": "regex", "pattern": "ok\\n\\Z", "target": "stdout"}, PROC),
    ({"type": "regex", "pattern": "^all", "target": "stdout"}, PROC),
    ({"type": "regex", "pattern": "boom", "target": "stderr"}, PROC1),
    ({"type": "regex", "pattern": "ok", "target": "missing"}, PROC),
    ({"type": "regex", "pattern": "ok"}, PROC),
    ({"type": "regex", "pattern": "ok", "target": "status"}, PROC),
    ({"type": "regex", "pattern": "ok", "target": "stdout"}, "ok"),
    ({"type": "regex", "pattern": "ok", "target": ""}, "ok"),
    ({"type": "regex", "pattern": "ok", "target": ["x"]}, PROC),
    ({"type": "regex", "pattern": "ok", "target": 1}, PROC),
    ({"type": "regex", "pattern": "ok"}, 5),
    ({"type": "regex", "pattern": "ok"}, None),
    ({"type": "regex", "pattern": "("}, "x"),
    ({"type": "regex", "pattern": None}, "x"),
    ({"type": "regex"}, "x"),
    ({"type": "regex", "pattern": "${pat}"}, "ooook"),
    ({"type": "regex", "pattern": "${expected}"}, "3"),
    ({"type": "regex", "pattern": "${missing}"}, "${missing}"),
    ({"type": "regex", "pattern": "${name}"}, "is ok"),
    ({"type": "regex", "pattern": ""}, "x"),
    ({"type": "regex", "pattern": "(?i)OK"}, "ok"),
    ({"type": "regex", "pattern": "(?m)^ok$"}, "a\nok\nb"),
    ({"type": "regex", "pattern": "^ok$"}, "a\nok\nb"),
    ({"type": "regex", "pattern": "(?P<w>o)(?P=w)"}, "foo"),
    ({"type": "regex", "pattern": "(a)\\1"}, "aa"),
    ({"type": "regex", "pattern": "(?<=a)b"}, "ab"),
    ({"type": "regex", "pattern": "x{,2}y"}, "xxy"),
    ({"type": "regex", "pattern": "a{"}, "a{"),
    ({"type": "regex", "pattern": "[[]"}, "["),
    ({"type": "regex", "pattern": "[]a]"}, "]"),
    ({"type": "regex", "pattern": "[^]a]"}, "b"),
    ({"type": "regex", "pattern": "[a&&b]"}, "&"),
    ({"type": "regex", "pattern": "\\d+\\.\\d+"}, "v1.25"),
    ({"type": "regex", "pattern": "\\u00e9"}, "caf\u00e9"),
    ({"type": "regex", "pattern": "\\x41"}, "A"),
    ({"type": "regex", "pattern": "\\0"}, "a\x00"),
    ({"type": "regex", "pattern": "[\\b]"}, "a\x08"),
    ({"type": "regex", "pattern": "\\q"}, "q"),
    ({"type": "regex", "pattern": "\\-\\/\\ "}, "-/ "),
    ({"type": "regex", "pattern": "(?#comment)ok"}, "ok"),
    ({"type": "regex", "pattern": "(?x) o k  # spaced"}, "ok"),
    ({"type": "regex", "pattern": "(?a)\\w+$"}, "caf\u00e9"),
    ({"type": "regex", "pattern": "\\bok\\b"}, "is ok."),
    ({"type": "regex", "pattern": "a$"}, "a\n\n"),
    ({"type": "regex", "pattern": "a\\Z"}, "a"),
    ({"type": "regex", "pattern": "\\Aa"}, "ba"),
    # jsonpath
    ({"type": "jsonpath", "path": "$.a", "target": "body"}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": 1}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": 1.0}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": True}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": 2}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": [1]}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": 1}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": 0}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.zz", "target": "body", "count": 0}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.zz", "target": "body"}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.zz", "target": "body", "expect": []}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.zz", "target": "body", "expect": None}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": True}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": 1.0}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": "1"}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": None}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": 5, "expect": 1}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.items.*.x", "target": "body", "expect": [1, 2]}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.items.*.x", "target": "body", "expect": [2, 1]}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.items.*[?(@.x > 1)]", "target": "body", "count": 1}, HTTP_OK),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": [1, 2]}, HTTP_TXT),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": [[1, 2]]}, HTTP_TXT),
    ({"type": "jsonpath", "path": "$.b", "target": "body", "expect": "x"}, HTTP_TXT),
    ({"type": "jsonpath", "path": "$", "target": "body", "expect": "not json"}, {"body": "not json"}),
    ({"type": "jsonpath", "path": "$", "expect": "x"}, "x"),
    ({"type": "jsonpath", "path": "$", "expect": 5}, "5"),
    ({"type": "jsonpath", "path": "$.a", "target": "body"}, "x"),
    ({"type": "jsonpath", "path": "$.status"}, HTTP_OK),
    ({"type": "jsonpath", "path": "${path}", "target": "body", "expect": "${expected}"}, {"body": {"a": 3}}),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": "${lst}"}, {"body": {"a": 1}}),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "expect": ["${expected}"]}, {"body": {"a": 3}}),
    ({"type": "jsonpath", "path": "$.a", "target": "body", "count": "${expected}"}, {"body": {"a": 3}}),
    ({"type": "jsonpath", "path": "$[1:2:0]"}, [1, 2]),
    ({"type": "jsonpath", "path": "$.a[?(@.b==1)]"}, [1]),
    ({"type": "jsonpath", "path": 1}, [1]),
    ({"type": "jsonpath"}, [1]),
    ({"type": "jsonpath", "path": "$.a", "target": ["x"]}, {"a": 1}),
    ({"type": "jsonpath", "path": "$.a", "target": 1}, {"a": 1}),
    ({"type": "jsonpath", "path": '$.data.result.*[?(@.value[1]!="0")]', "target": "body", "count": 0},
     {"status": 200, "body": {"data": {"result": [{"metric": {}, "value": [1, "0"]}, {"metric": {}, "value": [2, "0"]}]}}}),
    ({"type": "jsonpath", "path": '$.data.result.*[?(@.value[1]!="0")]', "target": "body", "count": 0},
     {"status": 200, "body": {"data": {"result": [{"metric": {}, "value": [1, "0"]}, {"metric": {}, "value": [2, "5"]}]}}}),
    # range
    ({"type": "range", "range": [0, 10]}, 5), ({"type": "range", "range": [0, 10]}, 10),
    ({"type": "range", "range": [0, 10]}, 10.000001), ({"type": "range", "range": [0, 10]}, -0.0),
    ({"type": "range", "range": [0, 600], "target": "stdout"}, PROC1),
    ({"type": "range", "range": [0, 600]}, "580.5"), ({"type": "range", "range": [0, 600]}, " 580.5\n"),
    ({"type": "range", "range": [0, 600]}, "abc"), ({"type": "range", "range": [0, 600]}, ""),
    ({"type": "range", "range": [0, 600]}, "1_0"), ({"type": "range", "range": [0, 600]}, "_10"),
    ({"type": "range", "range": [0, 600]}, "1e2"), ({"type": "range", "range": [0, 600]}, "1E3"),
    ({"type": "range", "range": [0, 600]}, ".5"), ({"type": "range", "range": [0, 600]}, "5."),
    ({"type": "range", "range": [0, 600]}, "+5"), ({"type": "range", "range": [0, 600]}, "--5"),
    ({"type": "range", "range": [0, 600]}, "Infinity"), ({"type": "range", "range": [0, 600]}, "-inf"),
    ({"type": "range", "range": [0, 600]}, "NaN"), ({"type": "range", "range": [0, 600]}, "sNaN"),
    ({"type": "range", "range": [0, 600]}, "1e999999999999"),
    ({"type": "range", "range": [0.1, 1]}, "0.1"), ({"type": "range", "range": [0.1, 1]}, 0.1),
    ({"type": "range", "range": [0, 0.3]}, "0.3"), ({"type": "range", "range": [0, 1]}, True),
    ({"type": "range", "range": [0, 1]}, None), ({"type": "range", "range": [0, 1]}, {"x": 1}),
    ({"type": "range", "range": [0, 1]}, [1, 2]), ({"type": "range", "range": [0, 10]}, [0, [5], 0]),
    ({"type": "range", "range": [0, 10]}, [1, [5], 0]), ({"type": "range", "range": [0, 10]}, [0, [5], 1]),
    ({"type": "range", "range": [0, 10], "target": "body"}, "5"),
    ({"type": "range", "range": [0, 10], "target": "body"}, {"body": "5"}),
    ({"type": "range", "range": [0, 10], "target": "nope"}, {"body": "5"}),
    ({"type": "range", "range": ["1", 10]}, 5), ({"type": "range", "range": ["x", 10]}, 5),
    ({"type": "range", "range": [0]}, 5), ({"type": "range"}, 5), ({"type": "range", "range": 5}, 5),
    ({"type": "range", "range": [10, 0]}, 5), ({"type": "range", "range": [-5, -1]}, "-3"),
    ({"type": "range", "range": [1e308, 1.7976931348623157e308]}, "1.5e308"),
    ({"type": "range", "range": [0, 5e-324]}, "1e-400"),
    ({"type": "range", "range": [0, 10]}, 99999999999999999999),
    # probe: only the crashes (a valid one needs the engine)
    ({"type": "probe"}, 1),
    ({"type": "probe", "provider": {"type": "python"}}, 1),
    ({"type": "probe", "provider": {"type": "python", "arguments": None}}, 1),
]


def main():
    out = []
    for tolerance, value in CASES:
        try:
            t = tolerance
            if isinstance(t, str):
                t = substitute(t, CONFIG, SECRETS)
            r = within_tolerance(t, value, configuration=CONFIG, secrets=SECRETS)
            result = bool(r)
        except Exception as e:  # noqa
            result = "crash: %s: %s" % (type(e).__name__, e)
        out.append({"tolerance": tolerance, "value": value, "result": result})
    text = json.dumps({"configuration": CONFIG, "secrets": SECRETS, "cases": out}, indent=1, ensure_ascii=False)
    if "--stdout" in sys.argv:
        print(text)
    else:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tolerance_oracle.json"), "w") as f:
            f.write(text + "\n")


main()
