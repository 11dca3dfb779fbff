# -*- coding: utf-8 -*-
"""Stand-in: the demo fork's `collect_deployment_status`, which read a deployment's
conditions every `every` seconds for `duration` seconds. This one returns at once: the
conditions of a rollout of the image `set_deployment_image` gave it, one sample per
second of the first three."""
from typing import List

from chaoslib.types import Configuration, Secrets

from chaosk8s.deployment import actions
from corpus_record import record

__all__ = ["collect_deployment_status"]


def collect_deployment_status(
    deployment_name: str,
    ns: str = "default",
    duration: int = 60,
    every: int = 1,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> List[list]:
    """
    Read deployment's status for a while.
    """
    history = actions._images.get((ns, deployment_name), [])
    samples = max(1, min(3, int(duration // max(every, 1))))
    conditions = []
    for i in range(samples):
        progressing = "ReplicaSetUpdated" if i < samples - 1 else "NewReplicaSetAvailable"
        conditions.append([["Available", "True", "MinimumReplicasAvailable"], ["Progressing", "True", progressing]])
    record(
        "chaosk8s.deployment.probes",
        "collect_deployment_status",
        deployment_name=deployment_name,
        ns=ns,
        duration=duration,
        image=history[-1] if history else None,
    )
    return conditions
