"""What can go wrong, as a person can act on it, and the exit code each failure leaves.

Every failure the client expects is a `ClientError`: the CLI prints its message and hint and exits with
its code; nothing else reaches the user as a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """`cloudsaves` exit codes (documented in the README and `cloudsaves --help`)."""

    OK = 0  # everything planned was done
    FAILED = 1  # some planned transfers failed (details printed); rerun to resume
    USAGE = 2  # bad command line, or not logged in
    AUTH = 3  # the server refused the credentials: token expired or revoked, pairing denied
    OFFLINE = 4  # the server or the storage could not be reached
    CONFLICT = 5  # conflicts were listed and left alone: choose with --prefer local|server|both
    DISK = 6  # the local disk is full or a local file could not be written
    SERVER = 7  # the server answered an error the client cannot work around
    INTERRUPTED = 130  # Ctrl-C


class ClientError(Exception):
    exit_code = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ClientError):
    exit_code = ExitCode.USAGE


class NotLoggedIn(UsageError):
    def __init__(self) -> None:
        super().__init__("this device is not logged in", "run: cloudsaves login URL")


class AuthError(ClientError):
    exit_code = ExitCode.AUTH


class Offline(ClientError):
    exit_code = ExitCode.OFFLINE


class DiskError(ClientError):
    exit_code = ExitCode.DISK


class ServerError(ClientError):
    exit_code = ExitCode.SERVER


class ApiError(ClientError):
    """A 4xx the caller may handle (404, 409, 422...): `status` and RomM's `detail`."""

    exit_code = ExitCode.SERVER

    def __init__(self, status: int, detail: object, method: str, path: str) -> None:
        text = detail if isinstance(detail, str) else str(detail)
        super().__init__(f"{method} {path} answered {status}: {text}")
        self.status = status
        self.detail = detail


class IntegrityError(ClientError):
    """Downloaded bytes did not match the size or hash the server announced (nothing was replaced)."""
