"""The one exception hierarchy of leerid.

Every error a person can cause (bad input, a bad file, an unknown key) is a
``LeeridError``: its message says what is wrong, where, and what to do. The command line
prints the message and exits with ``exit_code``; it never shows a traceback for them.
"""

from __future__ import annotations


class LeeridError(Exception):
    """Base of every error leerid raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(LeeridError):
    """A setting (environment variable, configuration file) is missing or wrong."""

    exit_code = 2


class StorageError(LeeridError):
    """The database cannot be reached or is not in the expected state."""

    exit_code = 2


class MissingDatabaseError(StorageError):
    """A command that only reads was pointed at a database that does not exist."""


class NotFoundError(LeeridError):
    """A key given by the user (a uuid, an INSZ, a referte, an id) is not known."""

    exit_code = 1
