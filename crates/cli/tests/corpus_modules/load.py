# -*- coding: utf-8 -*-
"""Stand-in for the KubeCon rollout demo's `load` module: `single` pretends to be users of
the counter service while the rollout happens. The demo kept one user busy for `duration`
seconds; this one sends three requests and returns at once, so the test takes no time,
and reports what it did."""
import urllib.error
import urllib.request

from corpus_record import record

__all__ = ["single"]

REQUESTS = 3


def single(url: str, duration: int = 10) -> dict:
    """
    One simulated user calling `url` (for `duration` seconds in the demo).
    """
    statuses = []
    for _ in range(REQUESTS):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    record("load", "single", url=url, duration=duration, statuses=statuses)
    return {"url": url, "requests": len(statuses), "statuses": statuses}
