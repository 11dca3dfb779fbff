"""A control that asks on stdin before each activity, as interactive controls do
(`input()`, `click.confirm`, `click.pause`): the answer must come from chaos's own stdin.
The differential harness gives chaos /dev/null, so the question gets end-of-file."""
import logging

logger = logging.getLogger("chaostoolkit")


def before_activity_control(context, **kwargs):
    try:
        answer = input("Continue? [y/N]: ")
    except EOFError:
        answer = None
    logger.info("stdin hook read %r before %s", answer, context.get("name"))
