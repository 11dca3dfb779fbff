# -*- coding: utf-8 -*-
"""Stand-in for the article's `chaossimpleinteract.control`: before each activity it is
applied to, the original calls `click.pause()` ("Press any key to continue ..."), which
only waits on a terminal. Tests have none: this one logs the prompt and records it."""
import logging

from corpus_record import name_of, record

__all__ = ["before_activity_control"]
logger = logging.getLogger("chaostoolkit")


def before_activity_control(context, **kwargs):
    """
    Prompt for Enter key before an activity is executed.
    """
    logger.info("Press any key to continue ... (before '{}')".format(name_of(context)))
    record(
        "chaossimpleinteract.control",
        "before_activity_control",
        activity=name_of(context),
        type=context.get("type"),
        kwargs=sorted(kwargs),
    )
