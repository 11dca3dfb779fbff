"""What the corpus stand-ins observed: one JSON line per call, appended to the file named
by SHAKEDOWN_CORPUS_RECORD (nothing is recorded when it is unset). Lines are short and
written with a single os.write on an O_APPEND descriptor, so calls from several threads
or processes do not interleave."""
import json
import os


def record(module, call, **data):
    path = os.environ.get("SHAKEDOWN_CORPUS_RECORD")
    if not path:
        return
    entry = {"module": module, "call": call}
    entry.update(data)
    line = json.dumps(entry, sort_keys=True, default=repr) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def name_of(context):
    """The name (activity) or title (experiment, hypothesis) of a control's context."""
    if isinstance(context, dict):
        return context.get("name") or context.get("title")
    return None
