# The Python side of Shakedown's bridge: one process per run, started only when an
# experiment names a Python module that Shakedown does not ship natively.
#
# Protocol (newline-delimited JSON; see crates/providers/src/bridge/mod.rs):
#   fd 4   <- {"id": N, "op": "...", ...}        one request a line
#   fd 3   -> {"id": N, "ok": VALUE}              the answer
#          -> {"id": N, "error": {"kind", "message", "traceback", ...}}
#          -> {"log": {"level": L, "message": M}}  a record of the "chaostoolkit" logger
# The first request is "init": it carries the chaoslib stand-in modules (served only when
# the interpreter has no chaoslib of its own) and the log level.
#
# Foreground requests run one at a time on the main thread, so a SIGINT sent by Shakedown
# (or Ctrl-C in the terminal) raises KeyboardInterrupt in the function that is running, as
# in the reference. Background requests ("background": true) run in their own threads, as
# the reference runs background activities in a thread pool.
#
# Requests come on file descriptor 4 and answers go to 3, so the user's code keeps stdin,
# stdout and stderr: what it prints, and what it asks the user, go where the reference's do.
import copy
import datetime
import decimal
import importlib
import importlib.abc
import importlib.util
import inspect
import json
import logging
import os
import queue
import signal
import sys
import threading
import traceback
import types
import uuid

_proto = os.fdopen(3, "w", encoding="utf-8", newline="\n")
_requests = os.fdopen(4, "r", encoding="utf-8")
_write_lock = threading.Lock()
_MAX_FRAME = 64 * 1024 * 1024

# The console-script `chaos` does not put the working directory on sys.path; neither do we
# (`python -c` puts it first, as ''). PYTHONPATH entries stay, `.` included.
if sys.path and sys.path[0] == "":
    del sys.path[0]


_held = threading.local()


def _send(frame, hold=False):
    """Writes a frame. A held frame waits for the next one of its thread, so a call that
    logs nothing else costs one write for its debug line and its answer together."""
    _write(json.dumps(frame, ensure_ascii=False, allow_nan=False), hold)


def _write(line, hold=False):
    lines = getattr(_held, "lines", None)
    if lines is None:
        lines = _held.lines = []
    lines.append(line + "\n")
    if hold:
        return
    with _write_lock:
        _proto.write("".join(lines))
        _proto.flush()
    lines.clear()


def _default(obj):
    """What JSON cannot hold, the way chaoslib's PayloadEncoder writes it into a journal;
    anything else becomes its repr rather than crashing the run."""
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, decimal.Decimal)):
        return str(obj)
    if isinstance(obj, Exception):
        return "An exception was raised: {}('{}')".format(type(obj).__name__, obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return repr(obj)


def _finite(obj):
    """NaN and infinities, which JSON cannot hold, as null."""
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _dumps(value):
    try:
        return json.dumps(value, default=_default, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), default=_default, ensure_ascii=False)


def _encode(value):
    """The value as plain JSON data (for comparing and for defaults)."""
    return json.loads(_dumps(value))


_PARAMETERS = {}


