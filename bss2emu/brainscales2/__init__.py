"""pynn.brainscales2's API over bss2emu's PyNN backend: ``import bss2emu.brainscales2 as pynn``.

A view of the one backend ``bss2emu.pynn`` also views: the same populations, projections,
translation and execution, with pynn.brainscales2's names (``pynn.cells.HXNeuron``,
``CalibHXNeuronCuba``, ``pynn.synapses.StaticSynapse`` with signed weights, ``RunCommand``,
``logger``, ``helper``) and its time axis — hardware ms: ``pynn.run(0.2)`` emulates 200 µs,
spike times and recorded times are hardware ms, analog recordings are neo
``IrregularlySampledSignal``s (``segments[-1].irregularlysampledsignals``). The view holds no
logic: names and units are translated here and in its cell types, everything else is the
backend's.

>>> import bss2emu.brainscales2 as pynn
>>> pynn.setup()
>>> pop = pynn.Population(1, pynn.cells.HXNeuron(
...     leak_v_leak=1000, leak_i_bias=320, threshold_enable=True, threshold_v_threshold=500,
...     reset_v_reset=400, refractory_period_refractory_time=95))
>>> pop.record(["spikes", "v"])
>>> pynn.run(0.2)  # hardware ms: 200 µs on the chip
0.2
>>> seg = pop.get_data().segments[-1]
>>> len(seg.spiketrains[0]) > 10, float(seg.irregularlysampledsignals[0].times[-1])
(True, 0.2)
>>> pynn.end()
"""

from __future__ import annotations

import logging
import os
from enum import Enum, auto
from typing import Any, NamedTuple

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector, ArrayConnector, CloneConnector, CSAConnector, DisplacementDependentProbabilityConnector,
    DistanceDependentProbabilityConnector, FixedNumberPostConnector, FixedNumberPreConnector,
    FixedProbabilityConnector, FixedTotalNumberConnector, FromFileConnector, FromListConnector,
    IndexBasedProbabilityConnector, OneToOneConnector, SmallWorldConnector,
)
from pyNN.random import NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.space import Space  # noqa: F401

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..units import ticks_to_us
from ..pynn import control, lifecycle, segments, simulator
from ..pynn.plasticity import PlasticityRule as _PlasticityRule
from ..pynn.plasticity import PlasticityRuleHandle, Timer  # noqa: F401 - one implementation
from ..pynn.populations import Assembly, Population, PopulationView  # noqa: F401
from ..pynn import populations  # noqa: F401,E402  (pynn.populations.Population, a module as pynn.brainscales2 has it)
from ..pynn.projections import Projection as _Projection
from . import helper, logger, standardmodels  # noqa: F401
from .injected import InjectedConfiguration, InjectedReadout  # noqa: F401
from .injected import check_injected, pre_static_chip, realtime_writes
from .placement import NeuronPlacement

_log = logging.getLogger("bss2emu.brainscales2")
from . import morphology  # noqa: F401,E402  (pynn.morphology: multi-compartment neurons)
from .standardmodels import cells, synapses  # noqa: F401

US_PER_MS = 1000.0
"""The view's time axis: hardware ms (1000 hardware µs each)."""
DEFAULT_TIMESTEP_MS = 1e-4
"""The emulation step, 0.1 µs hardware (pynn.brainscales2's hardware has none)."""
BSS2EMU_SETUP = ("chips", "system", "placement", "address", "seed", "ideal", "serial", "partitioner", "service",
                 "token")
"""bss2emu's own setup keywords, taken as ``bss2emu.pynn.setup`` takes them."""




def list_standard_models():
    """The cell types of pynn.brainscales2 (``HXNeuron``, ``CalibHXNeuronCuba``, ``CalibHXNeuronCoba``)."""
    return [cells.HXNeuron, cells.CalibHXNeuronCuba, cells.CalibHXNeuronCoba]


class RunCommand(Enum):
    """What ``run`` does: PREPARE (map and calibrate), APPEND (schedule a snippet), EXECUTE."""

    PREPARE = auto()
    APPEND = auto()
    EXECUTE = auto()


