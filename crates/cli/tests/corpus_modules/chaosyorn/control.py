# -*- coding: utf-8 -*-
"""Stand-in for the article's `chaosyorn.control`: asks whether to run the activity and
interrupts the experiment on "no". The original asks with `click.confirm` (default: no);
this one reads the answer from CHAOSYORN_ANSWER (`y`/`yes` continue, anything else or
nothing is "no"), since tests have no terminal."""
import logging
import os

from chaoslib.exceptions import InterruptExecution

from corpus_record import name_of, record

__all__ = ["before_activity_control"]
logger = logging.getLogger("chaostoolkit")


def before_activity_control(context, **kwargs):
    """
    Prompt for Yes or No to executing an activity.
    """
    name = name_of(context)
    logger.info("About to execute activity: " + name)
    answer = os.environ.get("CHAOSYORN_ANSWER", "").strip().lower()
    record("chaosyorn.control", "before_activity_control", activity=name, answer=answer)
    if answer in ("y", "yes"):
        logger.info("Continuing: " + name)
    else:
        raise InterruptExecution("Experiment manually interrupted")
