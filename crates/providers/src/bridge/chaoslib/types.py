"""The type aliases chaoslib exports, for extensions' annotations."""
from typing import Any, Dict, List, Union

__all__ = [
    "Activity", "Configuration", "Control", "Discovery", "DiscoveredActivities",
    "DiscoveredSystemInfo", "EventPayload", "Experiment", "Extension", "Hypothesis",
    "Journal", "Layer", "MicroservicesStatus", "Probe", "Run", "Secrets", "Settings",
    "Strategy", "Dry", "Schedule", "Tolerance", "ValidationError",
]

Activity = Dict[str, Any]
Configuration = Dict[str, Dict[str, str]]
Control = Dict[str, Any]
Discovery = Dict[str, Any]
DiscoveredActivities = Dict[str, Any]
DiscoveredSystemInfo = Dict[str, Any]
EventPayload = Dict[str, Any]
Experiment = Dict[str, Any]
Extension = Dict[str, Any]
Hypothesis = Dict[str, Any]
Journal = Dict[str, Any]
Layer = Dict[str, Any]
MicroservicesStatus = Dict[str, Any]
Probe = Dict[str, Any]
Run = Dict[str, Any]
Secrets = Dict[str, Dict[str, str]]
Settings = Dict[str, Any]
Tolerance = Union[int, str, bool, list, Dict[str, Any]]
ValidationError = Any
Strategy = str
Dry = str
Schedule = Any
