"""stadls (``sta``): playback programs — the real stack's ``PlaybackProgramBuilder`` (``write``,
``read`` → ticket, ``block_until``, ``done``) and ``run(connection, program)`` — executed
on the emulated chip of an ``hxcomm`` connection (``bss2emu.stack.emulated``).

>>> from bss2emu.stack import halco, haldls as hal, hxcomm, lola, stadls as sta
>>> neuron = lola.AtomicNeuron()
>>> neuron.leak.v_leak, neuron.leak.i_bias = 800, 500
>>> builder = sta.PlaybackProgramBuilder()
>>> builder.write(halco.AtomicNeuronOnDLS(7), neuron)
>>> builder.write(halco.TimerOnDLS(), hal.Timer())
>>> builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(50 * int(hal.Timer.Value.fpga_clock_cycles_per_us)))
>>> ticket = builder.read(halco.CADCSampleRowOnDLS(0))
>>> program = builder.done()
>>> with hxcomm.ManagedConnection() as connection:
...     sta.run(connection, program)
>>> code = int(ticket.get().causal[7])   # leak 800 LSB ≈ 624 mV on the 8-bit 0..1200 mV CADC
>>> 122 < code < 144, program.spikes.size
(True, 0)
"""

from __future__ import annotations

import copy
import pickle

import numpy as np

from ..errors import ConfigError
from ..units import NS_PER_TICK
from . import haldls as hal
from . import halco, lola

SPIKE_DTYPE = np.dtype([("label", np.int64), ("fpga_time", np.int64), ("chip_time", np.int64)])
MADC_DTYPE = np.dtype([("value", np.int64), ("channel", np.int64), ("fpga_time", np.int64), ("chip_time", np.int64)])


class Samples(np.ndarray):
    """Recorded spikes or MADC samples: a structured array, ``to_numpy()`` as the real one."""

    def to_numpy(self) -> np.ndarray:
        return np.asarray(self)


def _samples(n: int, dtype) -> Samples:
    return np.zeros(n, dtype).view(Samples)


class ContainerTicket:
    """What a ``read`` returns: ``get()`` gives the container once the program has run."""

    def __init__(self, coord) -> None:
        self.coord = coord
        self._value = None
        self._done = False

    def valid(self) -> bool:
        return self._done

    def get(self):
        if not self._done:
            raise ConfigError(f"the read of {self.coord!r} has no value yet: run the program first "
                              f"(sta.run(connection, builder.done()))")
        return self._value


PlaybackProgram_ContainerTicket = ContainerTicket


class PlaybackProgram:
    """A finished program: its instructions, and after ``run`` the recorded ``spikes`` and
    ``madc_samples`` (structured arrays with the real field names; times in FPGA cycles)."""

    def __init__(self, instructions: list) -> None:
        self._instructions = instructions
        self.spikes = _samples(0, SPIKE_DTYPE)
        self.madc_samples = _samples(0, MADC_DTYPE)
        self.highspeed_link_notifications = []
        self.run_time_ns = 0

    def empty(self) -> bool:
        return not self._instructions


