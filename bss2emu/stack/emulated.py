"""The emulated chip behind an hxcomm connection: it keeps the configuration written so far
(a ``lola.Chip``) and the chip's running state, and executes playback programs on it.

The chip is wired as the calibration bench wires it for observation: every neuron's spikes
go to the FPGA (recorded with their 8 ns time stamps), nothing routes events onto synapses
(spike input from a playback program is refused; PyNN's spike sources are the supported way).
Between timer waits the configuration written is applied at once; a ``block_until`` runs the
emulation up to the waited-for time, recording spikes and, while the MADC records, the
neuron that has ``readout.enable_buffered_access`` on — while event recording is on (from
the start; ``hal.EventRecordingConfig`` switches it).
"""

from __future__ import annotations

import numpy as np

from ..chip_actor import kernels as K
from ..chip_actor.chip import Chip
from ..errors import ChipError, ConfigError
from ..protocol import coordinates as C
from ..protocol import atomic_neuron as A
from ..protocol.hardware import MADC_SOURCES, ChipConfig
from ..units import NS_PER_TICK
from ..protocol.playback import NeuronParameterWrite
from . import haldls as hal
from . import halco, lola

STADLS_DT_NS = 80  # integration step: a multiple of the 8 ns FPGA tick, as the calibration bench's
_ALL = np.arange(C.NEURONS_PER_CHIP)
# lola's Readout.Source (by value) -> the MADC source code of hardware.MADC_SOURCES
_READOUT_SOURCE_TO_MADC = {i: MADC_SOURCES.index(name) for i, name in enumerate(A.READOUT_SOURCES)}