def setup(timestep=DEFAULT_TIMESTEP_MS, min_delay="auto", **extra_params):
    """Start a new network (pynn.brainscales2's ``setup``), times in hardware ms.

    Honoured: ``initial_config`` (a chip configuration — ``helper.chip_from_file``/``chip_from_nightly``,
    a calix result's ``.to_chip()`` or the result itself: its neurons' values become the
    ``HXNeuron`` defaults, its CADC readout chains' correlation currents — a calix correlation
    calibration's — the correlation sensors' time constant and amplitude), ``calibration_cache`` (the directory of the calibration store),
    ``neuronPermutation`` (the circuits of the neurons, in creation order), ``injected_config``'s
    writes before the static configuration and inside the realtime section (synapse weight
    rows and neurons at their times: ``injected``) and its other sections and
    ``injected_readout`` when empty,
    ``connection`` (an ``hxcomm`` connection: the emulated chip it is connected to);
    bss2emu's own ``chips``, ``system``, ``placement``, ``address``, ``seed``, ``ideal``,
    ``serial``, ``partitioner`` (as ``bss2emu.pynn.setup``; ``enable_neuron_bypass=True``
    starts from ``lola.Chip.default_neuron_bypass``: every neuron forwards each synaptic event
    as its spike, as pynn.brainscales2 sets it up; ``serial`` and ``ideal`` default to
    the chip ``bss2emu exec --serial/--ideal`` chose, whose nightly calibration ``helper`` loads).
    ``simulator.state.grenade_chip_config`` is the chip configuration runs start from (its
    common neuron backends' clock scales set the refractory clocks). Refused with the reason:
    other injected configuration, injected readout but post-realtime reads of the synapse
    arrays (``get_post_realtime_read``),
    ``backgroundPermutation``, injected calibration targets/options, and any
    other keyword (pynn.brainscales2 raises ``KeyError`` for those too)."""
    extra = dict(extra_params)
    max_delay = extra.pop("max_delay", DEFAULT_MAX_DELAY)
    own = {k: extra.pop(k) for k in BSS2EMU_SETUP if k in extra}
    initial = extra.pop("initial_config", None)
    cache = extra.pop("calibration_cache", None)
    permutation = extra.pop("neuronPermutation", None)
    injected_config = extra.pop("injected_config", None)
    injected_readout = extra.pop("injected_readout", None)
    if extra.pop("enable_neuron_bypass", False):  # as pynn.brainscales2: the bypass chip replaces initial_config
        from ..stack import lola

        if initial is not None:
            _log.info("setup(): Supplied initial_config overwritten by enable_neuron_bypass")
        initial = lola.Chip.default_neuron_bypass
    check_injected(injected_config, injected_readout, "setup")
    post_reads = frozenset(() if injected_readout is None else injected_readout.post_realtime or ())
    _check_post_realtime(post_reads)
    connection = extra.pop("connection", None)
    if connection is not None:  # a connection names the chip: run on it
        if not (hasattr(connection, "serial") and hasattr(connection, "ideal")):
            raise ConfigError(f"setup(connection={connection!r}): not a connection to an emulated chip; open one "
                              f"with hxcomm.ManagedConnection() (bss2emu exec binds dlens_vx_v3.hxcomm) or leave "
                              f"it out")
        own.setdefault("serial", int(connection.serial))
        own.setdefault("ideal", bool(connection.ideal))
    refused = {"backgroundPermutation": "on-chip Poisson sources are placed by bss2emu's routing",
               "injected_calib_target": "CalibHXNeuronCuba/Coba parameters give the calibration targets",
               "injected_calib_options": "bss2emu's calibration has no options to set"}
    for name in list(extra):
        if name in refused:
            raise ConfigError(f"setup({name}=...) is not supported by bss2emu: {refused[name]}")
    if extra:
        raise ConfigError(f"setup(): unknown keyword(s) {', '.join(sorted(extra))}; pynn.brainscales2 takes "
                          f"initial_config, injected_config, injected_readout, calibration_cache, "
                          f"neuronPermutation, enable_neuron_bypass; bss2emu also {', '.join(BSS2EMU_SETUP)}")
    if cache is not None:
        from ..calib.result import ENV_DIR

        os.environ[ENV_DIR] = str(cache)
    chip = initial.to_chip() if initial is not None and hasattr(initial, "to_chip") else initial
    if injected_config is not None:
        chip = pre_static_chip(injected_config, chip)
        # what no run could take is refused now (any 32-bit timer value is within this check's run)
        realtime_writes(injected_config, 0.0, 0.0, float(ticks_to_us(2**32)) / US_PER_MS, US_PER_MS, chip)
    if permutation is not None:
        permutation = [int(n) for n in permutation]
    for key, value in zip(("serial", "ideal"), _chip_identity()):
        own.setdefault(key, value)  # the chip that connections and the nightly calibration use
    common.setup(timestep, min_delay if min_delay != "auto" else timestep)
    control.start(timestep, min_delay, max_delay, us_per_ms=US_PER_MS, record_sample_times=True, **own)
    state = simulator.state
    state.initial_config = chip
    if hasattr(chip, "cadc_readout_chains"):  # a calibrated chip's correlation currents set the sensors
        from ..stack.calix.spiking.correlation import sensor_of_chip

        state.correlation_sensor = sensor_of_chip(chip)
    state.grenade_chip_config = helper.base_chip(chip)
    state.neuron_permutation = permutation
    state.neuron_placement = NeuronPlacement(state)
    state.snippets = []
    state.post_realtime_reads = post_reads
    state.injected = (injected_config, injected_readout)