class PlaybackProgramBuilder:
    """Collects writes, reads and timer waits in order; ``done()`` gives the program."""

    def __init__(self) -> None:
        self._instructions: list = []

    def write(self, coord, container, backend=None) -> None:
        if isinstance(coord, halco.LogicalNeuronOnDLS):  # a logical neuron: one write per circuit
            for atom, neuron in container.atomic_neurons(coord):
                self.write(atom, neuron, backend)
            return
        if not isinstance(coord, halco._Coordinate):
            raise ConfigError(f"write({coord!r}, …): the first argument is a halco coordinate "
                              f"(e.g. halco.AtomicNeuronOnDLS(0))")
        self._instructions.append(("write", coord, copy.deepcopy(container)))

    def read(self, coord, backend=None) -> ContainerTicket:
        ticket = ContainerTicket(coord)
        self._instructions.append(("read", coord, ticket))
        return ticket

    def block_until(self, coord, value) -> None:
        """Wait until the timer (``halco.TimerOnDLS``) reads ``value`` FPGA cycles."""
        if not isinstance(coord, halco.TimerOnDLS):
            raise ConfigError(f"block_until({coord!r}, …) is not emulated: bss2emu waits on the timer "
                              f"(halco.TimerOnDLS()) only; barriers complete at once")
        self._instructions.append(("wait", int(hal.Timer.Value(value))))

    wait_until = block_until

    def merge_back(self, other: "PlaybackProgramBuilder") -> None:
        self._instructions.extend(other._instructions)
        other._instructions = []

    def copy_back(self, other: "PlaybackProgramBuilder") -> None:
        self._instructions.extend(copy.deepcopy(other._instructions))

    def empty(self) -> bool:
        return not self._instructions

    def done(self) -> PlaybackProgram:
        program = PlaybackProgram(self._instructions)
        self._instructions = []
        return program

    def __add__(self, other: "PlaybackProgramBuilder") -> "PlaybackProgramBuilder":
        out = PlaybackProgramBuilder()
        out._instructions = self._instructions + other._instructions
        return out


class AbsoluteTimePlaybackProgramBuilder:
    """Commands at absolute times (``hal.Timer.Value``: FPGA cycles, 125 per µs) — the real
    stack's ``AbsoluteTimePlaybackProgramBuilder``: ``write(time, coord, container)``,
    ``read(time, coord)`` → ticket, ``merge``/``copy`` another, ``+= offset`` and ``*=
    factor`` on all times, ``done()`` → a ``PlaybackProgramBuilder`` that waits on the timer
    for each command in time order (commands of equal time in the order given). Injected as
    pynn.brainscales2's ``InjectedConfiguration.inside_realtime``, its writes act at their
    time inside the run (``bss2emu.brainscales2``).

    >>> from bss2emu.stack import halco, haldls as hal, lola, stadls as sta
    >>> builder = sta.AbsoluteTimePlaybackProgramBuilder()
    >>> builder.write(hal.Timer.Value(250), halco.SynapseWeightRowOnDLS(3), lola.SynapseWeightRow())
    >>> builder += hal.Timer.Value(125)
    >>> [(int(t), type(c).__name__) for t, c, _ in sta.timed_writes_of(builder, "example")]
    [(375, 'SynapseRowOnDLS')]
    """

    def __init__(self) -> None:
        self._commands: list[tuple[int, str, object, object]] = []  # (cycles, "write"/"read", coord, payload)

    def write(self, time, coord, container, reference=None) -> None:
        """Write ``container`` to ``coord`` at ``time`` FPGA cycles (``reference``: the real
        stack's differential write; bss2emu writes the whole container either way)."""
        if not isinstance(coord, halco._Coordinate):
            raise ConfigError(f"write({time!r}, {coord!r}, …): the second argument is a halco coordinate "
                              f"(e.g. halco.SynapseWeightRowOnDLS(0))")
        self._commands.append((int(hal.Timer.Value(time)), "write", coord, copy.deepcopy(container)))

    def read(self, time, coord) -> ContainerTicket:
        """Read ``coord`` at ``time`` FPGA cycles: a ticket, valid once the program ran."""
        ticket = ContainerTicket(coord)
        self._commands.append((int(hal.Timer.Value(time)), "read", coord, ticket))
        return ticket

    def merge(self, other: "AbsoluteTimePlaybackProgramBuilder") -> None:
        """Take ``other``'s commands (``other`` is left empty)."""
        self._commands.extend(other._commands)
        other._commands = []

    def copy(self, other: "AbsoluteTimePlaybackProgramBuilder") -> None:
        """Add copies of ``other``'s commands (``other`` stays as it is); as on the real
        stack, a builder with reads cannot be copied (a ticket belongs to one read)."""
        if not other.is_write_only():
            raise ConfigError("copying an AbsoluteTimePlaybackProgramBuilder with reads is invalid (a read's ticket "
                              "belongs to one program): merge it instead, or copy a builder of writes only")
        self._commands.extend(copy.deepcopy(other._commands))

    def empty(self) -> bool:
        return not self._commands

    def is_write_only(self) -> bool:
        return all(kind == "write" for _, kind, _, _ in self._commands)

    def __iadd__(self, offset) -> "AbsoluteTimePlaybackProgramBuilder":
        shift = int(hal.Timer.Value(offset))
        self._commands = [(int(hal.Timer.Value(t + shift)), *rest) for t, *rest in self._commands]
        return self

    def __add__(self, offset) -> "AbsoluteTimePlaybackProgramBuilder":
        out = AbsoluteTimePlaybackProgramBuilder()
        out.copy(self)
        out += offset
        return out

    def __imul__(self, factor: float) -> "AbsoluteTimePlaybackProgramBuilder":
        self._commands = [(int(hal.Timer.Value(round(t * float(factor)))), *rest) for t, *rest in self._commands]
        return self

    def __mul__(self, factor: float) -> "AbsoluteTimePlaybackProgramBuilder":
        out = AbsoluteTimePlaybackProgramBuilder()
        out.copy(self)
        out *= factor
        return out

    def _sorted(self) -> list:
        return sorted(self._commands, key=lambda command: command[0])  # stable: equal times keep their order

    def done(self) -> PlaybackProgramBuilder:
        """A ``PlaybackProgramBuilder`` that restarts the timer and, in time order, waits
        until each command's time and executes it (this builder is left empty). The real
        stack waits until one cycle before and the command reaches the chip a cycle later;
        the emulated chip applies it at its time."""
        out = PlaybackProgramBuilder()
        out.write(halco.TimerOnDLS(), hal.Timer())
        for t, kind, coord, payload in self._sorted():
            out.block_until(halco.TimerOnDLS(), hal.Timer.Value(t))
            out._instructions.append((kind, coord, payload))
        self._commands = []
        return out

    def __str__(self) -> str:
        return "\n".join(f"{t} cycles: {kind} {coord!r}" + (f" {type(p).__name__}" if kind == "write" else "")
                         for t, kind, coord, p in self._sorted())


