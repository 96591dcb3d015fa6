"""``Recorder``: what the emulated chip can record, read back from the last run's results.

Spikes of every neuron are recorded by the FPGA. The MADC reads one analog signal of one
neuron per run, at every step (or every ``sampling_interval``), or of two neurons in columns
of different parity, alternately (each signal then gets every second sample): a membrane
(10 bit), an excitatory or inhibitory synaptic input or an adaptation current
(``MADC_SOURCE``). The CADC samples the membranes of all neurons (8 bit, at most 1.85
MSample/s: a sampling interval of at least 0.6 ms biological; PyNN's default interval, the
time step, becomes 0.6 ms with a ``QuantisationWarning``). So: ``v`` of a single neuron comes
from the MADC, ``v`` of several from the CADC (of two with ``device="madc"``: the MADC's two
channels); ``gsyn_exc``, ``gsyn_inh`` or ``w`` of one or two neurons from the MADC. ``v``
of one neuron recorded besides one such signal comes from the MADC's second channel in
pynn.brainscales2's form (each signal an ``IrregularlySampledSignal`` with its own times, as
the real stack returns them), from the CADC in PyNN's (``AnalogSignal``, one regular grid;
two MADC channels there are NaN at the other channel's samples).

Times are biological ms (= hardware µs), voltages biological mV (hardware mV for the
hardware-unit types). The chip's synaptic input and adaptation become biological units
through the neuron's capacitance: g = g_hw·cm/C_hw (µS), w = w_hw·cm/(10·C_hw) (nA), with
C_hw = 2.3 pF·(setting+1)/64 the nominal capacitance the neuron was given — exact on an
ideal chip; on a mismatched chip the circuit's capacitance deviates (3 % spread), and so
does the reading.
"""

from __future__ import annotations

import neo
import numpy as np
import quantities as pq
from pyNN import recording

from . import simulator
from .exceptions import RecordingError
from .morphology_sites import compartment_columns, is_mc, localized_variables, readout_key


DEVICES = ("madc", "cadc")
"""The analog readouts the emulated chip has (pynn.brainscales2's ``record(..., device=...)``)."""
PADS = ("pad_0", "pad_1", "pad_0_buffered", "pad_1_buffered", "pad_0_unbuffered", "pad_1_unbuffered")
"""The chip's analog output pads (to an oscilloscope): the emulation has no pins."""


def _asked(variable, asked) -> bool:
    """Whether ``get_data`` asks for a recorded ``variable``: by name (a variable without
    location asks for every compartment's), or exactly (``get_data(..., locations=[...])``)."""
    return any(a == variable or (getattr(a, "location", None) is None and getattr(a, "name", a) == variable.name)
               for a in asked)


