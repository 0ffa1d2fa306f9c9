"""Every error hrnet_tf raises on purpose, and what each command does with it.

* :class:`UserError` and its subclasses mean the input is wrong: a bad configuration, missing or
  malformed data, a model or weights file that does not fit. Their message is one line naming the
  file, key or value. Commands print it as ``error: <message>`` and exit with status 2.
* Anything else escaping a command is an internal failure: the traceback is printed and the exit
  status is 1.
* :class:`TrainingDiverged` (a NaN or infinite loss) exits with status 3.

All user errors are also ``ValueError``s, so library callers can catch them as such.
"""


class HRNetError(Exception):
    """Base of the errors below."""


class UserError(HRNetError, ValueError):
    """Wrong input from the user; the message is one line naming the file, key or value."""

    exit_status = 2


class ConfigError(UserError):
    """A bad configuration: names the key and where it came from (file or ``--set``)."""


class DataError(UserError):
    """Missing or unusable data: names the path and what was expected."""


class ModelFileError(UserError):
    """A model or weights file that is missing, unreadable or does not fit the model."""


class TrainingDiverged(HRNetError, RuntimeError):
    """The loss or the gradient became NaN or infinite; the last good checkpoint is kept."""

    exit_status = 3


__all__ = [
    "ConfigError",
    "DataError",
    "HRNetError",
    "ModelFileError",
    "TrainingDiverged",
    "UserError",
]