def timed_writes_of(builder: AbsoluteTimePlaybackProgramBuilder, where: str) -> list[tuple[int, object, object]]:
    """The (FPGA cycles, coordinate, container) writes of an absolute-time builder in time
    order (the builder is left as it was); a read in it is refused, naming ``where``."""
    if not isinstance(builder, AbsoluteTimePlaybackProgramBuilder):
        raise ConfigError(f"{where}: give a sta.AbsoluteTimePlaybackProgramBuilder (writes at absolute times), "
                          f"not {type(builder).__name__}")
    if not builder.is_write_only():
        raise ConfigError(f"{where} holds reads, which bss2emu does not emulate inside the realtime section; read "
                          f"after the run with InjectedReadout(post_realtime=...) and get_post_realtime_read()")
    return [(t, coord, copy.deepcopy(payload)) for t, _, coord, payload in builder._sorted()]


class DumperDone:
    """The writes a dumper collected, as (coordinate, container) pairs (``tolist()``)."""

    def __init__(self, values=None) -> None:
        self.values = list(values or [])

    def tolist(self) -> list:
        return list(self.values)


class PlaybackProgramBuilderDumper(PlaybackProgramBuilder):
    """Collects writes without running them; ``done()`` gives them as a ``DumperDone``."""

    def done(self) -> DumperDone:
        return DumperDone((c, v) for kind, c, v, *_ in self._instructions if kind == "write")


def writes_of(builder: PlaybackProgramBuilder, where: str) -> list:
    """The (coordinate, container) writes of a builder that holds writes only (left as it
    was); a read or wait in it is refused, naming ``where``."""
    if not isinstance(builder, PlaybackProgramBuilder):
        raise ConfigError(f"{where}: give a dict coordinate → container or a sta.PlaybackProgramBuilder, not "
                          f"{type(builder).__name__} (writes at times belong in inside_realtime, an "
                          f"AbsoluteTimePlaybackProgramBuilder)")
    kinds = sorted({kind for kind, *_ in builder._instructions} - {"write"})
    if kinds:
        raise ConfigError(f"{where} holds {', '.join(kinds)} instructions where only writes are taken: leave them "
                          f"out, or run them in a stadls program of your own")
    return [(c, copy.deepcopy(v)) for _, c, v, *_ in builder._instructions]


