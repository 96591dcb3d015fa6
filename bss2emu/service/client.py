"""The Python client of the experiment service (standard library only: works from any
machine with bss2emu installed, without the service's extras).

    client = bss2emu.Client("http://127.0.0.1:8000", token)   # or $BSS2EMU_TOKEN
    job = client.submit(experiment)            # an Experiment, a dict or a YAML/JSON file
    job.status()                               # 'queued', 'running', 'done', 'failed', 'cancelled'
    res = job.result(timeout=60)               # the same Results as bss2emu.run(experiment)
    client.job(job.id).cancel()

``bss2emu.run(experiment, service=URL, token=…)`` does submit-and-wait in one call.
Refusals raise the service's errors (``bss2emu.service.errors``) with its reason.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..protocol.experiment import Experiment, load_experiment
from ..protocol.results import Results
from .errors import (
    AuthenticationError, JobFailedError, JobNotFoundError, JobTimeoutError, QuotaExceededError, RequestRejectedError,
    ServiceError,
)

TOKEN_ENV = "BSS2EMU_TOKEN"
URL_ENV = "BSS2EMU_SERVICE"
FINAL = ("done", "failed", "cancelled")
Progress = Callable[[int, int], None]


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("detail", body.decode(errors="replace"))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:500]
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)


_ERRORS = {401: AuthenticationError, 404: JobNotFoundError, 409: JobFailedError, 429: QuotaExceededError,
           403: QuotaExceededError, 413: RequestRejectedError, 422: RequestRejectedError, 400: RequestRejectedError}


def experiment_json(experiment: Experiment | dict | str | Path) -> dict:
    """An experiment (model, dict or file) as the JSON the service takes."""
    if isinstance(experiment, (str, Path)):
        experiment = load_experiment(experiment)
    if isinstance(experiment, Experiment):
        return experiment.model_dump(mode="json")
    if isinstance(experiment, dict):
        return experiment
    raise ConfigError(f"cannot submit {type(experiment).__name__!r}: pass an Experiment, a dict or a file path")


class Client:
    """A connection to a service at ``url`` with a user's ``token`` (default ``$BSS2EMU_TOKEN``)."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout_s: float = 60.0) -> None:
        url = url or os.environ.get(URL_ENV)
        if not url or urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"service URL {url!r} is not an http(s) URL: give e.g. http://127.0.0.1:8000 "
                              f"(or set ${URL_ENV})")
        self.url = url.rstrip("/")
        self.token = token or os.environ.get(TOKEN_ENV)
        if not self.token:
            raise ConfigError(f"no token for the service at {self.url}: pass token=… or set ${TOKEN_ENV} "
                              f"(an operator makes one with `bss2emu users add NAME`)")
        self.timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def request(self, method: str, path: str, body: Any = None, timeout_s: float | None = None) -> bytes:
        """One HTTP request; the answer's body, or the service's refusal as an error."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", **({"Content-Type": "application/json"} if data else {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s or self.timeout_s) as resp:
                return resp.read()
        except urllib.error.HTTPError as err:
            cls = _ERRORS.get(err.code, ServiceError)
            raise cls(f"{method} {path}: {_detail(err.read())}", status=err.code) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, (BrokenPipeError, ConnectionResetError)) and data:
                raise RequestRejectedError(f"{method} {path}: the service closed the connection while it received "
                                           f"the request ({len(data)} bytes): larger than it accepts?",
                                           status=413) from None
            raise ServiceError(f"cannot reach the service at {self.url}: {reason}; is `bss2emu serve` running "
                               f"there?", status=503) from None

    def _json(self, method: str, path: str, body: Any = None, timeout_s: float | None = None) -> Any:
        return json.loads(self.request(method, path, body, timeout_s) or b"null")

    def health(self) -> dict:
        return self._json("GET", "/health")

    def me(self) -> dict:
        """Your quotas and usage."""
        return self._json("GET", "/me")

    def submit(self, experiment: Experiment | dict | str | Path, *, system: str | None = None,
               chips: int | None = None, partitioner: str = "metis") -> "Job":
        """Queue an experiment; the service validates it (and that it fits) before it answers."""
        body = {"experiment": experiment_json(experiment), "system": system, "chips": chips,
                "partitioner": partitioner}
        info = self._json("POST", "/jobs", body)
        return Job(self, info["id"], info)

    def job(self, job_id: str) -> "Job":
        """An existing job of yours (``JobNotFoundError`` if there is none with this id)."""
        return Job(self, job_id, self._json("GET", f"/jobs/{urllib.parse.quote(job_id, safe='')}"))

    def jobs(self) -> list[dict]:
        """Your jobs, newest first, each as the service describes it (state, queue position, times)."""
        return self._json("GET", "/jobs")


class Job:
    """A job on the service. ``info`` is its last known description."""

    def __init__(self, client: Client, job_id: str, info: dict | None = None) -> None:
        self.client, self.id, self.info = client, job_id, info or {}

    def __repr__(self) -> str:
        return f"Job({self.id!r}, state={self.info.get('state')!r})"

    def refresh(self, wait_s: float = 0.0) -> dict:
        """Ask the service again; with ``wait_s`` it answers when the job ends or the time is up."""
        self.info = self.client._json("GET", f"/jobs/{self.id}?wait={wait_s:g}", timeout_s=wait_s + 30.0)
        return self.info

    def status(self) -> str:
        return self.refresh()["state"]

    def cancel(self) -> str:
        """Cancel it if it is queued or running; the state after the request."""
        self.info = self.client._json("POST", f"/jobs/{self.id}/cancel")
        return self.info["state"]

    def delete(self) -> None:
        """Delete the job and its results on the service."""
        self.client.request("DELETE", f"/jobs/{self.id}")

    def wait(self, timeout: float | None = None, progress: bool | Progress | None = None) -> dict:
        """Wait until the job ends; its final description. ``progress``: a bar on stderr (default:
        when stderr is a terminal), or a callable ``(done, total)`` in thousandths."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        if progress is None:
            progress = sys.stderr.isatty()
        if progress is True:
            from tqdm import tqdm

            bar = tqdm(total=1000, desc=f"job {self.id[:8]}", unit="‰", file=sys.stderr, leave=False)
        try:
            info = self.info if self.info.get("state") in FINAL else self.refresh()
            while info["state"] not in FINAL:
                if deadline is not None and time.monotonic() >= deadline:
                    raise JobTimeoutError(f"job {self.id} is still {info['state']} after {timeout:g} s; it goes on: "
                                          f"wait again, or fetch it later with `bss2emu fetch {self.id}`")
                left = 10.0 if deadline is None else max(0.0, deadline - time.monotonic())
                info = self.refresh(min(left, 0.5 if progress else 10.0))
                done = int(1000 * (info.get("progress") or 0.0))
                if bar is not None:
                    pos = info.get("queue_position")
                    bar.set_description(f"job {self.id[:8]} {info['state']}" + (f" #{pos}" if pos is not None else ""))
                    bar.update(done - bar.n)
                elif callable(progress):
                    progress(done, 1000)
            return info
        finally:
            if bar is not None:
                bar.close()

    def result(self, timeout: float | None = None, progress: bool | Progress | None = None) -> Results:
        """Wait for the job and return its ``Results`` (as ``bss2emu.run`` gives them);
        ``JobFailedError`` with the reason if it failed or was cancelled."""
        info = self.wait(timeout, progress)
        if info["state"] != "done":
            raise JobFailedError(f"job {self.id} ({info.get('name')}) is {info['state']}: {info.get('error')}")
        with tempfile.TemporaryDirectory(prefix="bss2emu-job-") as tmp:
            self.download(tmp)
            return Results.read_parquet(tmp)

    def download(self, directory: str | Path) -> list[Path]:
        """Write the results' Parquet files and ``metadata.json`` into ``directory``."""
        blob = self.client.request("GET", f"/jobs/{self.id}/result", timeout_s=300.0)
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            for name in zf.namelist():
                if "/" in name or name.startswith("."):  # only the flat files the service writes
                    raise ServiceError(f"unexpected file {name!r} in the results of job {self.id}")
                (out / name).write_bytes(zf.read(name))
                written.append(out / name)
        return written


def run_on_service(experiment: Experiment | dict | str | Path, url: str, token: str | None = None, *,
                   system: Any = None, chips: int | None = None, progress: Progress | None = None,
                   partitioner: str = "metis") -> Results:
    """What ``bss2emu.run(..., service=URL)`` does: submit, wait, return the results."""
    if system is not None and not isinstance(system, str):
        raise ConfigError("run(service=…): name a shipped system (e.g. system='cube-4') or give chips=N; a "
                          "SystemSpec or file stays on this machine")
    job = Client(url, token).submit(experiment, system=system, chips=chips, partitioner=partitioner)
    return job.result(progress=progress)