class EmulatedChip:
    """One emulated chip (``serial``; ``ideal``: without mismatch) that programs run on."""

    def __init__(self, serial: int = 0, ideal: bool = False) -> None:
        self.serial, self.ideal = int(serial), bool(ideal)
        self.reset()

    def reset(self) -> None:
        """Back to the default configuration and time 0 (``sta.ExperimentInit``)."""
        self.config = lola.Chip()
        cfg = ChipConfig()
        cfg.neurons.address_out[:] = _ALL | C.LABEL_NO_TARGET_BIT
        for i in range(C.NEURON_EVENT_OUTPUTS):
            cfg.crossbar.enable[i, C.CROSSBAR_OUTPUT_FPGA + i // 2] = 1
        self.chip = Chip(cfg, serial=self.serial, ideal=self.ideal, dt_ns=STADLS_DT_NS)
        self._applied = None  # neuron values on the chip, None: apply all
        self._dirty = True
        self.madc_recording = False
        self.madc_budget = -1  # samples left in this recording, -1: until stopped
        # the FPGA records spikes and MADC samples while on; on from the start here (the real
        # FPGA's default is off: scripts enable it), an EventRecordingConfig write switches it
        self.event_recording = True
        self.readout_chain = lola.ReadoutChain()
        self.board = None  # the adapter board of sta.SystemInit (its DAC voltages), if any

    # --- writes ----------------------------------------------------------------------------
    def write(self, coord, container) -> None:
        """Apply one write of a playback program now."""
        if isinstance(coord, (halco.AtomicNeuronOnDLS, halco.NeuronConfigOnDLS)):
            if not isinstance(container, lola.AtomicNeuron):
                raise ConfigError(f"write to {coord!r}: give a lola.AtomicNeuron (bss2emu configures neurons "
                                  f"through lola; haldls NeuronConfig writes are not emulated)")
            self.config.neuron_block.atomic_neurons[int(coord)] = container
            self._dirty = True
        elif isinstance(coord, halco.CommonNeuronBackendConfigOnDLS):
            self.config.neuron_block.backends[coord] = container
            self._dirty = True
        elif isinstance(coord, halco.NeuronBlockOnDLS):
            self.config.neuron_block = container
            self._dirty = True
        elif isinstance(coord, halco.SynapseRowOnDLS) and isinstance(container, lola.SynapseWeightRow):
            self._set_weights(coord, np.arange(C.COLUMNS_PER_HEMISPHERE), container.values)
        elif isinstance(coord, halco.SynapseQuadOnDLS) and isinstance(container, hal.SynapseWeightQuad):
            self._set_weights(coord, np.asarray(coord.columns()), [int(v) for v in container.values])
        elif isinstance(coord, (halco.SynapseRowOnDLS, halco.SynapseQuadOnDLS)) and \
                isinstance(container, (lola.SynapseLabelRow, hal.SynapseLabelQuad)):
            columns = coord.columns() if isinstance(coord, halco.SynapseQuadOnDLS) else slice(None)
            labels = self.config.synapse_blocks[coord.toSynramOnDLS()].matrix.labels
            labels[int(coord.toSynapseRowOnSynram()), columns] = [int(v) for v in container.values]
        elif isinstance(coord, halco.MADCControlOnDLS):
            if container.start_recording:
                self.madc_recording = True
                n = self.readout_chain.madc.number_of_samples
                self.madc_budget = n if n > 0 and not container.enable_continuous_sampling else -1
            if container.stop_recording:
                self.madc_recording = False
        elif isinstance(coord, halco.ReadoutChainOnDLS):
            if not isinstance(container, lola.ReadoutChain):
                raise ConfigError(f"write to {coord!r}: give a lola.ReadoutChain")
            self.readout_chain = container
        elif isinstance(coord, halco.SpikePack1ToChipOnDLS):
            raise ChipError("spike input from a playback program is not emulated (bss2emu's stack layer routes "
                            "no events onto synapses); use pynn_brainscales.brainscales2's SpikeSourceArray")
        elif isinstance(coord, halco.EventRecordingConfigOnFPGA):
            self.event_recording = bool(container.enable_event_recording)
        elif isinstance(coord, halco.MADCConfigOnDLS):
            self.readout_chain.madc.number_of_samples = int(container.number_of_samples)
        elif isinstance(coord, halco.SystimeSyncOnFPGA):
            pass  # time stamps count from the program's start already
        elif isinstance(coord, halco.CapMemCellOnDLS):
            raise ConfigError("writing a CapMemCell is not emulated: bss2emu's CapMem holds the neurons' parameters, "
                              "written through lola.AtomicNeuron at halco.AtomicNeuronOnDLS (its fields are the "
                              "neuron's CapMem cells); global CapMem cells (readout and synapse biases) are not "
                              "emulated, leave their writes out")
        else:
            raise ConfigError(f"writing {type(container).__name__} to {coord!r} is not emulated; bss2emu's "
                              f"playback programs write AtomicNeurons, common neuron backends, synapse weight "
                              f"and label rows and quads, the timer, MADC control and configuration, readout "
                              f"chains and event recording")

    def _set_weights(self, coord, cols: np.ndarray, values) -> None:
        """Weights of a synapse row's (or quad's) columns ``cols``."""
        w = np.asarray(values, dtype=np.int64)
        if w.shape != cols.shape or w.min() < 0 or w.max() > C.WEIGHT_MAX:
            raise ConfigError(f"synapse weights {coord!r}: give {len(cols)} weights 0..{C.WEIGHT_MAX}")
        hem, row = int(coord.toSynramOnDLS()), int(coord.toSynapseRowOnSynram())
        self.config.synapse_blocks[hem].matrix.weights[row, cols] = w
        self.chip.set_weights(np.full_like(cols, hem), np.full_like(cols, row), cols, w)

    def _apply_neurons(self) -> None:
        if not self._dirty:
            return
        values = self.config.neuron_values()
        writes = [NeuronParameterWrite(0, name, _ALL, v.copy()) for name, v in values.items()
                  if self._applied is None or not np.array_equal(self._applied[name], v)]
        if writes:
            self.chip.apply_writes(writes)
        self._applied, self._dirty = values, False

    # --- reads and time --------------------------------------------------------------------
    def read(self, coord):
        """The value a read of ``coord`` returns now."""
        if isinstance(coord, halco.CADCSampleRowOnDLS):
            self._apply_neurons()
            codes = self.chip.membrane_codes().astype(np.int64)
            h = int(coord)
            return hal.CADCSampleRow(codes[h * C.COLUMNS_PER_HEMISPHERE:(h + 1) * C.COLUMNS_PER_HEMISPHERE])
        if isinstance(coord, (halco.AtomicNeuronOnDLS, halco.NeuronConfigOnDLS)):
            return self.config.neuron_block.atomic_neurons[int(coord)]
        if isinstance(coord, halco.CommonNeuronBackendConfigOnDLS):
            return self.config.neuron_block.backends[coord]
        if isinstance(coord, halco.SynapseRowOnDLS):
            row = lola.SynapseWeightRow()
            row.values = self.config.synapse_blocks[coord.toSynramOnDLS()].matrix.weights[
                int(coord.toSynapseRowOnSynram())].copy()
            return row
        raise ConfigError(f"reading {coord!r} is not emulated; bss2emu reads CADCSampleRowOnDLS (membranes), "
                          f"AtomicNeuronOnDLS, CommonNeuronBackendConfigOnDLS and synapse weight rows")

    @property
    def time_ns(self) -> int:
        return self.chip.time_ns

    def _madc_channels(self) -> list[tuple[int, int]]:
        """The MADC's channels in sampling order: ``(circuit, source code)`` each."""
        if not self.madc_recording:
            return []
        neurons = self.config.neuron_block.atomic_neurons
        on = [i for i, n in enumerate(neurons) if n.readout.enable_buffered_access]
        mux = self.readout_chain.dynamic_mux
        length, first = int(mux.input_select_length), int(mux.initially_selected_input)
        if length > 1 or first not in (0, 1):
            raise ChipError(f"readout_chain.dynamic_mux input_select_length={length}, initially_selected_input="
                            f"{first}: the emulated MADC switches every sample (1) or not at all (0), starting at "
                            f"input 0 or 1; use one of these")
        limit = 2 if length == 1 else 1
        if len(on) > limit:
            raise ChipError(f"neurons {on[:4]} all connect to the MADC's readout line "
                            f"(readout.enable_buffered_access): enable it for one neuron at a time, or for two (one "
                            f"in an even, one in an odd column) with readout_chain.dynamic_mux.input_select_length = 1")
        if len(on) == 2:
            # channel c reads the column parity that input_mux[c] selects
            odd_first = bool(self.readout_chain.input_mux[halco.SourceMultiplexerOnReadoutSourceSelection(0)]
                             .neuron_odd)
            on = sorted(on, key=lambda i: (i % C.COLUMNS_PER_HEMISPHERE) % 2 != odd_first)
            if first == 1:
                on = on[::-1]
        return [(n, _READOUT_SOURCE_TO_MADC[int(neurons[n].readout.source)]) for n in on]

    def advance_to(self, t_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Run until ``t_ns`` (chip time, rounded up to the step): returns spikes (ticks,
        circuit) and MADC samples (ticks, 10-bit value, channel) of that stretch."""
        self._apply_neurons()
        steps = int(-(-(int(t_ns) - self.chip.time_ns) // STADLS_DT_NS))
        empty = np.zeros(0, np.int64)
        if steps <= 0:
            return empty, empty, empty, empty, empty
        external = self.madc_recording and self.readout_chain.reads_debug_line()
        channels = [] if external else self._madc_channels()
        ro = self.chip.config.readout
        (ro.madc_neuron, ro.madc_source), (ro.madc_second_neuron, ro.madc_second_source) = \
            (channels + [(-1, 0), (-1, 0)])[:2]
        self.chip.config.check()  # two channels: one even, one odd column
        k0 = self.chip.step
        try:
            out = self.chip.run_window(k0, steps, *Chip.no_events())
        finally:
            ro.madc_neuron = ro.madc_second_neuron = -1
        ticks = out.spikes.column("time_ticks").to_numpy().astype(np.int64)
        circuits = out.spikes.column("label").to_numpy().astype(np.int64) & (C.LABEL_NO_TARGET_BIT - 1)
        if external:  # the debug line: one sample of the board DAC's voltage per step
            volts = self.board.dac_channel_block.get_voltage(halco.DACChannelOnBoard.mux_dac_25) if self.board else 0.0
            madc_t = (k0 + np.arange(steps)) * STADLS_DT_NS // NS_PER_TICK
            madc_v = np.full(steps, int(K.adc_codes(volts * 1e3, C.MADC_BITS)))
            madc_c = np.zeros(steps, np.int64)
        else:
            madc_t = out.madc.column("time_ticks").to_numpy().astype(np.int64)
            madc_v = out.madc.column("value").to_numpy(zero_copy_only=False)
            madc_v = np.nan_to_num(madc_v.astype(float)).astype(np.int64)  # (a synaptic input has no codes)
            madc_c = (out.madc.column("neuron").to_numpy() != (channels[0][0] if channels else -1)).astype(np.int64)
        if self.madc_budget >= 0:  # a recording of number_of_samples ends by itself
            madc_t, madc_v, madc_c = madc_t[:self.madc_budget], madc_v[:self.madc_budget], madc_c[:self.madc_budget]
            self.madc_budget -= len(madc_t)
            if self.madc_budget == 0:
                self.madc_recording = False
        if not self.event_recording:  # taken, but not recorded by the FPGA
            return empty, empty, empty, empty, empty
        return ticks, circuits, madc_t, madc_v, madc_c


__all__ = ["EmulatedChip", "STADLS_DT_NS"]
