"""Engine benchmarks, Shakedown vs the reference, measured in the same run.

For each workload: the median wall time over N repetitions and the peak RSS of the command
(its own process tree's largest resident set, from wait4). Targets: ../shared/design/goals.md.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OURS = os.path.join(ROOT, "target", "release", "chaos")
REF = os.path.join(ROOT, "target", "reference-venv", "bin", "chaos")
FLOOR = os.path.join(ROOT, "target", "release", "examples", "spawn_floor")
PUSHGATEWAY = os.path.join(ROOT, "target", "peers", "bin", "prometheus-pushgateway")


def measure(argv, cwd, env=None):
    """Wall seconds and peak RSS (MiB) of one run of argv.

    The RSS comes from GNU time, a small C parent: a child forked from this Python process
    would report Python's own pre-exec pages as its peak.
    """
    report = os.path.join(cwd, "time.out")
    start = time.perf_counter()
    code = subprocess.call(
        ["/usr/bin/time", "-o", report, "-f", "%M"] + argv,
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"benchmark command failed ({code}): {' '.join(argv)}")
    with open(report) as f:
        rss_kib = int(f.read().split()[-1])
    return wall, rss_kib / 1024.0


def median_of(argv, cwd, n, env=None):
    runs = [measure(argv, cwd, env) for _ in range(n)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def experiment(n_actions):
    return {
        "title": f"{n_actions} process actions",
        "description": "benchmark",
        "method": [
            {"type": "action", "name": f"a{i}", "provider": {"type": "process", "path": "true"}}
            for i in range(n_actions)
        ],
    }


BRIDGED_MODULE = """
def noop(value=0):
    return {"value": value}
