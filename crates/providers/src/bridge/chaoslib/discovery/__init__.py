"""Discovery helpers extensions call from their `discover()` function."""
from chaoslib.discovery.discover import (  # noqa: F401
    discover_actions,
    discover_activities,
    discover_probes,
    initialize_discovery_result,
    portable_type_name,
)

__all__ = [
    "discover_actions",
    "discover_activities",
    "discover_probes",
    "initialize_discovery_result",
    "portable_type_name",
]
