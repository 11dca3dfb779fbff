"""A home-grown notification plugin: logs every event it gets."""
import logging

logger = logging.getLogger("chaostoolkit")


def notify(channel, payload):
    logger.info("notified %s (%s) channel keys %s", payload["name"], payload["phase"], sorted(channel))


def shout(channel, payload):
    raise RuntimeError("a failing plugin is only logged")