"""


def python_experiment(n_probes):
    return {
        "title": f"{n_probes} Python probes",
        "description": "benchmark",
        "method": [
            {"type": "probe", "name": f"p{i}", "provider": {
                "type": "python", "module": "bridgebench", "func": "noop", "arguments": {"value": i}}}
            for i in range(n_probes)
        ],
    }


def bridged(work, ref, ours, n):
    """Per-call cost of a Python probe Shakedown does not ship natively: ours goes through the
    bridge's worker, the reference calls the function in-process. Both use the reference
    venv's interpreter (real chaoslib), and the cost of one call is the difference between a
    run of 301 probes and a run of 1, over 300."""
    with open(os.path.join(work, "bridgebench.py"), "w") as f:
        f.write(BRIDGED_MODULE)
    one = os.path.join(work, "py1.json")
    many = os.path.join(work, "py301.json")
    with open(one, "w") as f:
        json.dump(python_experiment(1), f)
    with open(many, "w") as f:
        json.dump(python_experiment(301), f)
    env = dict(os.environ, PYTHONPATH=work, CHAOS_PYTHON=os.path.join(os.path.dirname(REF), "python"))
    r1, _ = median_of(ref + ["--no-version-check", "run", one], work, n, env)
    r301, _ = median_of(ref + ["--no-version-check", "run", many], work, n, env)
    o1, _ = median_of(ours + ["run", one], work, n, env)
    o301, _ = median_of(ours + ["run", many], work, n, env)
    ref_call = (r301 - r1) / 300
    our_call = (o301 - o1) / 300
    print(f"bridged Python probe: per call reference {ref_call*1e6:.0f} µs, shakedown {our_call*1e6:.0f} µs,"
          f" ratio {our_call/ref_call:.2f}x (goal: <= 1.0x); run of 1 probe: reference {r1*1000:.0f} ms,"
          f" shakedown {o1*1000:.0f} ms (interpreter start included)")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_control(work, ref, ours, n, big):
    """Overhead of the chaosprometheus.metrics control (issue #10) on the 300-action run:
    both tools push to the same real Pushgateway (Debian's, scripts/prometheus-peer) before
    and after the experiment. The reference runs chaostoolkit-prometheus 0.6.0."""
    port = free_port()
    gateway = subprocess.Popen(
        [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                import urllib.request
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        with open(big) as f:
            controlled = json.load(f)
        controlled["controls"] = [{"name": "metrics", "provider": {
            "type": "python", "module": "chaosprometheus.metrics",
            "arguments": {"pushgateway_url": f"http://127.0.0.1:{port}", "job": "bench"}}}]
        path = os.path.join(work, "big-metrics.json")
        with open(path, "w") as f:
            json.dump(controlled, f)
        r_plain, _ = median_of(ref + ["--no-version-check", "run", big], work, n)
        r_ctl, _ = median_of(ref + ["--no-version-check", "run", path], work, n)
        o_plain, _ = median_of(ours + ["run", big], work, n)
        o_ctl, _ = median_of(ours + ["run", path], work, n)
        print(f"chaosprometheus.metrics control on 300 actions: reference {r_ctl*1000:.1f} ms"
              f" (+{(r_ctl-r_plain)*1000:.1f} ms), shakedown {o_ctl*1000:.1f} ms"
              f" (+{(o_ctl-o_plain)*1000:.1f} ms); speed-up {r_ctl/o_ctl:.1f}x,"
              f" control overhead ratio {(o_ctl-o_plain)/max(r_ctl-r_plain, 1e-9):.2f}x")
    finally:
        gateway.terminate()
        gateway.wait()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    work = tempfile.mkdtemp(prefix="shakedown-bench-")
    small = os.path.join(work, "small.json")
    big = os.path.join(work, "big.json")
    empty = os.path.join(work, "empty.json")
    with open(small, "w") as f:
        json.dump(experiment(3), f)
    with open(big, "w") as f:
        json.dump(experiment(300), f)
    with open(empty, "w") as f:
        json.dump(experiment(0), f)
    settings = ["--settings", os.path.join(work, "none.yaml")]
    ref = [REF] + settings
    ours = [OURS] + settings
    rows = []

    def row(name, ref_argv, our_argv, reps=n):
        r_wall, r_rss = median_of(ref_argv, work, reps)
        o_wall, o_rss = median_of(our_argv, work, reps)
        rows.append((name, r_wall, r_rss, o_wall, o_rss))

    row("validate (reference with version check)", ref + ["validate", small], ours + ["validate", small], max(3, n // 2))
    row("validate --no-version-check", ref + ["--no-version-check", "validate", small], ours + ["--no-version-check", "validate", small])
    row("run 300 process actions", ref + ["--no-version-check", "run", big], ours + ["run", big])

    print(f"{'workload':45} {'reference':>20} {'shakedown':>20} {'speed-up':>9} {'memory':>8}")
    for name, r_wall, r_rss, o_wall, o_rss in rows:
        print(
            f"{name:45} {r_wall*1000:9.1f} ms {r_rss:6.1f} MiB {o_wall*1000:9.1f} ms {o_rss:6.1f} MiB"
            f" {r_wall/o_wall:8.1f}x {o_rss/r_rss:7.2f}x"
        )

    # Per-activity overhead against the physical floor (fork/exec/wait of `true`).
    o_big, _ = median_of(ours + ["run", big], work, n)
    o_empty, _ = median_of(ours + ["run", empty], work, n)
    floors = []
    for _ in range(n):
        out = subprocess.run([FLOOR, "300", "true"], capture_output=True, text=True, check=True)
        floors.append(float(out.stdout))
    floor = statistics.median(floors) / 300
    per_activity = (o_big - o_empty) / 300
    print()
    print(f"per-activity cost: shakedown {per_activity*1e6:.0f} µs, bare fork/exec {floor*1e6:.0f} µs,"
          f" overhead {100*(per_activity/floor - 1):+.0f}% (goal: within +20%)")
    bridged(work, ref, ours, n)
    metrics_control(work, ref, ours, n, big)
    print("goals: validate >= 50x faster and <= 0.2x memory (no version check); run 300 >= 2.5x faster")


if __name__ == "__main__":
    main()
