"""Overhead of the chaostracing.oltp control on the 300-action run, Shakedown vs the
reference (chaostoolkit-opentracing in target/reference-venv-tracing), both exporting
OTLP/HTTP to the same real Jaeger (target/peers/bin/jaeger, in-memory). Median wall time of
N runs of each of: the plain run and the run with the control. Asserts nothing."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "engine"))
from bench import experiment, median_of  # noqa: E402

OURS = os.path.join(ROOT, "target", "release", "chaos")
REF = os.path.join(ROOT, "target", "reference-venv-tracing", "bin", "chaos")
JAEGER = os.path.join(ROOT, "target", "peers", "bin", "jaeger")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = os.path.join(ROOT, "crates", "cli", "tests", "support", "jaeger.yaml")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    work = tempfile.mkdtemp(prefix="shakedown-bench-tracing-")
    ports = {k: free_port() for k in ("query", "query_grpc", "grpc", "http", "thrift_compact")}
    config = os.path.join(work, "jaeger.yaml")
    with open(CONFIG) as template, open(config, "w") as f:
        text = template.read()
        for name, port in ports.items():
            text = text.replace("{" + name + "}", str(port))
        f.write(text)
    jaeger = subprocess.Popen([JAEGER, "--config", f"file:{config}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ports['query']}/api/services", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        plain = os.path.join(work, "plain.json")
        traced = os.path.join(work, "traced.json")
        exp = experiment(300)
        with open(plain, "w") as f:
            json.dump(exp, f)
        exp["controls"] = [{"name": "opentelemetry",
                            "provider": {"type": "python", "module": "chaostracing.oltp"}}]
        with open(traced, "w") as f:
            json.dump(exp, f)
        env = dict(os.environ)
        env.update({
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{ports['http']}/v1/traces",
            "OTEL_SERVICE_NAME": "bench",
        })
        settings = ["--settings", os.path.join(work, "none.yaml")]
        ref = [REF] + settings + ["--no-version-check", "run"]
        ours = [OURS] + settings + ["run"]
        r_plain, _ = median_of(ref + [plain], work, n, env)
        r_ctl, r_rss = median_of(ref + [traced], work, n, env)
        o_plain, _ = median_of(ours + [plain], work, n, env)
        o_ctl, o_rss = median_of(ours + [traced], work, n, env)
        # Both exported every span: 300 activities + method + experiment per run.
        with urllib.request.urlopen(
                f"http://127.0.0.1:{ports['query']}/api/traces?service=bench&limit=1000") as r:
            traces = json.load(r)["data"]
        spans = sorted(len(t["spans"]) for t in traces)
        print(f"traces in Jaeger: {len(traces)}, spans per trace: min {spans[0]} max {spans[-1]}"
              if spans else "traces in Jaeger: none")
        print(f"chaostracing.oltp control on 300 actions: reference {r_ctl*1000:.1f} ms"
              f" (+{(r_ctl-r_plain)*1000:.1f} ms, {r_rss:.1f} MiB), shakedown {o_ctl*1000:.1f} ms"
              f" (+{(o_ctl-o_plain)*1000:.1f} ms, {o_rss:.1f} MiB); speed-up {r_ctl/o_ctl:.1f}x,"
              f" control overhead ratio {(o_ctl-o_plain)/max(r_ctl-r_plain, 1e-9):.2f}x")
    finally:
        jaeger.terminate()
        jaeger.wait()


if __name__ == "__main__":
    main()
