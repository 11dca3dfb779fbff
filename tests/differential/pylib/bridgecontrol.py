"""A home-grown control: logs every hook it gets (so the console log shows the order and
the arguments), and changes the experiment where chaoslib lets a control change it."""
import logging

from chaoslib.exceptions import InterruptExecution

logger = logging.getLogger("chaostoolkit")


def _name(context):
    if isinstance(context, dict):
        return context.get("name") or context.get("title") or "?"
    return str(context)


def configure_control(experiment=None, configuration=None, secrets=None, settings=None, **arguments):
    logger.info(
        "control configure: arguments=%s experiment=%s configuration=%s secrets=%s settings=%s",
        sorted(arguments), experiment is not None, sorted(configuration or {}),
        sorted(secrets or {}), settings is not None,
    )


def cleanup_control():
    logger.info("control cleanup")


def before_experiment_control(context, configuration=None, secrets=None, **arguments):
    logger.info("control before experiment %s %s", _name(context), sorted(arguments))
    if arguments.get("add_action"):
        context["method"].append({
            "type": "action", "name": "added-by-control",
            "provider": {"type": "python", "module": "bridgemod", "func": "add", "arguments": {"a": 100}},
        })


def after_experiment_control(context, state, **arguments):
    logger.info("control after experiment %s status=%s", _name(context), state.get("status"))


def before_hypothesis_control(context, **arguments):
    logger.info("control before hypothesis %s", _name(context))


def after_hypothesis_control(context, state, **arguments):
    logger.info("control after hypothesis %s met=%s", _name(context), state.get("steady_state_met"))


def before_method_control(context, **arguments):
    logger.info("control before method")


def after_method_control(context, state, **arguments):
    logger.info("control after method runs=%d", len(state))


def before_rollback_control(context, **arguments):
    logger.info("control before rollback")


def after_rollback_control(context, state, **arguments):
    logger.info("control after rollback runs=%d", len(state))


def before_activity_control(context, experiment=None, extensions=None, **arguments):
    logger.info("control before activity %s experiment=%s", _name(context), _name(experiment))
    if context.get("name") == arguments.get("interrupt_before"):
        raise InterruptExecution("the control stopped the run before " + context["name"])
    if context.get("name") == arguments.get("edit"):
        context["provider"]["arguments"]["a"] = 40


def after_activity_control(context, state, **arguments):
    logger.info("control after activity %s status=%s output=%s", _name(context), state.get("status"), state.get("output"))
    if context.get("name") == arguments.get("fail_after"):
        raise RuntimeError("this failure is only logged at debug level")
