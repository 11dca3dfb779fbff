# -*- coding: utf-8 -*-
"""Stand-in for the superpower demo's probes: ask the frontend for a character's
superpower, and check users kept the superpower they were first given.

The frontend's answer is kept in this module between calls, as the demo's module kept it:
the reference runs every probe in one Python process, and so must the bridge (one worker
per run), or `has_kept_superpower` has nothing to compare with."""
import json
import urllib.error
import urllib.request

from corpus_record import record

__all__ = ["ask_for_superpower", "has_kept_superpower"]

_answers = []


def ask_for_superpower(service_url: str, timeout: int = 3) -> int:
    """
    Ask the superpower frontend for a character and return the HTTP status code.
    """
    try:
        with urllib.request.urlopen(service_url, timeout=timeout) as r:
            status, body = r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        status, body = e.code, ""
    try:
        power = json.loads(body)
    except ValueError:
        power = body
    _answers.append(power)
    record(
        "chaospower.probes",
        "ask_for_superpower",
        service_url=service_url,
        timeout=timeout,
        status=status,
        answers=len(_answers),
    )
    return status


def has_kept_superpower() -> bool:
    """
    Users kept their superpower: the frontend still gives the first answer it gave.
    """
    kept = bool(_answers) and all(a == _answers[0] for a in _answers)
    record("chaospower.probes", "has_kept_superpower", kept=kept, answers=len(_answers))
    return kept
