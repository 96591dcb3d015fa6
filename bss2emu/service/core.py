"""``ExperimentService``: the service without HTTP — submission checks and quotas, the fair
queue, one thread per emulated system that takes the next unit and runs it, results
written atomically, recovery after a crash, release of idle systems.

Exactly once: a job's results are written to ``RESULTS/.tmp-<id>-<attempt>/`` and renamed
to ``RESULTS/<id>/`` (one atomic rename) before the database marks it done. A service that
was killed finds, on restart, every job it had running: one whose results directory is
complete is marked done, any other is queued again (at the head of its owner's queue) or,
after ``max_attempts`` starts, failed with the reason. Queued jobs keep their order.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..cluster.systems import RunCancelled, make_systems
from ..errors import BssError, ChipUnavailableError, ConfigError
from ..protocol.experiment import Experiment
from ..protocol.results import Results
from ..protocol.system import as_system
from ..routing.mapping import map_experiment
from .db import Database, JobRow, User
from .errors import JobFailedError, JobNotFoundError, QuotaExceededError, RequestRejectedError
from .models import JobInfo, JobRequest, UserInfo
from .scheduler import FairQueue

_log = logging.getLogger("bss2emu.service")


@dataclass
class ServiceConfig:
    """How a service runs; user quotas not set per user fall back to the defaults here."""

    db: Path
    results: Path | None = None  #: default: ``results/`` beside the database
    systems: int = 1  #: emulated systems in the pool
    backend: str = "local"  #: ``local`` (threads in the service) or ``ray`` (one actor per system)
    address: str | None = None  #: Ray cluster to join (``ray`` backend)
    idle_release_s: float = 300.0  #: a system idle this long releases its worker
    max_attempts: int = 3  #: starts of a job before it fails (worker or service died)
    max_body_bytes: int = 1 << 20
    max_wait_s: float = 30.0  #: longest long-poll of ``GET /jobs/{id}?wait=``
    max_chips: int = 4
    max_queued: int | None = 100
    max_runtime_us: float | None = 1e6
    budget_us: float | None = None
    allow_kernels: tuple[str, ...] = ()  #: module prefixes whose PPU kernels jobs may name

    def __post_init__(self) -> None:
        self.db = Path(self.db)
        self.results = Path(self.results) if self.results is not None else self.db.parent / "results"


class ExperimentService:
    """Owns the database, the queue and the pool. ``start()`` recovers and starts serving."""

    def __init__(self, config: ServiceConfig, systems=None) -> None:
        self.config = config
        self.db = Database(config.db)
        self.results_dir = Path(config.results)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.systems = systems if systems is not None else make_systems(config.backend, config.systems,
                                                                          config.address)
        self._cv = threading.Condition()
        self._queue = FairQueue()
        self._active: dict[str, str] = {}  # job id → 'queued' | 'running'
        self._running: dict[str, int] = {}  # job id → slot
        self._progress: dict[str, float] = {}
        self._last_run = [time.monotonic()] * len(self.systems)
        self._loaded = [False] * len(self.systems)
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.started_at = time.time()

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._recover()
        for slot in range(len(self.systems)):
            t = threading.Thread(target=self._serve, args=(slot,), name=f"bss2emu-system-{slot}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout_s: float = 30.0) -> None:
        with self._cv:
            self._stopping = True
            for job_id, slot in self._running.items():
                self.systems.cancel(slot, job_id)
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout_s)
        self.systems.shutdown()

    def _recover(self) -> None:
        for tmp in self.results_dir.glob(".tmp-*"):  # a write the last service did not finish
            shutil.rmtree(tmp, ignore_errors=True)
        for row in self.db.jobs_in("running"):
            if (self.results_dir / row.id / "metadata.json").exists():
                meta = json.loads((self.results_dir / row.id / "metadata.json").read_text())
                self.db.finish(row.id, row.attempts, "done", summary=meta.get("service_summary"))
            elif row.attempts >= self.config.max_attempts:
                self.db.finish(row.id, row.attempts, "failed",
                               f"the service stopped while this job ran, {row.attempts} times; not started again")
            else:
                self.db.requeue(row.id, row.attempts, "the service stopped while this job ran; it was queued again")
        with self._cv:
            for row in self.db.jobs_in("queued"):
                self._queue.push(row.user_id, row.id)
                self._active[row.id] = "queued"
            self._cv.notify_all()

    # --- submission -------------------------------------------------------------------------
    def limits(self, user: User) -> tuple[int | None, float | None, float | None]:
        c = self.config
        pick = (lambda own, default: default if own is None else own)
        return (pick(user.max_queued, c.max_queued), pick(user.max_runtime_us, c.max_runtime_us),
                pick(user.budget_us, c.budget_us))

    def check(self, user: User, req: JobRequest) -> Experiment:
        """Everything that can refuse a job before it is queued; the core ``Experiment``."""
        for rule in req.experiment.plasticity:
            module = rule.kernel.split(":")[0]
            if not any(module == p or module.startswith(p + ".") for p in self.config.allow_kernels):
                allowed = ", ".join(self.config.allow_kernels) or "none"
                raise RequestRejectedError(
                    f"plasticity rule {rule.name!r}: kernel {rule.kernel!r} is not in a module this service "
                    f"allows (allowed: {allowed}); the operator allows modules with `bss2emu serve "
                    f"--allow-kernels PREFIX`")
        _, max_runtime_us, _ = self.limits(user)
        if max_runtime_us is not None and req.experiment.runtime_us > max_runtime_us:
            raise RequestRejectedError(f"experiment {req.experiment.name!r}: runtime_us={req.experiment.runtime_us:g} "
                                       f"is more than this service allows per job for {user.name!r} "
                                       f"({max_runtime_us:g} µs): shorten it or split it into several jobs")
        try:
            spec = as_system(req.system, req.chips)
            if len(spec.chips) > self.config.max_chips:
                raise RequestRejectedError(f"system {spec.name!r} has {len(spec.chips)} chips; this service runs "
                                           f"at most {self.config.max_chips} per job: ask for fewer chips")
            exp = Experiment.model_validate(req.experiment.model_dump(mode="json"))
            map_experiment(exp, spec, req.partitioner)  # fits the hardware? (the mapping is cached for the run)
        except RequestRejectedError:
            raise
        except BssError as err:
            raise RequestRejectedError(str(err)) from None
        return exp

    def submit(self, user: User, req: JobRequest) -> JobRow:
        """Check, apply quotas, store and queue a job; refusals raise with their reason."""
        self.check(user, req)
        max_queued, _, budget_us = self.limits(user)
        runtime_us = req.experiment.runtime_us
        with self._cv:
            active, used_us = self.db.usage(user.id)
            if max_queued is not None and active >= max_queued:
                raise QuotaExceededError(f"user {user.name!r} has {active} jobs queued or running, the quota is "
                                         f"{max_queued}: wait for some to finish (or cancel some) and submit again")
            if budget_us is not None and used_us + runtime_us > budget_us:
                raise QuotaExceededError(f"user {user.name!r} has used {used_us:g} of an emulated-time budget of "
                                         f"{budget_us:g} µs and this job needs {runtime_us:g} µs: ask the operator "
                                         f"for a larger budget", status=403)
            row = self.db.add_job(secrets.token_hex(12), user.id, req.experiment.name, req.model_dump_json(),
                                  runtime_us)
            self._queue.push(user.id, row.id)
            self._active[row.id] = "queued"
            self._cv.notify()
        return row

    # --- execution --------------------------------------------------------------------------
    def _serve(self, slot: int) -> None:
        name = f"{self.systems.kind}-{slot}"
        while True:
            with self._cv:
                while not self._stopping and not len(self._queue):
                    idle_s = time.monotonic() - self._last_run[slot]
                    if self._loaded[slot] and idle_s >= self.config.idle_release_s:
                        self.systems.release(slot)
                        self._loaded[slot] = False
                        _log.info("system %s released after %.0f s idle", name, idle_s)
                    self._cv.wait(timeout=min(1.0, max(0.05, self.config.idle_release_s)))
                if self._stopping:
                    return
                user_id, job_id = self._queue.pop()
                attempt = self.db.start(job_id, name)
                if attempt is None:  # cancelled or deleted meanwhile
                    self._active.pop(job_id, None)
                    continue
                self._active[job_id] = "running"
                self._running[job_id] = slot
                self._loaded[slot] = True
            try:
                self._execute(slot, job_id, attempt, user_id)
            except Exception:  # never lose the thread: a job the service failed to finish fails with the reason
                _log.exception("system %s: job %s", name, job_id)
                self.db.finish(job_id, attempt, "failed", "internal error of the service; see its log")
            finally:
                with self._cv:
                    self._running.pop(job_id, None)
                    self._progress.pop(job_id, None)
                    if self._active.get(job_id) == "running":
                        self._active.pop(job_id)
                    self._last_run[slot] = time.monotonic()
                    self._cv.notify_all()

    def _execute(self, slot: int, job_id: str, attempt: int, user_id: int) -> None:
        row = self.db.job(job_id)
        if row is None:
            return
        req = json.loads(row.request)
        exp = Experiment.model_validate(req["experiment"])

        def progress(step: int, total: int) -> None:
            self._progress[job_id] = step / total if total else 0.0

        try:
            res = self.systems.run(slot, exp, req.get("system"), req.get("chips"), str(user_id), progress, job_id,
                                   partitioner=req.get("partitioner", "metis"))
        except RunCancelled:
            if self._stopping:  # the service stops, not the user: the job runs again after the restart
                self.db.requeue(job_id, attempt, "the service stopped while this job ran; it was queued again")
            else:
                self.db.finish(job_id, attempt, "cancelled", "cancelled by its user while it ran")
            return
        except ChipUnavailableError as err:  # the system's worker died mid-job
            with self._cv:
                if attempt < self.config.max_attempts and not self._stopping:
                    if self.db.requeue(job_id, attempt, f"attempt {attempt}: {err}; queued again"):
                        self._queue.push(user_id, job_id, front=True)
                        self._active[job_id] = "queued"
                        self._cv.notify()
                    return
            self.db.finish(job_id, attempt, "failed", f"{err} (attempt {attempt} of {self.config.max_attempts})")
            return
        except BssError as err:
            self.db.finish(job_id, attempt, "failed", str(err))
            return
        sysinfo = res.metadata.get("service_system", {})
        summary = {"spikes": res.spikes.num_rows, "wall_s": res.metadata.get("wall_s"),
                   "restored": sysinfo.get("restored"), "system": sysinfo.get("name")}
        res.metadata["service_summary"] = summary
        res.metadata["service_job"] = {"id": job_id, "attempt": attempt}
        final = self.results_dir / job_id
        tmp = self.results_dir / f".tmp-{job_id}-{attempt}"
        res.write_parquet(tmp)
        try:
            os.rename(tmp, final)  # one atomic step: the results exist whole or not at all
        except OSError:  # an earlier attempt's results are there already: keep those, once
            shutil.rmtree(tmp, ignore_errors=True)
        if not self.db.finish(job_id, attempt, "done", summary=summary):
            if self.db.job(job_id) is None:  # deleted while it ran
                shutil.rmtree(final, ignore_errors=True)

    # --- what users ask ---------------------------------------------------------------------
    def own_job(self, user: User, job_id: str) -> JobRow:
        row = self.db.job(job_id, user.id) if len(job_id) <= 64 else None
        if row is None:
            raise JobNotFoundError(f"no job {job_id[:64]!r} among yours; `bss2emu jobs` lists them")
        return row

    def is_active(self, job_id: str) -> bool:
        return job_id in self._active

    def info(self, row: JobRow, positions: dict[str, int] | None = None) -> JobInfo:
        if positions is None and row.state == "queued":
            positions = self.positions()
        s = row.summary_dict
        start = row.started_at or (time.time() if row.state == "queued" else None)
        wait_s = start - row.submitted_at if start else None
        return JobInfo(
            id=row.id, name=row.name, state=row.state, runtime_us=row.runtime_us, submitted_at=row.submitted_at,
            started_at=row.started_at, finished_at=row.finished_at, attempts=row.attempts, error=row.error,
            queue_position=(positions or {}).get(row.id) if row.state == "queued" else None,
            progress=1.0 if row.state == "done" else self._progress.get(row.id, 0.0) if row.state == "running" else None,
            wait_s=wait_s, run_s=(row.finished_at - row.started_at) if row.finished_at and row.started_at else None,
            spikes=s.get("spikes"), restored=s.get("restored"), system=s.get("system") or row.worker)

    def positions(self) -> dict[str, int]:
        with self._cv:
            return self._queue.positions()

    def jobs(self, user: User) -> list[JobInfo]:
        pos = self.positions()
        return [self.info(r, pos) for r in self.db.jobs_of(user.id)]

    def cancel(self, user: User, job_id: str) -> JobInfo:
        row = self.own_job(user, job_id)
        with self._cv:
            if self._queue.remove(job_id):
                self.db.cancel_queued(job_id)
                self._active.pop(job_id, None)
            elif job_id in self._running:
                self.systems.cancel(self._running[job_id], job_id)
        return self.info(self.db.job(job_id) or row)

    def delete(self, user: User, job_id: str) -> None:
        self.own_job(user, job_id)
        self.cancel(user, job_id)
        self.db.delete_job(job_id)
        shutil.rmtree(self.results_dir / job_id, ignore_errors=True)

    def result_dir(self, user: User, job_id: str) -> Path:
        row = self.own_job(user, job_id)
        if row.state != "done":
            why = f": {row.error}" if row.error else ""
            raise JobFailedError(f"job {job_id!r} is {row.state}{why}; results exist once it is done", status=409)
        return self.results_dir / job_id

    def results(self, user: User, job_id: str) -> Results:
        return Results.read_parquet(self.result_dir(user, job_id))

    def user_info(self, user: User) -> UserInfo:
        max_queued, max_runtime_us, budget_us = self.limits(user)
        active, used_us = self.db.usage(user.id)
        return UserInfo(name=user.name, max_queued=max_queued, max_runtime_us=max_runtime_us, budget_us=budget_us,
                        active_jobs=active, used_us=used_us)

    def queued(self) -> int:
        with self._cv:
            return len(self._queue)


def check_config(config: ServiceConfig) -> None:
    if config.systems < 1:
        raise ConfigError(f"--systems {config.systems}: a service needs at least one emulated system")
    if config.backend not in ("local", "ray"):
        raise ConfigError(f"--backend {config.backend!r}: use 'local' or 'ray'")
