"""`chaos report` against chaostoolkit-reporting: 1 and 100 journals to HTML and to PDF.

The journals are the fixture crates/report/tests/journals/ref.json (written by the
reference), copied with shifted start times. Each case runs `repetitions` times per tool,
alternating; the median wall time and the median peak RSS (GNU time's %M) are printed,
with ours / theirs.

PDF: the reference's PDF is pandoc + LaTeX (pdflatex, from Debian's texlive packages,
`scripts/reporting-reference --latex`); without pdflatex on PATH the PDF rows compare
our PDF with the reference's HTML, and say so.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def journals(root, n):
    with open("crates/report/tests/journals/ref.json") as f:
        base = json.load(f)
    paths = []
    for i in range(n):
        j = dict(base)
        j["start"] = base["start"].replace(":19:15", ":%02d:%02d" % (i // 60 % 60, i % 60))
        p = os.path.join(root, "journal-%03d.json" % i)
        with open(p, "w") as f:
            json.dump(j, f)
        paths.append(p)
    return paths


def measure(cmd, cwd):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return elapsed, int(p.stderr.strip().splitlines()[-1])


def main():
    ours, theirs, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ours = os.path.abspath(ours)
    theirs = os.path.abspath(theirs)
    print("%-22s %12s %12s %9s %12s %12s" % ("case", "ours", "reference", "ratio", "ours RSS", "ref RSS"))
    latex = shutil.which("pdflatex") is not None
    for fmt in ("html", "pdf"):
        their_fmt = fmt if fmt == "html" or latex else "html"
        for n in (1, 100):
            with tempfile.TemporaryDirectory() as root:
                paths = journals(root, n)
                runs = {"ours": ([], []), "theirs": ([], [])}
                for _ in range(reps):
                    for name, exe, f in (("ours", ours, fmt), ("theirs", theirs, their_fmt)):
                        args = ["--no-log-file", "report", "--export-format", f]
                        t, rss = measure([exe] + args + paths + [os.path.join(root, name + "." + f)], root)
                        runs[name][0].append(t)
                        runs[name][1].append(rss)
                o, r = statistics.median(runs["ours"][0]), statistics.median(runs["theirs"][0])
                case = "%d journal%s to %s" % (n, "" if n == 1 else "s", fmt.upper())
                if their_fmt != fmt:
                    case += " (reference: HTML, no LaTeX)"
                print("%-22s %10.3f s %10.3f s %8.3fx %9d KB %9d KB" % (
                    case, o, r, o / r,
                    statistics.median(runs["ours"][1]), statistics.median(runs["theirs"][1])))


if __name__ == "__main__":
    main()
