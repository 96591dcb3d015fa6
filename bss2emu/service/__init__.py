"""The multi-user experiment service: shared emulated systems behind HTTP, time-shared as
quiggeldy shares BrainScaleS-2 setups (per-user queues served round-robin, each user's
configuration restored before their work, idle systems released), with tokens, quotas,
a job database, results on disk and a web page.

    bss2emu users add ada --db service/db.sqlite      # prints ada's token, once
    bss2emu serve --db service/db.sqlite               # http://127.0.0.1:8000

The client (``Client``, ``Job``) needs only the standard library; the server needs the
``service`` extra (FastAPI, uvicorn): ``pip install 'bss2emu[service]'``.
"""

from .client import Client, Job
from .errors import (
    AuthenticationError, JobFailedError, JobNotFoundError, JobTimeoutError, QuotaExceededError, RequestRejectedError,
    ServiceError,
)

__all__ = ["Client", "Job", "ServiceError", "AuthenticationError", "QuotaExceededError", "JobNotFoundError",
           "RequestRejectedError", "JobFailedError", "JobTimeoutError"]
