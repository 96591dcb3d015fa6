"""Errors of the experiment service and its client. Each carries the HTTP status the
service answers it with, and pickles faithfully."""

from __future__ import annotations

from ..errors import BssError


class ServiceError(BssError, RuntimeError):
    """The experiment service refused or could not serve a request."""

    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    def __reduce__(self):
        return (type(self), (str(self), self.status))


class AuthenticationError(ServiceError):
    """No token, or a token the service does not know (401)."""

    status = 401


class QuotaExceededError(ServiceError):
    """A user's quota (queued jobs, emulated time) refuses a submission (429)."""

    status = 429


class JobNotFoundError(ServiceError, LookupError):
    """No such job for this user; another user's job answers the same (404)."""

    status = 404


class RequestRejectedError(ServiceError, ValueError):
    """A submission the service will not queue: invalid, too large, or not allowed (4xx)."""

    status = 422


class JobFailedError(ServiceError):
    """The job ended without results: it failed (the message gives the reason) or was cancelled."""

    status = 409


class JobTimeoutError(ServiceError, TimeoutError):
    """Waiting for a job's results took longer than the timeout; the job goes on."""

    status = 408
