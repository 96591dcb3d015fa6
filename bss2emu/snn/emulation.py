"""The registered ``snn`` network as a ``bss2emu.Experiment``, a batch run with each entry
from time 0 with its own input: as one compiled call (``cluster.batch.BatchRunner``; the
experiment, mapping, calibration and configured chips kept per network structure, the
weights set per batch) where the chips exchange no spikes, else by ``bss2emu.run_each`` —
the same values bit for bit.

Populations are the neuron modules (named by their labels), spike-array sources the inputs,
two projections per synapse module (excitatory rows for positive, inhibitory rows for
negative hardware weights; every connection listed in both so that the topology, and with it
the cached mapping, never changes with the weights). Placement comes from the routing
(``map_experiment``), which partitions a population larger than a chip over several; each
chip is calibrated (``bss2emu.calib``) for the modules' targets on the circuits placed on it.

Read-back: spikes are binned onto the ``dt`` grid (index ``ceil(t/dt)``), CADC codes become
threshold units through each circuit's calibrated leak and threshold (``units.trace_transform``)
and are interpolated linearly onto the grid when the CADC cannot sample at every ``dt``
(at most 1.85 MSample/s); the MADC trace of the recorded neuron keeps its own rate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np
import pyarrow as pa
import torch
from numba import njit

import bss2emu

from ..calib.bench import CADC_MIN_PERIOD_NS, madc_mv
from ..cluster.batch import BatchOutput, BatchRunner, batch_supported
from ..errors import ConfigError
from ..protocol.experiment import Projection, SpikeArraySource
from ..protocol.hardware import NEURON_PARAMETER_NAMES
from ..protocol.system import as_system
from ..routing.mapping import map_experiment
from .modules import InputNeuron, LI, Synapse, _NeuronModule
from .units import MV_PER_CODE, calibrate_circuits, trace_transform


@dataclass
class HwData:
    """One neuron module's read-back, tensors ``(batch, time, neurons)``."""

    spikes: Optional[torch.Tensor]
    membrane_cadc: Optional[torch.Tensor]
    membrane_madc: Optional[torch.Tensor] = None
    madc_dt: Optional[float] = None
    madc_codes: Optional[torch.Tensor] = None  # the MADC's raw 10-bit codes, as membrane_madc


class _Layout(NamedTuple):
    """A registered network's structure: ``key`` (hashable) of all its experiment depends on
    but the weights; the neuron modules, the external sources ``{name: handle}``, the
    synapses ``(module, presynaptic name, post module, mask or None)``, the module recorded
    by the MADC and the CADC's sampling (every ``cadc_every`` steps)."""

    key: tuple
    neurons: list
    sources: dict
    synapses: list
    madc: object
    cadc_every: int


@njit(cache=True)
def _cadc_units(codes, circuits, columns, code_offset, offset, scale, out):
    """``out[b, t, columns[j]] = (codes[b, t, circuits[j]] - code_offset - offset[j]) * scale[j]``
    for the samples ``out`` has: the trace transform in one pass over the CADC's codes (the
    arithmetic, and so every bit, of the same expression in numpy)."""
    for b in range(out.shape[0]):
        for t in range(out.shape[1]):
            for j in range(circuits.shape[0]):
                out[b, t, columns[j]] = (codes[b, t, circuits[j]] - code_offset - offset[j]) * scale[j]


_PREPARED_MAX = 4  # configured networks kept per experiment (a model usually has one)


def _dictionary_column(table: pa.Table, name: str) -> tuple[np.ndarray, list]:
    col = table.column(name).combine_chunks()
    if isinstance(col, pa.DictionaryArray):
        return col.indices.to_numpy(zero_copy_only=False), col.dictionary.to_pylist()
    values = col.to_pylist()
    names = sorted(set(values))
    return np.array([names.index(v) for v in values], dtype=np.int64), names