class Recorder(recording.Recorder):
    _simulator = simulator

    devices: dict

    def set_device(self, variables, device: str | None) -> None:
        """Read ``variables`` with ``device`` ("madc", "cadc"; None: the backend chooses —
        the MADC for one neuron's signal, the CADC for membranes of several)."""
        if device is not None and device not in DEVICES:
            raise RecordingError(device, self.population.celltype, f"device {device!r} is not emulated: use one "
                                                                    f"of {', '.join(DEVICES)}")
        if not hasattr(self, "devices"):
            self.devices = {}
        for var in ([variables] if isinstance(variables, str) else variables):
            if var != "spikes":
                self.devices[var] = device

    def record(self, variables, ids, sampling_interval=None, locations=None):
        if not hasattr(self, "devices"):
            self.devices = {}
        celltype = self.population.celltype
        for var in self._localize_variables(variables, locations):
            if var.name not in celltype.hardware_recordable and var.name in celltype.recordable:
                raise RecordingError(var.name, celltype, "its events never leave the chip (on-chip background "
                                                         "generator)")
        if sampling_interval is not None:
            self.explicit_interval = True  # asked for: not raised to the CADC's rate by itself
            dt = self._simulator.state.dt
            k = sampling_interval / dt
            if abs(k - round(k)) > 1e-6 or round(k) < 1:
                raise ValueError(f"sampling_interval={sampling_interval} ms must be a multiple of the time step "
                                 f"{dt} ms")
        super().record(variables, ids, sampling_interval, locations)

    def _localize_variables(self, variables, locations):
        """PyNN's variables; with ``locations`` (compartment labels of a multi-compartment
        cell type) one per variable and compartment, named ``"<label>.<variable>"``."""
        if locations is None:
            return super()._localize_variables(variables, locations)
        if variables == "all":
            variables = list(self.population.celltype.recordable)
        return [recording.Variable(name=name, location=comp, label=label)
                for name, comp, label in localized_variables(self.population, variables, locations)]

    def _record(self, variable, new_ids, sampling_interval=None):
        if variable.name != "spikes" and sampling_interval is not None:
            self.sampling_interval = float(sampling_interval)

    # --- data of the last run, cut to [recording start, now] ----------------------------
    def _start_ms(self) -> float:
        return float(pq.Quantity(self._recording_start_time).rescale(pq.ms).magnitude)

    def _data(self) -> dict:
        return getattr(self.population, "_data", None) or {}

    def _get_spiketimes(self, ids, clear=False):
        trains = self._data().get("spikes")
        t0, t1 = self._start_ms(), self._simulator.state.t
        out = {}
        for cell in ids:
            i = self.population.id_to_index(cell)
            t = np.zeros(0) if trains is None else trains[i]
            if trains is not None and is_mc(self.population):  # a logical neuron's soma (compartment 0)
                t = np.sort(np.concatenate([trains[c] for c in compartment_columns(self.population, i, None)]))
            out[int(cell)] = t[(t >= t0) & (t <= t1 + 1e-9)]
        return out

    def _get_all_signals(self, variable, ids, clear=False):
        signal = self._data().get(variable.name)
        if signal is None or not len(ids):
            return np.zeros((0, len(ids))), None
        times, values, index = signal  # sample times (ms), (samples, neurons), population index → column
        keep = (times >= self._start_ms() - 1e-9) & (times <= self._simulator.state.t + 1e-9)
        cols = [index[readout_key(self.population, self.population.id_to_index(cell), variable.location)]
                for cell in ids]
        out = values[keep][:, cols]
        if self.record_times:  # one IrregularlySampledSignal per neuron (pynn.brainscales2's form)
            return out, np.repeat(times[keep][:, None], len(cols), axis=1)
        return out, None

    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        """PyNN's segment; with ``record_times`` (pynn.brainscales2's form) every recorded
        neuron's analog signal is its own ``IrregularlySampledSignal`` (PyNN 0.13 indexes the
        sample times by population index there, which fails for a subset of neurons). Spikes
        recorded at a compartment (``record("spikes", locations=[...])``) are spike trains
        annotated with the compartment's ``location`` label."""
        chosen = [v for v in self.recorded if variables == "all" or _asked(v, variables)]
        located = [v for v in chosen if v.name == "spikes" and v.location is not None]
        chosen = [v for v in chosen if v not in located]
        if not self.record_times:
            segment = super()._get_current_segment(filter_ids, chosen, clear)
        else:
            segment = self._signals_segment(filter_ids, chosen, clear)
        for variable in located:
            self._add_compartment_spikes(segment, variable, filter_ids)
        return segment

    def _add_compartment_spikes(self, segment, variable, filter_ids) -> None:
        trains = self._data().get("spikes")
        t0, t1 = self._start_ms(), self._simulator.state.t
        for cell in sorted(self.filter_recorded(variable, filter_ids)):
            i = self.population.id_to_index(cell)
            cols = compartment_columns(self.population, i, variable.location)
            t = np.sort(np.concatenate([trains[c] for c in cols])) if trains is not None else np.zeros(0)
            train = neo.SpikeTrain(t[(t >= t0) & (t <= t1 + 1e-9)], t_start=t0, t_stop=t1, units="ms",
                                   source_population=self.population.label, channel_id=int(cell), source_index=i,
                                   source_id=int(cell), location=variable.label)
            train.segment = segment
            segment.spiketrains.append(train)

    def _snippets(self) -> list[tuple[float, float]]:
        """(start, stop) in ms of the segment's snippets: one per ``run(..., RunCommand.APPEND)``
        executed together (pynn.brainscales2), one for a plain ``run()``."""
        t0, t1 = self._start_ms(), float(self._simulator.state.t)
        starts = sorted({float(t) for t in self._simulator.state.snippet_starts if t0 + 1e-9 < t < t1 - 1e-9})
        bounds = [t0, *starts, t1]
        return list(zip(bounds[:-1], bounds[1:]))

    def _signals_segment(self, filter_ids, chosen, clear):
        """pynn.brainscales2's segment: per snippet, a spike train of each recorded neuron
        (``t_start``/``t_stop`` of the snippet) and an ``IrregularlySampledSignal`` of each
        recorded neuron and variable."""
        analog = [v for v in chosen if v.name != "spikes"]
        segment = super()._get_current_segment(filter_ids, [v for v in chosen if v.name == "spikes"], clear)
        for train in segment.spiketrains:  # pynn.brainscales2 names the neuron source_id
            train.annotate(source_id=train.annotations.get("channel_id"))
        snippets = self._snippets()
        if len(snippets) > 1:
            whole = list(segment.spiketrains)
            segment.spiketrains.clear()
            for a, b in snippets:
                for train in whole:
                    t = train.times.rescale(pq.ms).magnitude
                    cut = neo.SpikeTrain(t[(t >= a) & ((t < b) | (b == snippets[-1][1]))], t_start=a, t_stop=b,
                                         units="ms", **train.annotations)
                    cut.segment = segment
                    segment.spiketrains.append(cut)
        signals = []  # (snippet, variable, cell) order, as pynn.brainscales2 adds them
        for variable in analog:
            ids = sorted(self.filter_recorded(variable, filter_ids))
            values, times = self._get_all_signals(variable, ids, clear=clear)
            if values.size == 0:
                continue
            units = self.population.find_units(variable)
            for k, (a, b) in enumerate(snippets):
                last = k == len(snippets) - 1
                rows = (times[:, 0] >= a - 1e-9) & ((times[:, 0] < b - 1e-9) | last) if len(snippets) > 1 \
                    else slice(None)
                for col, cell in enumerate(ids):
                    t, x = times[rows, col], values[rows, col]
                    sampled = ~np.isnan(x)  # the MADC's two channels: each keeps its own samples
                    signals.append((k, self._signal(variable, cell, t[sampled], x[sampled], units)))
        for _, signal in sorted(signals, key=lambda ks: ks[0]):
            signal.segment = segment
            segment.irregularlysampledsignals.append(signal)
        return segment

    def _signal(self, variable, cell, times, values, units):
        return neo.IrregularlySampledSignal(
            times, values, units="dimensionless" if units == "unknown" else units,
            time_units=pq.ms, name=f"{variable.label}.{variable.name}" if variable.location is not None
            else variable.name, channel_ids=[int(cell)], source_population=self.population.label,
            array_annotations={"channel_index": [self.population.id_to_index(cell)]})

    def _local_count(self, variable, filter_ids=None):
        trains = self._get_spiketimes(sorted(self.filter_recorded(variable, filter_ids)))
        return {cell: len(t) for cell, t in trains.items()}

    def _clear_simulator(self):
        pass  # the next get_data starts at the new recording start time

    def _reset(self):
        pass
