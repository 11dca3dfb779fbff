"""Drives `chaos proxy serve` with the real toxiproxy-python client (PyPI
`toxiproxy-python` 0.1.1, module `toxiproxy`). Run by crates/cli/tests/e2e_toxiproxy.rs
with the venv made by scripts/toxiproxy-python-peer.

Usage: python_client.py API_PORT UPSTREAM_HOST:PORT
Exits non-zero with a message naming the failed check; prints `OK <n> checks`.
"""

import json
import socket
import sys

from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

checks = 0


def check(cond, what):
    global checks
    if not cond:
        sys.exit("FAILED: " + what)
    checks += 1


def raises(exc, fn, what):
    try:
        fn()
    except exc:
        check(True, what)
        return
    except Exception as e:  # noqa: BLE001
        sys.exit("FAILED: %s: raised %r instead of %s" % (what, e, exc.__name__))
    sys.exit("FAILED: %s: no %s raised" % (what, exc.__name__))


def http_get(listen):
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk


def refused(listen):
    host, port = listen.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        return False
    except OSError:
        return True


api_port, upstream = int(sys.argv[1]), sys.argv[2]
t = Toxiproxy()
t.update_api_consumer("127.0.0.1", api_port)
check(t.running(), "server running")
check(json.loads(t.version())["version"] == "2.12.0", "version")

p = t.create(upstream=upstream, name="pyclient", listen="127.0.0.1:0")
check(p.name == "pyclient" and p.upstream == upstream and p.enabled is True, "create fields")
check(not p.listen.endswith(":0"), "listen shows the bound port: " + p.listen)
check(b"hello world" in http_get(p.listen), "traffic through the proxy")
raises(ProxyExists, lambda: t.create(upstream=upstream, name="pyclient"), "duplicate proxy")

p.add_toxic(type="latency", attributes={"latency": 100, "jitter": 5})
p.add_toxic(name="cut", type="limit_data", stream="upstream", toxicity=0.5, attributes={"bytes": 5})
toxics = p.toxics()
check(sorted(toxics) == ["cut", "latency_downstream"], "toxic names: %r" % sorted(toxics))
lat = toxics["latency_downstream"]
check(lat.type == "latency" and lat.stream == "downstream", "latency toxic type/stream")
check(lat.attributes == {"latency": 100, "jitter": 5}, "latency attributes %r" % lat.attributes)
check(lat.toxicity == 1, "latency toxicity")
cut = p.get_toxic("cut")
check(cut is not None and cut.stream == "upstream" and cut.toxicity == 0.5, "limit_data toxic")
check(cut.attributes == {"bytes": 5}, "limit_data attributes %r" % cut.attributes)
raises(InvalidToxic, lambda: p.add_toxic(type="nonsense"), "invalid toxic type")
raises(ProxyExists, lambda: p.add_toxic(name="cut", type="latency"), "duplicate toxic")

check(p.destroy_toxic("latency_downstream") is True, "destroy toxic")
raises(NotFound, lambda: p.destroy_toxic("latency_downstream"), "destroy missing toxic")
check(p.get_toxic("latency_downstream") is None, "toxic gone")

with p.down():
    check(t.get_proxy("pyclient").enabled is False, "disabled inside down()")
    check(refused(p.listen), "disabled proxy refuses connections")
check(t.get_proxy("pyclient").enabled is True, "enabled after down()")

listed = t.proxies()
check(sorted(listed) == ["pyclient"], "list: %r" % sorted(listed))
check(listed["pyclient"].listen == p.listen, "listed listen")

made = t.populate([{"name": "pop", "upstream": upstream, "listen": "127.0.0.1:0"}])
check([m.name for m in made] == ["pop"], "populate")
check(sorted(t.proxies()) == ["pop", "pyclient"], "two proxies")

check(t.reset() is True, "reset")
check(p.toxics() == {}, "reset removed every toxic")
# Only now: the 5-byte upstream `cut` toxic (toxicity 0.5) could truncate the request.
check(b"hello world" in http_get(p.listen), "traffic after re-enable and reset")

check(t.destroy(p) is True, "destroy proxy")
check(t.get_proxy("pyclient") is None, "proxy gone")
raises(NotFound, lambda: p.destroy(), "destroy missing proxy")
t.destroy_all()
check(t.proxies() == {}, "destroy_all")
print("OK %d checks" % checks)
