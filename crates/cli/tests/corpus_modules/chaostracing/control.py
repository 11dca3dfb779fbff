# -*- coding: utf-8 -*-
"""Stand-in for chaostoolkit-opentracing's control: a span per experiment, hypothesis,
method, rollback and activity, sent to a tracer (Jaeger in the demo) configured from the
control's arguments (`provider`, `host`, `port`, `propagation`, as in the demo's global
settings) or the experiment's `tracing_*` configuration. No tracer is contacted: the spans
are recorded, with the tracer they would have gone to."""
from corpus_record import name_of, record

__all__ = [
    "configure_control",
    "cleanup_control",
    "before_experiment_control",
    "after_experiment_control",
    "before_hypothesis_control",
    "after_hypothesis_control",
    "before_method_control",
    "after_method_control",
    "before_rollback_control",
    "after_rollback_control",
    "before_activity_control",
    "after_activity_control",
]

_tracer = None
_open = []


def configure_control(configuration=None, secrets=None, **kwargs):
    global _tracer
    configuration = configuration or {}

    def setting(name):
        value = kwargs.get(name)
        return value if value is not None else configuration.get("tracing_" + name)

    _tracer = {name: setting(name) for name in ("provider", "host", "port", "propagation")}
    record("chaostracing.control", "configure_control", tracer=_tracer, kwargs=sorted(kwargs))


def cleanup_control():
    record("chaostracing.control", "cleanup_control", unfinished=list(_open))


def _start(level, context):
    name = name_of(context)
    _open.append(name)
    record("chaostracing.control", "start_span", level=level, name=name, tracer=(_tracer or {}).get("provider"))


def _finish(level, context, state):
    name = name_of(context)
    if name in _open:
        _open.remove(name)
    tags = {}
    if level == "experiment" and isinstance(state, dict):
        tags["status"] = state.get("status")
    elif level == "hypothesis" and isinstance(state, dict):
        tags["steady_state_met"] = state.get("steady_state_met")
    elif level == "activity" and isinstance(state, dict):
        tags["status"] = state.get("status")
    elif isinstance(state, list):
        tags["runs"] = len(state)
    record("chaostracing.control", "finish_span", level=level, name=name, tags=tags)


def before_experiment_control(context, **kwargs):
    _start("experiment", context)


def after_experiment_control(context, state, **kwargs):
    _finish("experiment", context, state)


def before_hypothesis_control(context, **kwargs):
    _start("hypothesis", context)


def after_hypothesis_control(context, state, **kwargs):
    _finish("hypothesis", context, state)


def before_method_control(context, **kwargs):
    _start("method", context)


def after_method_control(context, state, **kwargs):
    _finish("method", context, state)


def before_rollback_control(context, **kwargs):
    _start("rollback", context)


def after_rollback_control(context, state, **kwargs):
    _finish("rollback", context, state)


def before_activity_control(context, **kwargs):
    _start("activity", context)


def after_activity_control(context, state, **kwargs):
    _finish("activity", context, state)
