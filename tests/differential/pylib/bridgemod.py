"""A home-grown extension, as a Chaos Toolkit shop writes them: the differential cases
run it through the reference and through Shakedown's Python bridge."""
import logging
import urllib.request

from chaoslib.exceptions import ActivityFailed

logger = logging.getLogger("chaostoolkit")


def add(a: int, b: int = 2) -> int:
    return a + b


def with_config(key: str, configuration=None, secrets=None):
    return {
        "value": (configuration or {}).get(key),
        "secret_keys": sorted((secrets or {}).keys()),
        "secrets_given": secrets is not None,
    }


def echo_kwargs(**kwargs):
    return kwargs


def fail_value():
    raise ValueError("oops")


def fail_activity():
    raise ActivityFailed("the service is down")


def say(message: str) -> str:
    logger.info("bridgemod says %s", message)
    logger.debug("bridgemod debug line")
    print("bridgemod prints to stdout")
    return message


def fetch(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


def interrupt():
    raise KeyboardInterrupt()


def exit_code(code: int):
    raise SystemExit(code)


def nothing():
    return None


def structure():
    return {"list": [1, 2.5, "x", None, True], "nested": {"a": {"b": []}}, "unicode": "h\u00e9"}
