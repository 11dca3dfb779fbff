"""The exception names of chaoslib. Shakedown reads them by class name: an
`InterruptExecution` raised by a control interrupts the run, anything raised by an activity
fails it with `<Class>: <message>`."""

__all__ = [
    "ChaosException",
    "InvalidExperiment",
    "InvalidActivity",
    "ActivityFailed",
    "FailedActivity",
    "DiscoveryFailed",
    "InvalidSource",
    "InterruptExecution",
    "ControlPythonFunctionLoadingError",
    "InvalidControl",
    "ExperimentExitedException",
]


class ChaosException(Exception):
    pass


class InvalidActivity(ChaosException):
    pass


class InvalidExperiment(ChaosException):
    pass


class ActivityFailed(ChaosException):
    pass


FailedActivity = ActivityFailed


class DiscoveryFailed(ChaosException):
    pass


class InvalidSource(ChaosException):
    pass


class ControlPythonFunctionLoadingError(Exception):
    pass


class InterruptExecution(ChaosException):
    pass


class InvalidControl(ChaosException):
    pass


class ExperimentExitedException(ChaosException):
    pass
