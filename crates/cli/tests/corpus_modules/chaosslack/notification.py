# -*- coding: utf-8 -*-
"""Stand-in for chaostoolkit-slack's notification plugin: posts each Chaos Toolkit event
to a channel, with the channel's `token`. Slack is not contacted: the message it would
have posted is recorded."""
from typing import Any, Dict

from corpus_record import record

__all__ = ["notify"]


def notify(settings: Dict[str, Any], event: Dict[str, Any]):
    """
    Send a chat message to a channel to relate this Chaos Toolkit event.
    """
    token = settings.get("token")
    channel = settings.get("channel")
    if not token or not channel:
        return
    payload = event.get("payload")
    title = payload.get("title") if isinstance(payload, dict) else None
    record(
        "chaosslack.notification",
        "notify",
        channel="#" + channel.lstrip("#").strip(),
        event=event.get("name"),
        phase=event.get("phase"),
        title=title,
        has_error="error" in event,
    )
