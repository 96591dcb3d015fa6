"""The backend's global state: the network being described and the last run's results.

Execution is deferred (grenade's way): populations, projections, recordings and current
sources only record what the user asked for; ``run_until`` hands the state to the executor
that ``setup`` installed (``segments.run_segment``: build a ``bss2emu.Experiment`` of the
segment, run it, store the results). This module is the bottom of the backend and imports
nothing of it, so every other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyNN import common, random

from ..errors import ConfigError

name = "bss2emu"


class ID(int, common.IDMixin):
    """A neuron's global id (an int that knows its population)."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


@dataclass
class RunConfig:
    """Where and how ``run`` executes (``setup``'s keyword arguments)."""

    chips: int | None = None
    system: object = None
    placement: str = "local"
    address: str | None = None
    seed: int = 0
    ideal: bool = True
    serial: int = 0
    partitioner: str = "metis"
    service: str | None = None  # URL of an experiment service (bss2emu serve) that runs each segment
    token: str | None = None
    size_system: bool = False  # no chips/system named: the smallest system the network fits (routing.sizing)


class State(common.control.BaseState):
    """Everything ``setup`` resets."""

    def __init__(self) -> None:
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = 0.1
        self.max_delay = 1000.0
        self.segment_counter = -1
        self.config = RunConfig()
        self.us_per_ms = 1.0  # hardware µs per ms of the view's time axis (bss2emu.pynn 1, brainscales2 1000)
        self.record_sample_times = False  # True: analog signals as neo IrregularlySampledSignals
        self.execute = _not_set_up  # setup() installs the backend's executor
        self.emulation = None  # the segment's Coordinator, kept for a continued run()
        self.clear()

    def clear(self) -> None:
        """Forget the network (``setup``/``end``)."""
        self.recorders = set()
        self.populations: list = []
        self.projections: list = []
        self.current_sources: list = []
        self.id_counter = 0
        self.native_rngs = 0  # NativeRNGs made since setup (each gets its own stream)
        self.plasticity_rules: list = []  # PlasticityRules made since setup, in order
        self.neuron_permutation = None  # circuits of the neurons, in creation order (None: placed by routing)
        self.segment_counter = -1
        self.results = None
        self.last_experiment = None
        self.last_info = None  # what reads the last experiment's results back (experiment.build's info)
        self.system = None  # the SystemSpec the network was last placed on (sized or setup's)
        # the correlation sensors' (time constant µs, amplitude in CADC codes per pair), as a
        # calibration sets them (pynn.brainscales2's initial_config); None: the emulator's defaults
        self.correlation_sensor: tuple[float, float] | None = None
        self.reset()

    def reset(self) -> None:
        """Back to t = 0 and a new segment; the network stays."""
        if self.emulation is not None:  # the last segment's chips, kept for a continued run()
            self.emulation.close()
            self.emulation = None
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self.epochs: list = []  # (t_ms, snapshot) of each run() call in this segment
        self.snippet_starts: list = []  # ms where a snippet of a multi-snippet run (RunCommand.APPEND) begins
        self.timed_writes: list = []  # writes by hardware coordinate in this segment (pynn.timed_writes)
        self.results = None
        self.recorded_until = 0.0
        for population in self.populations:  # drawn again, as pyNN.nest does at reset()
            for variable, value in population.initial_values.items():
                population._set_initial_value_array(variable, value)

    def run_until(self, tstop: float) -> None:
        from .lifecycle import require_setup  # the bottom too: it imports nothing of the backend

        require_setup("run()")
        self.execute(self, float(tstop))
        self.t = float(tstop)
        self.running = True

    def run(self, simtime: float) -> None:
        self.run_until(self.t + simtime)


def _not_set_up(state, tstop: float) -> None:
    raise ConfigError("run() before setup(): call setup() first")


state = State()


class NativeRNG(random.NativeRNG, random.NumpyRNG):
    """The backend's own RNG (``sim.NativeRNG``, as ``pyNN.nest.NativeRNG``): bss2emu builds
    networks on the host with NumPy, so its native RNG is a ``NumpyRNG`` — usable wherever
    PyNN takes an ``rng`` (connectors, ``RandomDistribution``, ``sample``). Without a
    ``seed`` it is seeded from ``setup(seed=...)`` and the number of NativeRNGs made since
    (as NEST's kernel RNG from ``rng_seed``): a script is reproducible run to run; given a
    seed it draws exactly what ``NumpyRNG(seed)`` draws. Either way its numbers differ from
    NEST's native ones (PyNN's caveat for native RNGs)."""

    def __init__(self, seed=None, parallel_safe=True):
        if seed is None:
            seed = int(np.random.SeedSequence([state.config.seed, state.native_rngs]).generate_state(1)[0])
        state.native_rngs += 1
        super().__init__(seed=seed, parallel_safe=parallel_safe)
