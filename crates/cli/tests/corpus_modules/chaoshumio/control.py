# -*- coding: utf-8 -*-
"""Stand-in for chaostoolkit-humio's control (see the package): logs the experiment, the
hypotheses' results, each activity's run and the method's and rollbacks' results to
Humio, when the `humio` secrets carry a token."""
from chaoslib.types import Activity, Configuration, Experiment, Hypothesis, Journal, Run, Secrets

from chaoshumio import push_to_humio
from corpus_record import record

__all__ = [
    "configure_control",
    "before_experiment_control",
    "after_experiment_control",
    "after_hypothesis_control",
    "after_method_control",
    "after_rollback_control",
    "after_activity_control",
]

_enabled = False


def configure_control(secrets: Secrets) -> None:
    """
    Enable logging to Humio if the `token` and `dataspace` are set in the `secrets`.
    """
    global _enabled
    humio = (secrets or {}).get("humio", {})
    _enabled = bool((humio.get("token") or "").strip() and (humio.get("dataspace") or "").strip())
    record("chaoshumio.control", "configure_control", scopes=sorted(secrets or {}), enabled=_enabled)


def before_experiment_control(context: Experiment, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio({"name": "before-experiment", "context": context}, secrets.get("humio", {}))


def after_experiment_control(context: Experiment, state: Journal, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio({"name": "after-experiment", "context": context, "state": state}, secrets.get("humio", {}))


def after_hypothesis_control(context: Hypothesis, state: dict, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio(
            {"name": "after-hypothesis", "context": context, "state": state, "type": "hypothesis"},
            secrets.get("humio", {}),
        )


def after_method_control(context: Experiment, state: list, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio({"name": "after-method", "context": context, "state": state, "type": "method"}, secrets.get("humio", {}))


def after_rollback_control(context: Experiment, state: list, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio(
            {"name": "after-rollback", "context": context, "state": state, "type": "rollback"}, secrets.get("humio", {})
        )


def after_activity_control(context: Activity, state: Run, secrets: Secrets, configuration: Configuration) -> None:
    if _enabled:
        push_to_humio(
            {"name": "after-activity", "context": context, "state": state, "type": "activity"}, secrets.get("humio", {})
        )