class Emulator:
    """Translates and runs an ``snn.Experiment``'s registered network on the emulated chips."""

    def __init__(self, experiment) -> None:
        self.experiment = experiment
        self.spec = as_system(experiment.system, experiment.chips)
        self._calibrations: dict = {}
        self._prepared: dict = {}  # layout key -> (BatchRunner or None, trace transforms, connections)
        self.batched = True  # False: every batch through run_each (the plain path, for comparison)
        self.info: dict = {}

    # -- translation ------------------------------------------------------------------------
    def _pre_names(self, order, graph) -> tuple[dict, dict]:
        """Presynaptic entity of every synapse module, and the sources with their input handles."""
        produced = {id(graph[m][1]): m for m in order}
        pre, sources = {}, {}
        for m in order:
            if not isinstance(m, Synapse):
                continue
            h = graph[m][0][0]
            src = produced.get(id(h))
            if src is None:  # an external tensor straight into a synapse: an implicit input population
                name = f"{m.label}_input"
                sources[name] = h
            elif isinstance(src, InputNeuron):
                name = src.label
                sources[name] = graph[src][0][0]
            elif isinstance(src, _NeuronModule) and not isinstance(src, LI):
                name = src.label
            else:
                raise ConfigError(f"{m.label}: its input comes from {src.label}, which emits no spikes; a synapse "
                                  f"takes an InputNeuron, a LIF/AELIF population or a spike tensor")
            pre[m] = name
        return pre, sources

    def _layout(self, order, graph, runtime: int) -> _Layout:
        """The network's structure (all its experiment depends on but the weights)."""
        exp = self.experiment
        neurons = [m for m in order if isinstance(m, _NeuronModule)]
        pre, sources = self._pre_names(order, graph)
        madc = [m for m in neurons if m.enable_madc_recording]
        if len(madc) > 1:
            raise ConfigError(f"{madc[0].label} and {madc[1].label} both enable MADC recording; the chip's MADC "
                              f"records one neuron: enable it on one module")
        cadc_every = max(1, math.ceil(CADC_MIN_PERIOD_NS / (exp.dt * 1e9) - 1e-9))
        synapses = []
        for m, name in pre.items():
            post = exp.post_of(m)
            mask = m.mask()
            synapses.append((m, name, post, None if mask is None else mask.cpu().numpy().astype(bool)))
        key = (runtime, exp.dt, exp.seed, exp.serial, exp.ideal, cadc_every,
               tuple((type(m).__name__, m.label, m.size, m.targets, m.enable_madc_recording,
                      m.record_neuron_id if m.enable_madc_recording else None) for m in neurons),
               tuple((n, int(h.spikes.shape[-1])) for n, h in sources.items()),
               tuple((m.label, name, post.label, tuple(m.weight.shape), None if k is None else k.tobytes())
                     for m, name, post, k in synapses))
        return _Layout(key, neurons, sources, synapses, madc[0] if madc else None, cadc_every)

    def build(self, order, graph, runtime: int) -> tuple:
        """The network as a ``bss2emu.Experiment`` with the synapses' present hardware weights:
        ``(experiment, neuron modules, sources, CADC sample every n steps)``."""
        lay = self._layout(order, graph, runtime)
        return self._experiment(lay, runtime), lay.neurons, lay.sources, lay.cadc_every

    @staticmethod
    def _connections(m, mask) -> tuple[np.ndarray, np.ndarray]:
        """(post, pre) indices of synapse module ``m``'s connections, in the projections' order."""
        return np.nonzero(np.ones(tuple(m.weight.shape), bool) if mask is None else mask)

    @staticmethod
    def _weights_hw(m, post_idx, pre_idx) -> np.ndarray:
        """The signed hardware weight of each connection."""
        w = m.weight_hw().detach().round().to(torch.int64).cpu().numpy()
        return w[post_idx, pre_idx]

    def _experiment(self, lay: _Layout, runtime: int):
        exp = self.experiment
        dt_us = exp.dt * 1e6
        projections = []
        for m, name, post, mask in lay.synapses:
            post_idx, pre_idx = self._connections(m, mask)
            wv = self._weights_hw(m, post_idx, pre_idx)
            for receptor, values in (("excitatory", np.maximum(wv, 0)), ("inhibitory", np.maximum(-wv, 0))):
                conns = np.stack([pre_idx, post_idx, values], axis=1).tolist()
                projections.append({"name": f"{m.label}_{receptor[:3]}", "pre": name, "post": post.label,
                                    "receptor": receptor, "weight": 63,
                                    "connector": {"kind": "from_list", "connections": conns}})
        spec = {
            "name": "snn", "seed": exp.seed, "runtime_us": runtime * dt_us,
            "chip": {"serial": exp.serial, "ideal": exp.ideal},
            "populations": [{"name": m.label, "size": m.size} for m in lay.neurons],
            "sources": [{"kind": "spike_array", "name": n, "size": int(h.spikes.shape[-1]),
                         "spike_times_us": [[] for _ in range(int(h.spikes.shape[-1]))]}
                        for n, h in lay.sources.items()],
            "projections": projections,
            "recordings": {"cadc": {"period_us": lay.cadc_every * dt_us}},
        }
        if lay.madc is not None:
            spec["recordings"]["madc"] = {"population": lay.madc.label, "index": lay.madc.record_neuron_id}
        return bss2emu.Experiment.model_validate(spec)

    def calibrate(self, hw_exp, neurons) -> tuple:
        """DAC values per population (set on ``hw_exp``) and per-module trace transforms."""
        mapping = map_experiment(hw_exp, self.spec)
        part = mapping.partition
        exp = self.experiment
        key = (tuple((m.label, m.targets) for m in neurons),
               tuple((m.label, part.chip[m.label].tobytes(), part.circuit[m.label].tobytes()) for m in neurons))
        if key in self._calibrations:
            return self._calibrations[key]
        per_chip: dict[int, dict[int, object]] = {}
        for m in neurons:
            for c, k in zip(part.chip[m.label], part.circuit[m.label]):
                per_chip.setdefault(int(c), {})[int(k)] = m.targets
        results = {c: calibrate_circuits(t, self.spec.serial_of(c, exp.serial), exp.ideal or
                                         self.spec.chips[c].ideal)
                   for c, t in per_chip.items()}
        params, transforms = {}, {}
        # every parameter, also those a stored result predates (their defaults)
        dac = {c: r.neuron_values() for c, r in results.items()}
        for m in neurons:
            chips, circuits = part.chip[m.label], part.circuit[m.label]
            values = {n: [int(dac[int(c)][n][int(k)]) for c, k in zip(chips, circuits)]
                      for n in NEURON_PARAMETER_NAMES}
            if isinstance(m, LI):
                values["enable_fire"] = [0] * m.size
            params[m.label] = values
            leak = np.array([results[int(c)].achieved["v_leak_mv"][int(k)] for c, k in zip(chips, circuits)])
            thr = np.array([results[int(c)].achieved["v_threshold_mv"][int(k)] for c, k in zip(chips, circuits)])
            offset, scale = trace_transform(leak, None if isinstance(m, LI) else thr, m.params.leak,
                                            None if isinstance(m, LI) else m.params.threshold,
                                            m.targets.mv_per_unit)
            offset = offset - exp.cadc_code_offset  # the transform applies to codes as the experiment reports them
            if m.trace_offset is not None:
                offset = np.broadcast_to(np.asarray(m.trace_offset, dtype=np.float64), (m.size,))
            if m.trace_scale is not None:
                scale = np.broadcast_to(np.asarray(m.trace_scale, dtype=np.float64), (m.size,))
            transforms[m.label] = (chips, circuits, offset, scale)
        self._calibrations[key] = (params, transforms)
        return params, transforms

    # -- execution --------------------------------------------------------------------------
    def run(self, order, inputs, runtime: int) -> dict:
        """Run the batch (each entry from time 0 with its own input); per neuron module its
        ``HwData``. A network whose chips exchange no spikes runs in the in-process placement
        as one compiled call for the whole batch (``cluster.batch``; its configuration built
        once per structure, weights set per batch), anything else through ``run_each``: the
        same values bit for bit."""
        t0 = time.perf_counter()
        lay = self._layout(order, self.experiment._graph, runtime)
        batch = next(iter(lay.sources.values())).spikes.shape[0]
        runner = self._runner(lay, runtime) if self.batched and self.experiment.placement == "local" else None
        if runner is not None:
            stimuli = {}
            dt_us = self.experiment.dt * 1e6
            for name, h in lay.sources.items():
                entry, step, unit = torch.nonzero(h.spikes > 0).cpu().numpy().T
                stimuli[name] = (entry, unit, step.astype(np.float64) * dt_us)
            t1 = time.perf_counter()
            record = runner.run(stimuli, batch)
            transforms, dt_ns = self._prepared[lay.key][1], runner.exp.dt_ns
        else:
            record, transforms, t1, dt_ns = self._run_each(lay, runtime, batch)
        t_run = time.perf_counter() - t1
        out = self._read_back(record, lay, batch, transforms, runtime, dt_ns)
        self.info = {"batch": batch, "build_s": t1 - t0, "emulation_s": t_run, "batched": runner is not None,
                     "wall_s": time.perf_counter() - t0}
        return out

    def _calibrated(self, lay: _Layout, runtime: int) -> tuple:
        """The experiment with the modules' calibrated parameters, and the trace transforms."""
        hw_exp = self._experiment(lay, runtime)
        params, transforms = self.calibrate(hw_exp, lay.neurons)
        pops = [p.model_copy(update={"params": type(p.params)(**params[p.name])}) for p in hw_exp.populations]
        return hw_exp.model_copy(update={"populations": pops}), transforms

    def _runner(self, lay: _Layout, runtime: int):
        """The batch runner of this structure with the present weights, or None where the
        network needs ``run_each`` (chips that exchange spikes)."""
        prepared = self._prepared.get(lay.key)
        if prepared is None:
            base, transforms = self._calibrated(lay, runtime)
            runner = BatchRunner(base, self.spec) if batch_supported(base, self.spec) else None
            conns = {m.label: self._connections(m, mask) for m, _, _, mask in lay.synapses}
            prepared = self._prepared[lay.key] = (runner, transforms, conns)
            while len(self._prepared) > _PREPARED_MAX:
                self._prepared.pop(next(iter(self._prepared)))
            return runner
        runner, _, conns = prepared
        if runner is not None:
            for m, _, _, _ in lay.synapses:
                wv = self._weights_hw(m, *conns[m.label])
                runner.set_weights(f"{m.label}_exc", np.maximum(wv, 0))
                runner.set_weights(f"{m.label}_inh", np.maximum(-wv, 0))
        return runner

    def _run_each(self, lay: _Layout, runtime: int, batch: int) -> tuple:
        """The batch through ``bss2emu.run_each`` (an experiment per entry), as a ``BatchOutput``."""
        base, transforms = self._calibrated(lay, runtime)
        dt_us = self.experiment.dt * 1e6
        grids = {name: [torch.nonzero(h.spikes[b].T > 0).cpu().numpy() for b in range(batch)]
                 for name, h in lay.sources.items()}
        experiments = []
        for b in range(batch):
            srcs = []
            for name, h in lay.sources.items():
                n = int(h.spikes.shape[-1])
                times: list[list[float]] = [[] for _ in range(n)]
                for i, t in grids[name][b]:
                    times[int(i)].append(float(t) * dt_us)
                srcs.append(SpikeArraySource(name=name, size=n, spike_times_us=times))
            experiments.append(base.model_copy(update={"sources": srcs}))
        t1 = time.perf_counter()
        results = bss2emu.run_each(experiments, system=self.spec, placement=self.experiment.placement)
        return BatchOutput.from_results(results), transforms, t1, base.dt_ns

    def _read_back(self, record: BatchOutput, lay: _Layout, batch: int, transforms: dict, runtime: int,
                   dt_ns: int) -> dict:
        """Spikes binned onto the grid, CADC codes as threshold units on it, the MADC trace."""
        exp, neurons, cadc_every = self.experiment, lay.neurons, lay.cadc_every
        dt_us = exp.dt * 1e6
        out = {m: HwData(torch.zeros(batch, runtime, m.size), torch.zeros(batch, runtime, m.size)
                         if m.enable_cadc_recording else None) for m in neurons}
        labels = {m.label: m for m in out}
        sp = record.spikes
        if sp.num_rows:
            pop_idx, names = _dictionary_column(sp, "population")
            index = sp.column("index").to_numpy()
            entry = sp.column("entry").to_numpy()
            step = np.ceil(sp.column("time_us").to_numpy() / dt_us - 1e-6).astype(np.int64)
            keep = step < runtime
            for k, name in enumerate(names):
                sel = keep & (pop_idx == k)
                if sel.any() and name in labels:
                    out[labels[name]].spikes[entry[sel], step[sel], index[sel]] = 1.0
        grid = np.arange(runtime, dtype=np.float64)
        for m, hwd in out.items():
            if hwd.membrane_cadc is None:
                continue
            chips, circuits, offset, scale = transforms[m.label]
            on = [(int(c), chips == c) for c in np.unique(chips)]
            n_samples = min(record.cadc[c].shape[1] for c, _ in on)
            units = np.empty((batch, n_samples, m.size))
            for c, sel in on:
                idx = np.flatnonzero(sel)
                _cadc_units(record.cadc[c], circuits[idx], idx, float(exp.cadc_code_offset),
                            np.ascontiguousarray(offset, np.float64)[idx], np.ascontiguousarray(scale, np.float64)[idx],
                            units)
            if cadc_every > 1 or n_samples < runtime:
                sample_steps = np.arange(n_samples) * cadc_every
                units = np.stack([np.stack([np.interp(grid, sample_steps, u[:, i]) for i in range(m.size)], axis=1)
                                  for u in units])
            units = units[:, :runtime]
            shift = m.cadc_time_shift  # hxtorch's: > 0 moves later samples to earlier steps
            if shift:
                units = np.roll(units, -shift, axis=1)
                if shift > 0:
                    units[:, -shift:] = units[:, -shift - 1:-shift]
                else:
                    units[:, :-shift] = units[:, -shift:-shift + 1]
            if m.shift_cadc_to_first:
                units = units - units[:, :1] + m.params.leak
            hwd.membrane_cadc[:] = torch.from_numpy(np.ascontiguousarray(units)).to(hwd.membrane_cadc.dtype)
        m = lay.madc if record.madc_ticks is not None else None
        if m is not None:
            chips, circuits, offset, scale = transforms[m.label]
            i = m.record_neuron_id
            hwd = out[m]
            for b in range(batch):
                value = record.madc_value[b]
                if value is None or not len(value):
                    continue
                trace = torch.from_numpy((madc_mv(value) / MV_PER_CODE - exp.cadc_code_offset - offset[i])
                                         * scale[i]).float()
                if hwd.membrane_madc is None:
                    hwd.membrane_madc = torch.zeros(batch, len(trace), 1)
                    hwd.madc_codes = torch.zeros(batch, len(trace), 1)
                    hwd.madc_dt = dt_ns * 1e-9
                hwd.membrane_madc[b, : len(trace), 0] = trace[: hwd.membrane_madc.shape[1]]
                codes_f = torch.from_numpy(np.asarray(value).astype(np.float32))
                hwd.madc_codes[b, : len(codes_f), 0] = codes_f[: hwd.madc_codes.shape[1]]
        return out
