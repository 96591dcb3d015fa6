"""The registered ``snn`` network as a ``bss2emu.Experiment``; a batch is run by ``bss2emu.run_each``
(the chips configured once, each entry from time 0 with its own input).

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
from typing import Optional

import numpy as np
import pyarrow as pa
import torch

import bss2emu

from ..calib.bench import CADC_MIN_PERIOD_NS, madc_mv
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

    def build(self, order, graph, runtime: int) -> tuple:
        exp = self.experiment
        dt_us = exp.dt * 1e6
        neurons = [m for m in order if isinstance(m, _NeuronModule)]
        pre, sources = self._pre_names(order, graph)
        madc = [m for m in neurons if m.enable_madc_recording]
        if len(madc) > 1:
            raise ConfigError(f"{madc[0].label} and {madc[1].label} both enable MADC recording; the chip's MADC "
                              f"records one neuron: enable it on one module")
        cadc_every = max(1, math.ceil(CADC_MIN_PERIOD_NS / (exp.dt * 1e9) - 1e-9))
        projections = []
        for m, name in pre.items():
            post = exp.post_of(m)
            w = m.weight_hw().detach().round().to(torch.int64).cpu().numpy()
            mask = m.mask()
            post_idx, pre_idx = np.nonzero(np.ones_like(w) if mask is None else mask.cpu().numpy())
            wv = w[post_idx, pre_idx]
            for receptor, values in (("excitatory", np.maximum(wv, 0)), ("inhibitory", np.maximum(-wv, 0))):
                conns = np.stack([pre_idx, post_idx, values], axis=1).tolist()
                projections.append({"name": f"{m.label}_{receptor[:3]}", "pre": name, "post": post.label,
                                    "receptor": receptor, "weight": 63,
                                    "connector": {"kind": "from_list", "connections": conns}})
        spec = {
            "name": "snn", "seed": exp.seed, "runtime_us": runtime * dt_us,
            "chip": {"serial": exp.serial, "ideal": exp.ideal},
            "populations": [{"name": m.label, "size": m.size} for m in neurons],
            "sources": [{"kind": "spike_array", "name": n, "size": int(h.spikes.shape[-1]),
                         "spike_times_us": [[] for _ in range(int(h.spikes.shape[-1]))]} for n, h in sources.items()],
            "projections": projections,
            "recordings": {"cadc": {"period_us": cadc_every * dt_us}},
        }
        if madc:
            spec["recordings"]["madc"] = {"population": madc[0].label, "index": madc[0].record_neuron_id}
        hw_exp = bss2emu.Experiment.model_validate(spec)
        return hw_exp, neurons, sources, cadc_every

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
        t0 = time.perf_counter()
        graph = self.experiment._graph
        hw_exp, neurons, sources, cadc_every = self.build(order, graph, runtime)
        params, transforms = self.calibrate(hw_exp, neurons)
        pops = [p.model_copy(update={"params": type(p.params)(**params[p.name])}) for p in hw_exp.populations]
        base = hw_exp.model_copy(update={"populations": pops})
        dt_us = self.experiment.dt * 1e6
        batch = next(iter(sources.values())).spikes.shape[0]
        grids = {name: [torch.nonzero(h.spikes[b].T > 0).cpu().numpy() for b in range(batch)]
                 for name, h in sources.items()}
        out = {m: HwData(torch.zeros(batch, runtime, m.size), torch.zeros(batch, runtime, m.size)
                         if m.enable_cadc_recording else None) for m in neurons}
        experiments = []
        for b in range(batch):
            srcs = []
            for name, h in sources.items():
                n = int(h.spikes.shape[-1])
                times: list[list[float]] = [[] for _ in range(n)]
                for i, t in grids[name][b]:
                    times[int(i)].append(float(t) * dt_us)
                srcs.append(SpikeArraySource(name=name, size=n, spike_times_us=times))
            experiments.append(base.model_copy(update={"sources": srcs}))
        t1 = time.perf_counter()
        results = bss2emu.run_each(experiments, system=self.spec, placement=self.experiment.placement)
        self._chips_of: dict = {}  # module -> (chip, its neurons there), for the read-back
        t_run = time.perf_counter() - t1
        for b, res in enumerate(results):
            self._read_back(res, b, out, transforms, runtime, cadc_every)
        self.info = {"batch": batch, "build_s": t1 - t0, "emulation_s": t_run,
                     "wall_s": time.perf_counter() - t0}
        return out

    def _read_back(self, res, b: int, out: dict, transforms: dict, runtime: int, cadc_every: int) -> None:
        dt_us = self.experiment.dt * 1e6
        labels = {m.label: m for m in out}
        sp = res.spikes
        if sp.num_rows:
            pop_idx, names = _dictionary_column(sp, "population")
            index = sp.column("index").to_numpy()
            step = np.ceil(sp.column("time_us").to_numpy() / dt_us - 1e-6).astype(np.int64)
            keep = step < runtime
            for k, name in enumerate(names):
                sel = keep & (pop_idx == k)
                if sel.any() and name in labels:
                    out[labels[name]].spikes[b, step[sel], index[sel]] = 1.0
        cadc = res.cadc
        chip_col = cadc.column("chip").to_numpy()
        values = cadc.column("value").to_numpy()
        per_chip = {}
        if len(chip_col) and chip_col[0] == chip_col[-1] and (chip_col == chip_col[0]).all():  # one chip
            per_chip[int(chip_col[0])] = values.reshape(-1, 512)
        else:
            for c in np.unique(chip_col):
                per_chip[int(c)] = values[chip_col == c].reshape(-1, 512)
        grid = np.arange(runtime, dtype=np.float64)
        for m, hwd in out.items():
            if hwd.membrane_cadc is None:
                continue
            chips, circuits, offset, scale = transforms[m.label]
            on = self._chips_of.get(m.label)
            if on is None:
                on = self._chips_of[m.label] = [(int(c), chips == c) for c in np.unique(chips)]
            n_samples = min(per_chip[c].shape[0] for c, _ in on)
            codes = np.empty((n_samples, m.size))
            for c, sel in on:
                codes[:, sel] = per_chip[c][:n_samples, circuits[sel]]
            units = (codes - self.experiment.cadc_code_offset - offset) * scale
            if cadc_every > 1 or n_samples < runtime:
                sample_steps = np.arange(n_samples) * cadc_every
                units = np.stack([np.interp(grid, sample_steps, units[:, i]) for i in range(m.size)], axis=1)
            units = units[:runtime]
            shift = m.cadc_time_shift  # hxtorch's: > 0 moves later samples to earlier steps
            if shift:
                units = np.roll(units, -shift, axis=0)
                if shift > 0:
                    units[-shift:] = units[-shift - 1]
                else:
                    units[:-shift] = units[-shift]
            if m.shift_cadc_to_first:
                units = units - units[0] + m.params.leak
            hwd.membrane_cadc[b] = torch.from_numpy(units).to(hwd.membrane_cadc.dtype)
        if res.madc.num_rows:
            meta = res.metadata.get("madc", {})
            m = labels.get(meta.get("population"))
            if m is not None:
                chips, circuits, offset, scale = transforms[m.label]
                i = m.record_neuron_id
                mv = madc_mv(res.madc.column("value").to_numpy())
                trace = torch.from_numpy((mv / MV_PER_CODE - self.experiment.cadc_code_offset - offset[i])
                                         * scale[i]).float()
                hwd = out[m]
                if hwd.membrane_madc is None:
                    hwd.membrane_madc = torch.zeros(len(out[m].spikes), len(trace), 1)
                    hwd.madc_codes = torch.zeros(len(out[m].spikes), len(trace), 1)
                    hwd.madc_dt = res.metadata.get("dt_ns", 100) * 1e-9
                hwd.membrane_madc[b, : len(trace), 0] = trace[: hwd.membrane_madc.shape[1]]
                codes = torch.from_numpy(res.madc.column("value").to_numpy().astype(np.float32))
                hwd.madc_codes[b, : len(codes), 0] = codes[: hwd.madc_codes.shape[1]]
