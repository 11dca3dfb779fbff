"""What an extension's `discover()` builds: the activities its modules export (`__all__`),
with their arguments and portable type names, as `chaos discover` writes them."""
import importlib
import inspect
import logging
import platform
import typing
import uuid
from datetime import datetime, timezone

from chaoslib import __version__
from chaoslib.exceptions import DiscoveryFailed

__all__ = [
    "discover_actions",
    "discover_activities",
    "discover_probes",
    "initialize_discovery_result",
    "portable_type_name",
]
logger = logging.getLogger("chaostoolkit")


def initialize_discovery_result(extension_name, extension_version, discovery_type):
    uname = platform.uname()
    return {
        "chaoslib_version": __version__,
        "id": str(uuid.uuid4()),
        "target": discovery_type,
        "date": datetime.now(timezone.utc).isoformat(),
        "platform": {
            "system": uname.system,
            "node": uname.node,
            "release": uname.release,
            "version": uname.version,
            "machine": uname.machine,
            "proc": uname.processor,
            "python": platform.python_version(),
        },
        "extension": {"name": extension_name, "version": extension_version},
        "activities": [],
        "system": None,
    }


def discover_actions(extension_mod_name):
    return discover_activities(extension_mod_name, "action")


def discover_probes(extension_mod_name):
    return discover_activities(extension_mod_name, "probe")


def discover_activities(extension_mod_name, activity_type):
    try:
        mod = importlib.import_module(extension_mod_name)
    except ImportError:
        raise DiscoveryFailed("could not import extension module '{}'".format(extension_mod_name))
    exported = getattr(mod, "__all__", None)
    if exported is None:
        logger.warning(
            "'{}' does not expose the __all__ attribute. It is required to determine what "
            "functions are actually exported as activities.".format(extension_mod_name)
        )
        return []
    activities = []
    for name, func in inspect.getmembers(mod, inspect.isfunction):
        if exported and name not in exported:
            continue
        sig = inspect.signature(func)
        activity = {
            "type": activity_type,
            "name": name,
            "mod": mod.__name__,
            "doc": inspect.getdoc(func),
            "arguments": [],
        }
        if sig.return_annotation is not inspect.Signature.empty:
            activity["return_type"] = portable_type_name(sig.return_annotation)
        for param in sig.parameters.values():
            if param.kind in (param.KEYWORD_ONLY, param.VAR_KEYWORD):
                continue
            arg = {"name": param.name}
            if param.default is not inspect.Parameter.empty:
                arg["default"] = param.default
            if param.annotation is not inspect.Parameter.empty:
                arg["type"] = portable_type_name(param.annotation)
            activity["arguments"].append(arg)
        activities.append(activity)
    return activities


_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", bytes: "byte",
          set: "set", tuple: "tuple", list: "list", dict: "mapping"}


def portable_type_name(python_type):
    """chaostoolkit-lib 1.45's names: builtins by name, and generics (`Dict[...]`,
    `dict[...]`, `List`, `Tuple[...]`…) by their origin; anything else is `object`."""
    if python_type is None:
        return "null"
    try:
        if python_type in _NAMES:
            return _NAMES[python_type]
    except TypeError:
        pass
    origin = getattr(typing, "get_origin", lambda t: getattr(t, "__origin__", None))(python_type)
    try:
        if origin in _NAMES and origin not in (bool, int, float, str, bytes):
            return _NAMES[origin]
    except TypeError:
        pass
    logger.debug("'{}' could not be ported to something meaningful".format(python_type))
    return "object"