def _chip_identity() -> tuple[int, bool]:
    """(serial, ideal) of the emulated chip: the stack layer's (``bss2emu exec --serial/--ideal``),
    so that a nightly calibration loaded with ``helper`` fits the chip it configures."""
    try:
        from ..stack.hxcomm import chip_identity
    except ImportError:
        return 0, True
    return chip_identity()


def end():
    """Forget the network (pynn.brainscales2's ``end``)."""
    control.end()


def run(runtime, command: RunCommand = RunCommand.EXECUTE):
    """Run for ``runtime`` hardware ms (``run(0.2)``: 200 µs on the chip) and return the time.

    ``RunCommand.APPEND`` schedules a snippet of ``runtime`` with the network as it is now
    (change parameters or weights before the next one); ``EXECUTE`` runs the snippets
    scheduled (and a last one of ``runtime`` if given) as one experiment, changes between
    them as timed writes, and the injected ``inside_realtime`` writes from the start of its
    last snippet (as grenade places them); ``PREPARE`` places and calibrates the network
    without running it."""
    lifecycle.require_setup("run()")
    state = simulator.state
    if not isinstance(command, RunCommand):
        raise ValueError(f"run(command={command!r}): use pynn.RunCommand.PREPARE, APPEND or EXECUTE")
    if command == RunCommand.PREPARE:
        from ..pynn.experiment import current_translations

        current_translations(state)
        return state.t
    if command == RunCommand.APPEND:
        if runtime is None:
            raise ValueError("run(None, RunCommand.APPEND): appending a configuration that runs for no time is "
                             "forbidden; give the snippet's runtime in hardware ms")
        state.snippets.append(float(runtime))
        segments.append_snippet(state, float(runtime))
        return state.t
    injected_config, injected_readout = getattr(state, "injected", (None, None))
    check_injected(injected_config, injected_readout, "run()")
    if runtime is None and not state.snippets:
        raise ValueError("run(None, RunCommand.EXECUTE): no experiment scheduled for execution yet; schedule one "
                         "with pynn.run(runtime, pynn.RunCommand.APPEND) or give a runtime")
    # this execution's snippets: from first_ms, the last one from last_ms
    first_ms = max(0.0, state.t - sum(state.snippets))
    last_ms = state.t if runtime is not None else state.t - state.snippets[-1]
    end_ms = state.t + (float(runtime) if runtime is not None else 0.0)
    runtimes = state.snippets + ([] if runtime is None else [float(runtime)])
    starts = [end_ms - sum(runtimes[k:]) for k in range(1, len(runtimes))]  # all but the first's
    before = list(state.timed_writes)
    state.timed_writes = before + realtime_writes(injected_config, first_ms, last_ms, end_ms, state.us_per_ms,
                                                  state.grenade_chip_config)
    try:
        if runtime is not None:
            segments.append_snippet(state, float(runtime))
        state.snippets = []
        segments.execute_segment(state)
    except BaseException:  # a failed run leaves no writes for the next one
        state.timed_writes = before
        raise
    state.snippet_starts = state.snippet_starts + starts
    return state.t


run_for = run
_, run_until = common.build_run(simulator)
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
create = common.build_create(Population)
class PlasticityRule(_PlasticityRule):
    """bss2emu.pynn's plasticity rule; ``get_observable_array`` as pynn.brainscales2 returns it."""

    def get_observable_array(self, observable: str) -> list:
        """An ``ObservableArray``'s samples per snippet, as pynn.brainscales2 gives them:
        ``get_observable_array(name)[0][i].data``. The snippets of a segment run as one
        experiment here: one list holds all its samples."""
        return [super().get_observable_array(observable)]


class PlacedConnection(NamedTuple):
    """One synapse of a placed connection (grenade's ``RoutingResult.PlacedConnection``):
    its 6-bit weight, its 6-bit label (the synapse address), its row and its column."""

    weight: int
    label: int
    synapse_row: Any  # halco.SynapseRowOnDLS
    synapse_on_row: Any  # halco.SynapseOnSynapseRow


