"""Regenerate jsonpath_oracle.json with the reference jsonpath2 (0.4.5):

    target/reference-venv/bin/python crates/experiment/tests/jsonpath_gen.py

Prints the table on stdout when given `--stdout` (the differential test uses that)."""
import json
import os
import sys

from jsonpath2.path import Path

PROM = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"job": "a"}, "value": [1700000000.1, "0"]},
            {"metric": {"job": "b"}, "value": [1700000000.2, "0"]},
        ],
    },
}
PROM_BAD = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"job": "a"}, "value": [1700000000.1, "0"]},
            {"metric": {"job": "b"}, "value": [1700000000.2, "3"]},
        ],
    },
}
PROM_EMPTY = {"status": "success", "data": {"resultType": "vector", "result": []}}
STORE = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
            {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
            {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord", "isbn": "0-395", "price": 22.99},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
    "flags": [True, False, None, 0, 1, 1.0, "1", [], {}],
    "a b": {"c\"d": 1, "c\\\"d": 2},
    "nested": {"x": {"x": {"x": 1}}},
    "idx": 1,
    "key": "expensive",
}
ARR = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

PATHS = {
    "prom": (PROM, [
        '$.data.result.*[?(@.value[1]!="0")]',
        '$.data.result.*[?(@.value[1]="0")]',
        '$.data.result[?(@.value[1]!="0")]',
        '$.data.result[*][?(@.value[1]!="0")]',
        '$.data.result[?(@.length() = 2)]',
        '$.data.result.length()',
        '$.data.result[*].value[1]',
        '$.data.result[*].metric.job',
        '$..value[1]',
        '$.status',
        '$.data.result[?(@.value)]',
        '$.data.result.*[?(@.metric.job = "b")].value[0]',
    ]),
    "prom_bad": (PROM_BAD, [
        '$.data.result.*[?(@.value[1]!="0")]',
        '$.data.result.*[?(@.value[1]!="0")].metric.job',
        '$.data.result[?(@.value[1]!="0")]',
        '$.data.result.*[?(not @.value[1]="0")]',
    ]),
    "prom_empty": (PROM_EMPTY, [
        '$.data.result.*[?(@.value[1]!="0")]',
        '$.data.result[?(@.length() = 0)]',
        '$.data.result.length()',
    ]),
    "store": (STORE, [
        '$',
        '$.store.book[*].author',
        '$..author',
        '$.store.*',
        '$.store..price',
        '$..book[2]',
        '$..book[-1]',
        '$..book[-5]',
        '$..book[0,1]',
        '$..book[:2]',
        '$..book[1:]',
        '$..book[-2:]',
        '$..book[::2]',
        '$..book[::-1]',
        '$..book[3:0:-1]',
        '$..book[*][?(@.isbn)].title',
        '$..book.*[?(@.price < 10)].title',
        '$..book.*[?(@.price <= 8.95)].title',
        '$..book.*[?(@.price > 10 and @.category = "fiction")].title',
        '$..book.*[?(@.price > 20 or @.price < 9 and @.category = "fiction")].title',
        '$..book.*[?(@.category = "fiction" and @.price > 20 or @.price < 9)].title',
        '$..book.*[?(not @.isbn)].title',
        '$..book.*[?(not not @.isbn)].title',
        '$..book.*[?(@.price > $.expensive)].title',
        '$..book.*[?(@.author != "Nigel Rees")].price',
        '$..book.*[?(@.missing != 1)].title',
        '$..book.*[?(@.missing = null)].title',
        '$..*',
        '$..[0]',
        '$..[?(@.color)]',
        '$["store"]["bicycle"]["color"]',
        '$.store["bicycle", "book"]',
        '$["a b"]',
        '$["a b"]["c\\"d"]',
        '$["a b"].*',
        '$.flags[?(@ = 1)]',
        '$.flags.*[?(@ = 1)]',
        '$.flags.*[?(@ = true)]',
        '$.flags.*[?(@ = null)]',
        '$.flags.*[?(@ = [])]',
        '$.flags.*[?(@ = {})]',
        '$.flags.*[?(@)]',
        '$.flags.*[?(@ > 0)]',
        '$.flags.*[?(@ >= false)]',
        '$.flags.*[?(@ != 1)]',
        '$.flags.length()',
        '$.store.keys()',
        '$.store.bicycle.values()',
        '$.store.bicycle.entries()',
        '$.flags[0:2].keys()',
        '$.store.bicycle.color.length()',
        '$.store.bicycle.color.charAt(0)',
        '$.store.bicycle.color.charAt(-1)',
        '$.store.bicycle.color.charAt(5)',
        '$.store.bicycle.color.substring(1)',
        '$.store.bicycle.color.substring(0, -1)',
        '$.store.bicycle.color[length()]',
        '$.store.book[$.idx].title',
        '$[$.key]',
        '$.store.book[@.length()]',
        '$.nested..x',
        '$.nested..x.x',
        '$.store.book[?(@.length() > 3)].length()',
        '$.store.book.*[?(@.title.length() > 6)].title',
        '$.store.book.*[?(@.title.substring(0, 3) = "The")].author',
        '$.store.book.*[?(@.price = 8.95)].title',
        '$.store.book.*[?(@.price = 895e-2)].title',
        '$..book.*[?((@.price > 10))].title',
        '$ .store . bicycle',
        '$.expensive[?(@ = 10)]',
        '$.expensive[?(@ = 10.0)]',
        '$.store.book[?(true)].length()',
        '$.store.book[?(0)].length()',
        '$.store.book[?("x")].length()',
        '$.store.book[?("")].length()',
        '$.store.book.*.keys()[0]',
        '$.store.book[1:3].title',
        '$.store.book[100]',
        '$.store.book[-100:100:3].price',
        '$.store.book[99999999999999999999999]',
    ]),
    "arr": (ARR, [
        '$[2:5]',
        '$[-3:]',
        '$[-30:]',
        '$[:-30]',
        '$[-30:2]',
        '$[8:-30:-1]',
        '$[2:-20:-1]',
        '$[100:5:-2]',
        '$[5:1:-1]',
        '$[::-3]',
        '$[:3:-1]',
        '$[1:8:3]',
        '$[0,0,-1]',
        '$[*][?(@ > 6)]',
        '$.*[?(@ > 6 and @ < 9)]',
        '$.length()',
        '$[9]',
        '$[10]',
        '$[-10]',
        '$[-11]',
    ]),
    "scalar": ("hello", [
        '$',
        '$.length()',
        '$[0]',
        '$.*',
        '$..*',
        '$[?(@ = "hello")]',
    ]),
}

INVALID = [
    "",
    "$.a[?(@.b==1)]",
    "$['a']",
    "$.",
    "$..",
    "$.a.",
    "$a",
    "a",
    "$.true",
    "$.and",
    "$.null",
    "$.nothing()",
    "$[1.5]",
    "$[1e2]",
    "$[01]",
    "$.a[?(@.b = 1]",
    "$.a[?@.b]",
    "$.1",
    "$[foo]",
    "$[-]",
    "$.a b",
    '$["\\x"]',
    "$.a[?(@.b === 1)]",
    "$.a[?(@.b =~ 1)]",
    "$$",
    "$.a@",
    "$[]",
    "$[,]",
    "$.a[?()]",
    "@.a",
    "$.a[?(@.b = 'x')]",
    "$[:1.5]",
]

VALID_EXTRA = [
    "$.android",
    "$.nota",
    "$..*",
    "$[1:2:0]",
    '$.a[?(@.b = {"x": [1, 2.5, null, true, false]})]',
    "$.a[?(@.b = [])]",
    '$.a["\\u00e9"]',
    "$.a[?(@.b = -1.5e3)]",
    "$[ 1 : 2 ]",
]

ERRORS_AT_MATCH = [
    ("$[1:2:0]", ARR),
    ("$[::0]", [1]),
]


def run(path, doc):
    try:
        p = Path.parse_str(path)
    except Exception as e:  # noqa
        return {"parse_error": str(e) or type(e).__name__}
    try:
        return {"matches": [m.current_value for m in p.match(doc)]}
    except Exception as e:  # noqa
        return {"match_error": "%s: %s" % (type(e).__name__, e)}


def main():
    out = {"documents": {}, "cases": []}
    for name, (doc, paths) in PATHS.items():
        out["documents"][name] = doc
        for path in paths:
            case = {"doc": name, "path": path}
            case.update(run(path, doc))
            out["cases"].append(case)
    out["documents"]["empty"] = {}
    for path in INVALID + VALID_EXTRA:
        case = {"doc": "empty", "path": path}
        case.update(run(path, {}))
        out["cases"].append(case)
    for path, doc in ERRORS_AT_MATCH:
        name = "errdoc%d" % len(out["documents"])
        out["documents"][name] = doc
        case = {"doc": name, "path": path}
        case.update(run(path, doc))
        out["cases"].append(case)
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if "--stdout" in sys.argv:
        print(text)
    else:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsonpath_oracle.json"), "w") as f:
            f.write(text + "\n")


main()
