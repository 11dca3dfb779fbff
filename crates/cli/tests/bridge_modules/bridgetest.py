"""Functions the bridge tests call: a worker that dies, an answer too large to send, a
slow function beside a background one, a tolerance function."""
import os
import time


def ok(value=1):
    return {"value": value, "pid": os.getpid()}


def die():
    os._exit(3)


def huge():
    return "x" * (65 * 1024 * 1024)


def slow(seconds: float, marker: str = ""):
    time.sleep(seconds)
    if marker:
        with open(marker, "a") as f:
            f.write("done\n")
    return seconds


def above(value=None, threshold: int = 0):
    return value["value"] > threshold


def bad_signature(a, b):
    return a + b
