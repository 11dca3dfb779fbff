"""Secrets as chaoslib resolves them from the environment or inline values. Shakedown
resolves an experiment's secrets itself and hands the result to functions; this is for
extensions that resolve extra secrets on their own."""
import os
from typing import Any, Dict

__all__ = ["load_secrets"]


def load_secrets(secrets_info: Dict[str, Dict[str, Any]], configuration=None) -> Dict[str, Dict[str, Any]]:
    secrets = {}
    for scope, keys in (secrets_info or {}).items():
        secrets[scope] = {}
        for key, value in keys.items():
            if isinstance(value, dict) and value.get("type") == "env":
                if value["key"] in os.environ:
                    secrets[scope][key] = os.environ[value["key"]]
                elif "default" in value:
                    secrets[scope][key] = value["default"]
            elif not isinstance(value, dict) or "type" not in value:
                secrets[scope][key] = value
    return secrets
