# -*- coding: utf-8 -*-
"""Stand-in: the demo fork's deployment actions, on deployments kept in this module."""
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from corpus_record import record

__all__ = ["set_deployment_image", "rollback_deployment"]

# (namespace, deployment) -> the images it was given, oldest first
_images = {}


def set_deployment_image(
    deployment_name: str,
    container_name: str,
    image: str,
    ns: str = "default",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict:
    """
    Set the image of a container of a deployment, which rolls it out.
    """
    history = _images.setdefault((ns, deployment_name), [])
    previous = history[-1] if history else None
    history.append(image)
    record(
        "chaosk8s.deployment.actions",
        "set_deployment_image",
        deployment_name=deployment_name,
        container_name=container_name,
        image=image,
        ns=ns,
        configuration=sorted(configuration or {}),
    )
    return {"deployment": deployment_name, "container": container_name, "image": image, "previous": previous}


def rollback_deployment(
    deployment_name: str,
    ns: str = "default",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict:
    """
    Roll a deployment back to its previous revision.
    """
    history = _images.get((ns, deployment_name), [])
    record("chaosk8s.deployment.actions", "rollback_deployment", deployment_name=deployment_name, ns=ns, history=list(history))
    if not history:
        raise ActivityFailed("deployment '{}' has no revision to roll back".format(deployment_name))
    rolled_back = history.pop()
    return {"deployment": deployment_name, "rolled_back": rolled_back, "image": history[-1] if history else None}