_PORTABLE = "bss2emu-cocolist"


def to_portablebinary(obj) -> bytes:
    """A ``DumperDone`` (or a ``lola.Chip``'s neuron block and CADC readout chains) as bytes — bss2emu's format for
    the real stack's portable-binary coco lists (``*.pbin``)."""
    if isinstance(obj, lola.Chip):
        dumper = PlaybackProgramBuilderDumper()
        for coord in halco.iter_all(halco.CommonNeuronBackendConfigOnDLS):
            dumper.write(coord, obj.neuron_block.backends[coord])
        for coord in halco.iter_all(halco.AtomicNeuronOnDLS):
            dumper.write(coord, obj.neuron_block.atomic_neurons[coord])
        for coord in halco.iter_all(halco.CADCOnDLS):  # (the correlation sensors' currents)
            dumper.write(coord, obj.cadc_readout_chains[coord])
        obj = dumper.done()
    if not isinstance(obj, DumperDone):
        raise ConfigError(f"to_portablebinary({type(obj).__name__}): give a DumperDone or a lola.Chip")
    return pickle.dumps((_PORTABLE, 1, obj.values))


def from_portablebinary(dumper: DumperDone, data: bytes) -> None:
    """Fill ``dumper`` with the writes of bytes made by ``to_portablebinary``."""
    try:
        tag, version, values = pickle.loads(data)
        if tag != _PORTABLE or version != 1:
            raise ValueError
    except Exception:  # noqa: BLE001 - any undecodable input is the same user error
        raise ConfigError("these bytes are not a bss2emu coco list: a portable binary of the real stack cannot be "
                          "read by bss2emu; make the file with bss2emu (sta.to_portablebinary, or the nightly "
                          "calibration of calix.nightly_chip())") from None
    dumper.values = list(values)


class ExperimentInit:
    """Initialisation of the chip for an experiment: on bss2emu, back to the defaults."""

    def generate(self) -> tuple[PlaybackProgramBuilder, None]:
        builder = PlaybackProgramBuilder()
        builder._instructions.append(("reset",))
        return builder, None


class _DACChannelBlock:
    """The board's DAC channels (volts), e.g. ``set_voltage(halco.DACChannelOnBoard.mux_dac_25, 0.5)``."""

    def __init__(self) -> None:
        self.voltages: dict[int, float] = {}

    def set_voltage(self, channel, voltage: float) -> None:
        v = float(voltage)
        if not 0.0 <= v <= hal.BOARD_DAC_MAX_V:
            raise ConfigError(f"board DAC voltage {v} V is out of range 0..{hal.BOARD_DAC_MAX_V} V")
        self.voltages[int(halco.DACChannelOnBoard(channel))] = v

    def get_voltage(self, channel) -> float:
        return self.voltages.get(int(halco.DACChannelOnBoard(channel)), 0.0)


class _AdapterBoard:
    def __init__(self) -> None:
        self.shift_register = hal.ShiftRegister()
        self.dac_channel_block = _DACChannelBlock()


class SystemInit(ExperimentInit):
    """Initialisation of the whole setup, with the board's adapter (shift register, DAC
    voltages that can drive the readout pads)."""

    def __init__(self, hwdb_entry=None) -> None:
        self.asic_adapter_board = _AdapterBoard()

    def generate(self) -> tuple[PlaybackProgramBuilder, None]:
        builder, _ = super().generate()
        builder._instructions.append(("board", copy.deepcopy(self.asic_adapter_board)))
        return builder, None


def generate(init: ExperimentInit) -> tuple[PlaybackProgramBuilder, None]:
    """``sta.generate(init)``: a builder holding the initialisation."""
    return init.generate()