def _parameters(func):
    """The names a function takes, looked up once per function."""
    try:
        return _PARAMETERS[func]
    except (KeyError, TypeError):
        pass
    try:
        names = frozenset(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        names = frozenset()
    try:
        _PARAMETERS[func] = names
    except TypeError:
        pass
    return names


class _ForwardHandler(logging.Handler):
    def emit(self, record):
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            _send({"log": {"level": record.levelno, "message": message}})
        except Exception:
            pass


class _ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves Shakedown's small chaoslib stand-in, last on sys.meta_path so that a real
    chaoslib installed in the interpreter always wins."""

    def __init__(self, sources):
        self.sources = sources

    def find_spec(self, name, path=None, target=None):
        if name not in self.sources:
            return None
        is_package = any(other.startswith(name + ".") for other in self.sources)
        spec = importlib.util.spec_from_loader(name, self, is_package=is_package)
        if is_package:
            spec.submodule_search_locations = []
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = "<shakedown chaoslib stand-in: {}>".format(module.__name__)
        exec(compile(self.sources[module.__name__], module.__file__, "exec"), module.__dict__)


class _Failure(Exception):
    def __init__(self, kind, message, **extra):
        super().__init__(message)
        self.frame = dict(kind=kind, message=message, **extra)


def _import(module):
    try:
        return importlib.import_module(module)
    except ImportError as x:
        raise _Failure("module_not_found", "could not find Python module '{}'".format(module), detail=str(x))


def _function(module, func):
    mod = _import(module)
    found = getattr(mod, func, None)
    if found is None or not callable(found):
        raise _Failure(
            "function_not_found",
            "The python module '{}' does not expose a function called '{}'".format(module, func),
        )
    return found


def _exception_line(x):
    return traceback.format_exception_only(type(x), x)[0].strip()


# --- operations ------------------------------------------------------------------------


def op_lookup(req):
    """What validation needs: does the module import, does it expose the function (as
    chaoslib's validation sees functions), and its parameters."""
    try:
        mod = importlib.import_module(req["module"])
    except ImportError:
        return {"found": "no-module"}
    candidates = dict(inspect.getmembers(mod, inspect.isfunction))
    candidates.update(inspect.getmembers(mod, inspect.isbuiltin))
    func = candidates.get(req["func"])
    if func is None:
        return {"found": "no-function"}
    return {"found": "function", "signature": _signature(func)}


def _signature(func):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return {"params": [], "var_keyword": True}
    params = []
    var_keyword = False
    for p in sig.parameters.values():
        if p.kind == p.VAR_KEYWORD:
            var_keyword = True
            continue
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            continue
        entry = {"name": p.name}
        if p.default is not p.empty:
            entry["default"] = _encode(p.default)
        params.append(entry)
    return {"params": params, "var_keyword": var_keyword}


def op_call(req):
    """chaoslib's run_python_activity, after substitution (done by Shakedown)."""
    func = _function(req["module"], req["func"])
    _send_debug_loaded(req.get("name"), func)
    arguments = dict(req.get("arguments") or {})
    parameters = _parameters(func)
    if req.get("secrets") is not None and "secrets" in parameters:
        arguments["secrets"] = req["secrets"]
    if "configuration" in parameters:
        arguments["configuration"] = dict(req.get("configuration") or {})
    try:
        return func(**arguments)
    except Exception as x:
        raise _Failure("activity_failed", _exception_line(x), traceback=traceback.format_exc())


def _send_debug_loaded(name, func):
    if not logging.getLogger("chaostoolkit").isEnabledFor(logging.DEBUG):
        return
    try:
        where = inspect.getfile(func)
    except TypeError:
        return
    message = "Activity '{}' loaded from '{}'".format(name, where)
    _send({"log": {"level": logging.DEBUG, "message": message}}, hold=True)


def op_control(req):
    """One control hook, as chaoslib's control.python module calls it. Returns whether the
    hook exists and the (possibly changed) context, configuration and secrets."""
    try:
        mod = importlib.import_module(req["module"])
    except ImportError:
        logging.getLogger("chaostoolkit").debug(
            "Control module '{}' could not be loaded. Have you installed it?".format(req["module"])
        )
        return {"called": False, "importable": False}
    hook = req["hook"]
    func = getattr(mod, hook, None)
    if not func:
        logging.getLogger("chaostoolkit").debug(
            "Control module '{}' does not declare '{}'".format(getattr(mod, "__file__", req["module"]), hook)
        )
        return {"called": False, "importable": True}
    parameters = _parameters(func)
    arguments = copy.deepcopy(req.get("arguments") or {})
    context = req.get("context")
    configuration = req.get("configuration")
    secrets = req.get("secrets")
    experiment = req.get("experiment")
    if hook == "configure_control":
        optional = {
            "experiment": experiment,
            "secrets": secrets,
            "configuration": configuration,
            "settings": req.get("settings"),
            "event_registry": None,
        }
    else:
        optional = {
            "secrets": secrets,
            "configuration": configuration,
            "state": req.get("state"),
            "experiment": experiment,
            "extensions": (experiment or {}).get("extensions") if isinstance(experiment, dict) else None,
            "settings": req.get("settings"),
        }
    for key, value in optional.items():
        if key in parameters:
            arguments[key] = value
    snapshots = {key: _snapshot(value) for key, value in (("context", context), ("configuration", configuration), ("secrets", secrets), ("experiment", experiment), ("state", req.get("state")))}
    try:
        if hook in ("configure_control", "cleanup_control"):
            func(**arguments) if hook == "configure_control" else func()
        elif hook == "validate_control":
            func(req.get("control"))
        else:
            func(context=context, **arguments)
    except Exception as x:
        kind = "interrupt" if type(x).__name__ == "InterruptExecution" else "control_failed"
        raise _Failure(kind, str(x) if kind == "interrupt" else _exception_line(x), traceback=traceback.format_exc())
    # Controls change what they are handed in place; only what changed goes back.
    changed = {}
    for key, value in (("context", context), ("configuration", configuration), ("secrets", secrets), ("experiment", experiment), ("state", req.get("state"))):
        if _snapshot(value) != snapshots[key]:
            changed[key] = _encode(value)
    return {"called": True, "importable": True, "changed": changed}


def _snapshot(value):
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def op_notify(req):
    """chaoslib's notify_via_plugin: func(channel, payload); failures only logged."""
    log = logging.getLogger("chaostoolkit")
    channel = req["channel"]
    mod_name = channel.get("module")
    func_name = channel.get("func", "notify")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError:
        log.debug("could not find Python plugin '{}' for notification".format(mod_name))
        return {"called": False, "importable": False}
    funcs = dict(inspect.getmembers(mod, inspect.isfunction))
    func = funcs.get(func_name)
    if func is None:
        log.debug("could not find function '{}' in plugin '{}' for notification".format(func_name, mod_name))
        return {"called": False, "importable": True}
    try:
        func(channel, req["event"])
    except Exception as err:
        log.debug("failed calling notification plugin", exc_info=err)
    return {"called": True, "importable": True}


def op_discover(req):
    """chaoslib's discover(): the installed distribution's top-level package, then its own
    `discover(discover_system=...)`. Nothing is installed."""
    package = req["package"]
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        raise _Failure("package_not_found", "Package {} not found".format(package))
    try:
        metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise _Failure("package_not_found", "Package {} not found".format(package))
    name = None
    mapping = metadata.packages_distributions() if hasattr(metadata, "packages_distributions") else {}
    for top, dists in mapping.items():
        if package in dists:
            name = top
            break
    if name is None:
        raise _Failure("package_not_found", "could not find the top-level module of {}".format(package))
    try:
        mod = importlib.import_module(name)
    except ImportError:
        raise _Failure("package_not_found", "could not load Python module '{}'".format(name))
    discover = dict(inspect.getmembers(mod, inspect.isfunction)).get("discover")
    if discover is None:
        raise _Failure("package_not_found", "package '{}' does not export a `discover` function".format(name))
    try:
        return _encode(discover(discover_system=req.get("discover_system", True)))
    except Exception as x:
        raise _Failure("activity_failed", _exception_line(x), traceback=traceback.format_exc())


def op_extensions(req):
    """The installed `chaostoolkit-*` distributions, as chaoslib's list_extensions sees them."""
    try:
        from importlib import metadata
    except ImportError:
        return []
    out, seen = [], set()
    for dist in metadata.distributions():
        info = dist.metadata
        name = info["Name"] or ""
        if name == "chaostoolkit-lib" or name in seen or not name.startswith("chaostoolkit-"):
            continue
        seen.add(name)
        out.append({"name": name, "version": info["Version"], "license": info["License"] or "", "summary": info["Summary"] or ""})
    return out


def op_ping(req):
    import platform

    try:
        real = importlib.util.find_spec("chaoslib")
        origin = getattr(real, "origin", None) or ""
    except (ImportError, ValueError):
        origin = ""
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "chaoslib": "stand-in" if origin.startswith("<") or not origin else origin,
    }


OPS = {
    "lookup": op_lookup,
    "call": op_call,
    "control": op_control,
    "notify": op_notify,
    "discover": op_discover,
    "extensions": op_extensions,
    "ping": op_ping,
}


def _answer(req):
    rid = req.get("id")
    try:
        op = OPS.get(req.get("op"))
        if op is None:
            raise _Failure("protocol", "unknown operation {!r}".format(req.get("op")))
        frame = {"id": rid, "ok": op(req)}
    except _Failure as f:
        frame = {"id": rid, "error": f.frame}
    except KeyboardInterrupt:
        frame = {"id": rid, "error": {"kind": "keyboard_interrupt", "message": "KeyboardInterrupt"}}
    except SystemExit as x:
        code = x.code if isinstance(x.code, int) else None
        frame = {"id": rid, "error": {"kind": "system_exit", "message": "SystemExit", "code": code}}
    except BaseException as x:  # noqa: B036 - the worker must answer whatever happens
        frame = {"id": rid, "error": {"kind": "internal", "message": _exception_line(x), "traceback": traceback.format_exc()}}
    try:
        text = _dumps(frame)
    except (TypeError, ValueError, RecursionError) as x:
        frame = {"id": rid, "error": {"kind": "internal", "message": "cannot encode the answer: {}".format(x)}}
        text = json.dumps(frame)
    if len(text) > _MAX_FRAME:
        text = json.dumps({"id": rid, "error": {"kind": "too_large", "message": "the answer is larger than {} bytes".format(_MAX_FRAME)}})
    _write(text)


def _forward_signal(signum, frame):
    # chaoslib.exit's exit_gracefully/exit_ungracefully signal their own process: that is
    # this worker, so the signal goes on to Shakedown, which runs the experiment.
    try:
        os.kill(os.getppid(), signum)
    except OSError:
        pass


def main():
    init = json.loads(_requests.readline() or "{}")
    sources = init.get("shim") or {}
    sys.meta_path.append(_ShimFinder(sources))
    log = logging.getLogger("chaostoolkit")
    # As the reference CLI does: `from logzero import logger` gets the chaostoolkit logger.
    logzero = types.ModuleType("logzero")
    logzero.__path__ = []
    logzero.logger = log
    sys.modules["logzero"] = logzero
    log.setLevel(init.get("log_level", logging.DEBUG))
    log.addHandler(_ForwardHandler())
    log.propagate = False
    for sig in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, _forward_signal)
    # Shakedown stops the run on SIGTERM; the worker ends when its request pipe closes.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    foreground = queue.SimpleQueue()
    cancelled = set()

    def reader():
        for line in _requests:
            try:
                req = json.loads(line)
            except ValueError:
                continue
            if req.get("op") == "cancel":
                cancelled.add(req.get("target"))
            elif req.get("background"):
                threading.Thread(target=_answer, args=(req,), daemon=True).start()
            else:
                foreground.put(req)
        foreground.put(None)

    threading.Thread(target=reader, daemon=True).start()
    _send({"id": init.get("id"), "ok": op_ping({})})
    while True:
        try:
            req = foreground.get()
            if req is None:
                break
            if req.get("id") in cancelled:
                cancelled.discard(req.get("id"))
                _send({"id": req.get("id"), "error": {"kind": "keyboard_interrupt", "message": "cancelled"}})
                continue
            _answer(req)
        except KeyboardInterrupt:
            # A SIGINT between two requests interrupts nothing.
            continue


if __name__ == "__main__":
    main()
