"""Shakedown's stand-in for chaoslib, served by the Python bridge only when the interpreter
has no chaoslib of its own. It carries the names extensions import (exceptions, types,
discovery helpers, exit helpers); the engine itself is Shakedown."""
import datetime as _datetime
import decimal as _decimal
import json as _json
import uuid as _uuid

__version__ = "1.44.0"
__all__ = ["__version__", "decode_bytes", "PayloadEncoder"]


def decode_bytes(data: bytes, default_encoding: str = "utf-8") -> str:
    """Decode bytes as text, falling back to latin-1 when they are not valid UTF-8."""
    if data is None:
        return data
    try:
        return data.decode(default_encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


class PayloadEncoder(_json.JSONEncoder):
    """A JSON encoder for dates, UUIDs, decimals and exceptions, as in journals."""

    def default(self, obj):
        if isinstance(obj, (_datetime.datetime, _datetime.date)):
            return obj.isoformat()
        if isinstance(obj, (_uuid.UUID, _decimal.Decimal)):
            return str(obj)
        if isinstance(obj, Exception):
            return "An exception was raised: {}('{}')".format(type(obj).__name__, obj)
        return super().default(obj)
