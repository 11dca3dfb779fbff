"""A control whose before_activity_control hook blocks: it requests a marker from the test
server (so the harness can send a signal while the hook runs), then sleeps. Reproduces a
signal arriving while a Python control hook runs."""
import logging
import time
import urllib.request

logger = logging.getLogger("chaostoolkit")


def before_activity_control(context, marker_url=None, seconds=10, **kwargs):
    logger.info("blocking hook before %s", context.get("name"))
    if marker_url:
        with urllib.request.urlopen(marker_url, timeout=5) as r:
            r.read()
    time.sleep(seconds)
    logger.info("blocking hook done before %s", context.get("name"))