def run(connection, program: PlaybackProgram) -> None:
    """Execute ``program`` on the connection's emulated chip (``hxcomm.ManagedConnection``)."""
    chip = getattr(connection, "emulated_chip", None)
    if chip is None:
        raise ConfigError(f"sta.run: {type(connection).__name__} is not a bss2emu connection; open one with "
                          f"hxcomm.ManagedConnection()")
    programs = program if isinstance(program, (list, tuple)) else [program]
    for prog in programs:
        _execute(chip, prog)


def _execute(chip, program: PlaybackProgram) -> None:
    t_start = chip.time_ns
    timer_base = t_start
    spikes, madc = [], []
    for ins in program._instructions:
        kind = ins[0]
        if kind == "write":
            _, coord, container = ins
            if isinstance(coord, halco.TimerOnDLS):
                timer_base = chip.time_ns
            else:
                chip.write(coord, container)
        elif kind == "read":
            _, coord, ticket = ins
            if isinstance(coord, halco.TimerOnDLS):
                value = hal.Timer(value=(chip.time_ns - timer_base) // NS_PER_TICK)
            else:
                value = copy.deepcopy(chip.read(coord))
            ticket._value, ticket._done = value, True
        elif kind == "wait":
            st, sc, mt, mv, mc = chip.advance_to(timer_base + ins[1] * NS_PER_TICK)
            spikes.append((st, sc))
            madc.append((mt, mv, mc))
        elif kind == "reset":
            chip.reset()
            t_start = timer_base = chip.time_ns
        elif kind == "board":
            chip.board = ins[1]
    t0_ticks = t_start // NS_PER_TICK
    st = np.concatenate([s[0] for s in spikes]) if spikes else np.zeros(0, np.int64)
    sc = np.concatenate([s[1] for s in spikes]) if spikes else np.zeros(0, np.int64)
    program.spikes = _samples(len(st), SPIKE_DTYPE)
    program.spikes["label"], program.spikes["fpga_time"] = sc, st - t0_ticks
    program.spikes["chip_time"] = st - t0_ticks
    mt = np.concatenate([m[0] for m in madc]) if madc else np.zeros(0, np.int64)
    mv = np.concatenate([m[1] for m in madc]) if madc else np.zeros(0, np.int64)
    program.madc_samples = _samples(len(mt), MADC_DTYPE)
    program.madc_samples["value"], program.madc_samples["fpga_time"] = mv, mt - t0_ticks
    program.madc_samples["chip_time"] = mt - t0_ticks
    program.madc_samples["channel"] = np.concatenate([m[2] for m in madc]) if madc else np.zeros(0, np.int64)
    program.run_time_ns = chip.time_ns - t_start


def convert_to_chip(dumper_done, chip: lola.Chip | None = None) -> lola.Chip:
    """A ``lola.Chip`` with the AtomicNeuron, backend and CADC readout chain writes of a dumper's
    list applied."""
    chip = lola.Chip() if chip is None else copy.deepcopy(chip)
    values = dumper_done.tolist() if isinstance(dumper_done, DumperDone) else dumper_done
    for coord, container in values:
        if isinstance(coord, (halco.AtomicNeuronOnDLS, halco.NeuronConfigOnDLS)):
            chip.neuron_block.atomic_neurons[int(coord)] = container
        elif isinstance(coord, halco.CommonNeuronBackendConfigOnDLS):
            chip.neuron_block.backends[coord] = container
        elif isinstance(coord, halco.CADCOnDLS) and isinstance(container, lola.CADCReadoutChain):
            chip.cadc_readout_chains[coord] = container
    return chip


__all__ = ["PlaybackProgramBuilder", "AbsoluteTimePlaybackProgramBuilder", "PlaybackProgramBuilderDumper",
           "PlaybackProgram", "ContainerTicket", "ExperimentInit", "SystemInit", "generate", "run",
           "convert_to_chip", "DumperDone", "to_portablebinary", "from_portablebinary", "Samples"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("sta", name, __all__)
