"""pynn.brainscales2's injected configuration and readout: what a script writes and reads
around — and inside — the experiment, translated at this edge.

Honoured: the writes before the static configuration (``pre_non_realtime``,
``pre_static_config``) of the containers a ``lola.Chip`` holds; the writes inside the
realtime section — ``inside_realtime``, a ``sta.AbsoluteTimePlaybackProgramBuilder`` whose
times (``hal.Timer.Value``, FPGA cycles at 125 MHz) count from the start of the run's last
snippet, as grenade places the hook, and ``pre_realtime`` and ``inside_realtime_begin``,
written before the run's first event — as timed writes of the run
(``bss2emu.pynn.timed_writes``): ``lola.SynapseWeightRow`` at ``halco.SynapseWeightRowOnDLS``
(weights), ``lola.SynapseLabelRow`` at ``halco.SynapseLabelRowOnDLS`` (a connection's own
label connects it, another disconnects it) and ``lola.AtomicNeuron`` at
``halco.AtomicNeuronOnDLS`` (neuron parameters); and the post-realtime reads of the synapse
arrays. Everything else is refused by name with the closest supported way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..protocol import atomic_neuron as A
from ..protocol import coordinates as C
from ..pynn.timed_writes import NeuronCircuitWrite, SynapseLabelsWrite, SynapseWeightsWrite
from ..units import ticks_to_us, us_to_ticks


def _absolute_time_builder():
    from ..stack import stadls

    return stadls.AbsoluteTimePlaybackProgramBuilder()


@dataclass
class InjectedConfiguration:
    """Configuration written around the experiment (pynn.brainscales2's sections: a dict
    coordinate → container or a ``sta.PlaybackProgramBuilder`` each; ``inside_realtime`` a
    ``sta.AbsoluteTimePlaybackProgramBuilder``). bss2emu honours the writes before the static
    configuration of the containers a ``lola.Chip`` holds (``pre_non_realtime``, and
    ``pre_static_config`` as scripts built for grenade's hook of that name set it), the
    synapse weight rows and neurons written inside the realtime section (``inside_realtime``
    at their times, ``pre_realtime`` and ``inside_realtime_begin`` at the run's start), and
    the other sections
    when empty (see the module)."""

    pre_non_realtime: dict = field(default_factory=dict)
    pre_static_config: dict = field(default_factory=dict)
    pre_realtime: dict = field(default_factory=dict)
    inside_realtime_begin: dict = field(default_factory=dict)
    inside_realtime: object = field(default_factory=_absolute_time_builder)
    inside_realtime_end: dict = field(default_factory=dict)
    post_realtime: dict = field(default_factory=dict)
    ppu_symbols: dict = field(default_factory=dict)


@dataclass
class InjectedReadout:
    """Coordinates read around the experiment (pynn.brainscales2's sections)."""

    pre_realtime: set = field(default_factory=set)
    inside_realtime_begin: set = field(default_factory=set)
    inside_realtime_end: set = field(default_factory=set)
    post_realtime: set = field(default_factory=set)
    ppu_symbols: set = field(default_factory=set)


PRE_STATIC = ("pre_non_realtime", "pre_static_config")  # written before the static configuration
BEFORE_EVENTS = ("pre_realtime", "inside_realtime_begin")  # written before the run's first event
INSIDE_REALTIME = BEFORE_EVENTS + ("inside_realtime",)  # timed writes of the run


def _nonempty_sections(injected, honoured=()) -> list[str]:
    return [name for name, value in vars(injected).items()
            if name not in honoured and value is not None and not _empty(value)]


def _empty(value) -> bool:
    if isinstance(value, dict):
        return not value
    empty = getattr(value, "empty", None)
    return bool(empty()) if callable(empty) else not value


def check_injected(injected_config, injected_readout, where: str) -> None:
    """Refuse injected sections bss2emu does not honour (at ``setup``, and again at every
    run: a script may fill a builder it injected empty)."""
    for name in ("injected_config", "injected_readout"):
        injected = injected_config if name == "injected_config" else injected_readout
        sections = [] if injected is None else _nonempty_sections(
            injected, PRE_STATIC + INSIDE_REALTIME if name == "injected_config" else ("post_realtime",))
        if sections:
            raise ConfigError(f"{where}: {name}'s injected sections {', '.join(sections)} are "
                              f"not emulated yet (writes and reads of halco/haldls containers around the "
                              f"experiment); configure neurons through HXNeuron parameters or initial_config, change "
                              f"weights inside the run with injected_config.inside_realtime (synapse weight rows at "
                              f"their times), between runs (Projection.set, RunCommand.APPEND) or with a plasticity "
                              f"rule, and run low-level playback programs with bss2emu.stack's stadls")


def pre_static_chip(injected, initial):
    """The chip the static configuration starts from: ``initial`` — the static configuration
    writes the whole chip after the pre-static sections, as grenade orders them — or, without
    it, a ``lola.Chip`` with the sections' writes applied (``sta.convert_to_chip``). A write
    of a container a ``lola.Chip`` does not hold is refused, naming it."""
    from ..stack import stadls

    writes = []
    for name in PRE_STATIC:
        writes += _section_writes(injected, name, f"setup(injected_config=...) section {name}")
    if not writes:
        return initial
    chip_types = ("AtomicNeuronOnDLS", "NeuronConfigOnDLS", "CommonNeuronBackendConfigOnDLS", "CADCOnDLS")
    other = sorted({type(coord).__name__ for coord, _ in writes}.difference(chip_types))
    if other:
        raise ConfigError(f"setup(injected_config=...): writes to {', '.join(other)} before the static configuration "
                          f"are not emulated (bss2emu's chip holds {', '.join(chip_types)}); leave them out or "
                          f"configure through initial_config")
    return initial if initial is not None else stadls.convert_to_chip(writes)


def _section_writes(injected, name: str, where: str) -> list:
    """The (coordinate, container) writes of a dict or ``PlaybackProgramBuilder`` section."""
    from ..stack import stadls

    value = getattr(injected, name, None)
    if value is None or _empty(value):
        return []
    if isinstance(value, dict):
        return list(value.items())
    return stadls.writes_of(value, where=where)


def realtime_writes(injected, first_ms: float, last_ms: float, end_ms: float, us_per_ms: float,
                    chip_config) -> list:
    """The timed writes (``bss2emu.pynn.timed_writes``) of one execution from ``first_ms`` to
    ``end_ms`` whose last snippet starts at ``last_ms`` (times of the view): the
    ``pre_realtime`` and ``inside_realtime_begin`` writes at its start, the
    ``inside_realtime`` builder's writes at ``last_ms`` + their time. ``chip_config``: the
    ``lola.Chip`` runs start from (its common neuron backends' refractory clocks translate
    AtomicNeurons). A write at or after the end is refused, naming its time and the end."""
    from ..stack import stadls

    if injected is None:
        return []
    out = []
    for name in BEFORE_EVENTS:  # before the first event: at the run's start, in grenade's order
        where = f"injected_config.{name}"
        for coord, container in _section_writes(injected, name, where):
            out.append(_translate(float(ticks_to_us(us_to_ticks(first_ms * us_per_ms))), coord, container,
                                  chip_config, where))
    builder = injected.inside_realtime
    if builder is None or _empty(builder):
        return out
    # in whole FPGA cycles: the write lands on the cycle it names, however the view's ms round
    start, end = (int(us_to_ticks(t_ms * us_per_ms)) for t_ms in (last_ms, end_ms))
    for cycles, coord, container in stadls.timed_writes_of(builder, "injected_config.inside_realtime"):
        at = f"injected_config.inside_realtime: the write of {type(container).__name__} to {coord!r} at {cycles} cycles"
        if start + cycles >= end:
            raise ConfigError(f"{at} ({float(ticks_to_us(cycles)):g} µs after the snippet's start) is at or after "
                              f"the run's end ({float(ticks_to_us(end - start)):g} µs, {end - start} cycles, after "
                              f"it): it would act on nothing the run shows; write earlier or run longer")
        out.append(_translate(float(ticks_to_us(start + cycles)), coord, container, chip_config, at))
    return out


def _translate(time_us: float, coord, container, chip_config, where: str):
    """One write of a container at a coordinate as a timed write of the run."""
    from ..stack import haldls as hal
    from ..stack import halco, lola

    synapses = None  # (hemisphere, row, columns) of a synapse row or quad written
    if isinstance(coord, halco.SynapseRowOnDLS) and isinstance(container, (lola.SynapseWeightRow,
                                                                           lola.SynapseLabelRow)):
        synapses = (int(coord.toSynramOnDLS()), int(coord.toSynapseRowOnSynram()),
                    tuple(range(C.COLUMNS_PER_HEMISPHERE)))
    elif isinstance(coord, halco.SynapseQuadOnDLS) and isinstance(container, (hal.SynapseWeightQuad,
                                                                              hal.SynapseLabelQuad)):
        synapses = (int(coord.toSynramOnDLS()), int(coord.toSynapseRowOnSynram()), tuple(coord.columns()))
    if synapses is not None:
        values = tuple(int(v) for v in container.values)
        weights = isinstance(container, (lola.SynapseWeightRow, hal.SynapseWeightQuad))
        return (SynapseWeightsWrite if weights else SynapseLabelsWrite)(time_us, *synapses, values, where)
    if isinstance(coord, (halco.AtomicNeuronOnDLS, halco.NeuronConfigOnDLS)) and \
            isinstance(container, lola.AtomicNeuron):
        hemisphere = int(coord) // C.COLUMNS_PER_HEMISPHERE
        backend = (chip_config or lola.Chip()).neuron_block.backends[halco.CommonNeuronBackendConfigOnDLS(hemisphere)]
        values = A.flat_to_internal(container.to_flat(), clock_scales=(backend.clock_scale_slow,
                                                                       backend.clock_scale_fast), where=where)
        return NeuronCircuitWrite(time_us, int(coord), tuple(sorted(values.items())), where)
    if isinstance(coord, halco.SpikePack1ToChipOnDLS):
        raise ConfigError(f"{where}: spike events written to the chip inside the run are not emulated; give the "
                          f"events as a pynn.cells.SpikeSourceArray population's spike_times, projected onto the "
                          f"neurons they drive")
    raise ConfigError(f"{where}: writing {type(container).__name__} to {type(coord).__name__} inside the run is not "
                      f"emulated; bss2emu changes inside the run lola.SynapseWeightRow at halco.SynapseWeightRowOnDLS "
                      f"and hal.SynapseWeightQuad at halco.SynapseWeightQuadOnDLS (weights), lola.SynapseLabelRow "
                      f"at halco.SynapseLabelRowOnDLS and hal.SynapseLabelQuad at halco.SynapseLabelQuadOnDLS "
                      f"(connections on and off) and lola.AtomicNeuron at halco.AtomicNeuronOnDLS (neuron "
                      f"parameters); change other configuration between snippets (RunCommand.APPEND)")