class Projection(_Projection):
    """bss2emu.pynn's projection; ``get_data`` and ``placed_connections`` as
    pynn.brainscales2 returns them."""

    @property
    def placed_connections(self) -> list[list[PlacedConnection]]:
        """Where the last run placed each connection: per connection, its synapses (one per
        synapse row a weight above 63 spreads over), as pynn.brainscales2 queries grenade's
        routing. On a system of several chips each chip has its own synapse rows: the
        chip is not part of a ``PlacedConnection``, as on the real single-chip stack."""
        from ..pynn.experiment import connection_placement
        from ..stack import halco

        return [[PlacedConnection(w, address, halco.SynapseRowOnDLS(h * C.ROWS_PER_HEMISPHERE + r),
                                  halco.SynapseOnSynapseRow(x))
                 for _, h, r, x, w, address in synapses]
                for synapses in connection_placement(simulator.state, self)]

    def get_data(self, observable: str):
        """A per-synapse observable's samples per snippet, as pynn.brainscales2 gives them:
        ``get_data(name)[0][i].time.value()`` (FPGA cycles) and ``.data`` (a value per
        connection). The snippets of a segment run as one experiment here: one list holds
        all its samples."""
        return [super().get_data(observable)]


connect = common.build_connect(Projection, FixedProbabilityConnector, synapses.StaticSynapse)
set = common.set  # noqa: A001 - PyNN's name
record = common.build_record(simulator)


def preprocess():
    """``run(None, RunCommand.PREPARE)`` (pynn.brainscales2's older name)."""
    return run(None, RunCommand.PREPARE)


def _after_setup(what: str):
    lifecycle.require_setup(what)  # a RuntimeError, as pynn.brainscales2 raises


def get_pre_realtime_read() -> dict:
    """Reads injected before the experiment: none can be injected here (``setup`` refuses
    non-empty ``injected_readout``), so always empty."""
    _after_setup("pre-realtime reads")
    return {}


def _check_post_realtime(coords) -> None:
    from ..stack import halco

    other = sorted({type(c).__name__ for c in coords if not isinstance(c, halco.SynramOnDLS)})
    if other:
        raise ConfigError(f"setup(injected_readout=...): post_realtime reads of {', '.join(other)} are not emulated; "
                          f"bss2emu reads SynramOnDLS (the synapse arrays after the run) there")


def get_post_realtime_read() -> dict:
    """The reads injected after the experiment (``InjectedReadout.post_realtime``), by
    coordinate: for each ``halco.SynramOnDLS`` a ``lola.SynapseMatrix`` with the weights and
    labels as the last run left them (the plasticity rules' writes included) — of chip 0 on a
    system of several chips. Empty without such reads; after the run, until ``reset``/``end``,
    in the in-process placement."""
    state = simulator.state
    _after_setup("post-realtime reads")
    reads = getattr(state, "post_realtime_reads", frozenset())
    if not reads:
        return {}
    if state.emulation is None:
        raise RuntimeError("post-realtime reads are available after pynn.run() (in the in-process placement, the "
                           "default), until pynn.reset() or pynn.end()")
    from ..stack import lola

    weights, addresses = state.emulation.synapses()[0]
    out = {}
    for coord in reads:
        matrix = lola.SynapseMatrix()
        matrix.weights[...], matrix.labels[...] = weights[int(coord)], addresses[int(coord)]
        out[coord] = matrix
    return out


def get_backend_statistics():
    """Placement and routing figures of the last run (bss2emu's mapping statistics)."""
    state = simulator.state
    _after_setup("backend statistics")
    if state.last_experiment is None:
        raise RuntimeError("Backend statistics are only available after first mapping and routing execution, "
                           "which happens in pynn.run().")
    from ..pynn.experiment import backend_statistics

    return backend_statistics(state)


_NOT_EMULATED = {
    "get_post_realtime_read_ppu_symbols": "PPU symbols (programs on the embedded processors written from PyNN) are "
                                          "not emulated yet; use bss2emu experiments with plasticity kernels",
    "get_execution_instance_data": "there is no grenade execution instance: bss2emu's run is "
                                   "simulator.state.last_experiment / .results",
    "SpikeIOCell": "spike I/O through the FPGA's external interfaces is not emulated; use SpikeSourceArray",
    "OffChipSource": "spike I/O through the FPGA's external interfaces is not emulated; use SpikeSourceArray",
}


def __getattr__(name: str):
    """A name of pynn.brainscales2 that this view lacks: say what it is and what to use."""
    if name in _NOT_EMULATED:
        raise AttributeError(f"pynn.{name} is not available in bss2emu.brainscales2: {_NOT_EMULATED[name]}")
    if name.startswith("__"):
        raise AttributeError(name)
    import difflib

    close = difflib.get_close_matches(name, [n for n in globals() if not n.startswith("_")], n=3)
    raise AttributeError(f"bss2emu.brainscales2 has no {name!r}" + (f"; did you mean {', '.join(close)}?" if close
                                                                    else ""))
