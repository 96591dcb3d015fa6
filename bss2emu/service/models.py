"""What crosses the service's HTTP boundary: the submission and the answers (pydantic, so
that they are validated before anything is queued and become the OpenAPI schema).

A submission carries the core ``Experiment`` unchanged but for one field: a plasticity
rule's ``kernel`` is an import path that the core model imports while it validates, which a
shared service must not do for anyone's string. ``SubmittedExperiment`` keeps it a string
until the service has checked it against the modules its operator allows.

>>> req = JobRequest.model_validate({"experiment": {"runtime_us": 10}})
>>> req.experiment.runtime_us, req.system
(10.0, None)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..protocol.experiment import Experiment, PlasticityRule
from ..protocol.system import SETUPS
from ..routing.mapping import PARTITIONERS

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class SubmittedRule(PlasticityRule):
    """A plasticity rule whose kernel is only named (``module:function``), not yet imported."""

    kernel: str = Field(max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_.]*)?$",
                        description="import path of the PPU kernel; the operator allows modules with "
                                    "`bss2emu serve --allow-kernels PREFIX`")


class SubmittedExperiment(Experiment):
    """An ``Experiment`` as submitted to the service (kernels named, not imported)."""

    plasticity: list[SubmittedRule] = Field(default_factory=list)


class JobRequest(BaseModel):
    """A job: an experiment and the system to run it on (a shipped setup, or ``chips``)."""

    model_config = ConfigDict(extra="forbid")
    experiment: SubmittedExperiment
    system: Literal[tuple(SETUPS)] | None = Field(  # type: ignore[valid-type]
        None, description=f"a shipped setup: {', '.join(SETUPS)}")
    chips: int | None = Field(None, ge=1, le=4096, description="an N-chip system (default 1) if no system is named")
    partitioner: Literal[PARTITIONERS] = Field(  # type: ignore[valid-type]
        "metis", description="how populations are spread over chips (as bss2emu.run's partitioner)")


class JobInfo(BaseModel):
    """A job as its owner sees it. Times are Unix seconds; ``queue_position`` 0 runs next."""

    id: str
    name: str
    state: JobState
    queue_position: int | None = None
    progress: float | None = Field(None, description="fraction of the run's steps done")
    runtime_us: float
    submitted_at: float
    started_at: float | None = None
    finished_at: float | None = None
    wait_s: float | None = Field(None, description="queued time before the (last) start")
    run_s: float | None = None
    attempts: int = 0
    error: str | None = None
    spikes: int | None = None
    restored: bool | None = Field(None, description="whether the system's configuration was restored for it")
    system: str | None = None


class UserInfo(BaseModel):
    """The calling user, their quotas (None: no limit) and what they use."""

    name: str
    max_queued: int | None
    max_runtime_us: float | None
    budget_us: float | None
    active_jobs: int
    used_us: float


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    systems: int
    queued: int
