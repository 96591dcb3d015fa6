"""The ``per-component`` placement: every Chip, Fpga and Ppu its own Ray actor.

``ComponentHost`` lives in the coordinator's process and chains the three actors of one
chip per window without waiting in between (Ray passes the object references along):
FPGA inputs → chip applies writes (and takes a snapshot for the PPU if a kernel is due) →
PPU kernels → chip integrates → FPGA records and hands back the spikes. The operations and
their order are exactly those of ``host.ChipHost`` (here through ``Chip.run_window`` and
``Fpga.events_for_window``, the per-chip twins of the host's compiled loop), so results
are identical.
"""

from __future__ import annotations

import ray

from ..chip_actor.chip import Chip
from ..chip_actor.fpga import Fpga
from ..chip_actor.ppu import ChipSnapshot, Ppu
from .host import ChipSetup


class _ChipComponent(Chip):
    def begin_window(self, inputs, snapshot: bool):
        writes = inputs[0]
        self.apply_writes(writes)
        return ChipSnapshot.of(self) if snapshot else None

    def integrate(self, k0, n_steps, inputs, ppu_result):
        if ppu_result is not None:
            writes, reset = ppu_result
            self.apply_writes(writes)
            if reset:
                self.correlation_codes(reset=True)
        return self.run_window(k0, n_steps, *inputs[1:])

    def ping(self) -> int:
        return self.chip_id


class _FpgaComponent(Fpga):
    def window_inputs(self, k0, n_steps, h, arrivals):
        if arrivals is not None:
            self.inject(*arrivals)
        t0 = k0 * h
        return (self.writes_due(t0 + h), *self.events_for_window(t0, (k0 + n_steps) * h))

    def record_and_spikes(self, out):
        self.record(out)
        sp = out.spikes
        neuron = sp.column("neuron").to_numpy()
        keep = neuron >= 0
        return sp.column("time_ticks").to_numpy()[keep], sp.column("label").to_numpy()[keep]


class _PpuComponent(Ppu):
    def run_snapshot(self, t_ns, snapshot, layout):
        return self.run_due(t_ns, snapshot, layout)

    def get_records(self):
        return self.records


_ChipActor = ray.remote(num_cpus=0, max_restarts=0)(_ChipComponent)
_FpgaActor = ray.remote(num_cpus=0, max_restarts=0)(_FpgaComponent)
_PpuActor = ray.remote(num_cpus=0, max_restarts=0)(_PpuComponent)


class _Remote:
    """Makes a local method callable as ``obj.method.remote(...)`` like an actor's."""

    def __init__(self, fn) -> None:
        self.remote = fn


class ComponentHost:
    """One chip as three actors, driven from the coordinator's process."""

    def __init__(self, setups: list[ChipSetup]) -> None:
        (s,) = setups
        self.setup = s
        self.chip_actor = _ChipActor.remote(s.config, serial=s.serial, ideal=s.ideal, dt_ns=s.dt_ns,
                                            chip_id=s.chip_id, seed=s.seed)
        self.fpga_actor = _FpgaActor.remote(s.program, s.chip_id)
        self.ppu_actor = _PpuActor.remote(s.kernels, s.chip_id)
        self._timer = Ppu(s.kernels, s.chip_id)  # a local mirror of the PPU timer: is a kernel due?
        self.step = _Remote(self._step)
        self.tables = _Remote(self._tables)
        self.get_state = _Remote(self._get_state)
        self.set_state = _Remote(self._set_state)
        self.ping = _Remote(lambda: self.chip_actor.ping.remote())

    def _step(self, k0, n_steps, arrivals):
        s, h = self.setup, self.setup.dt_ns
        inputs = self.fpga_actor.window_inputs.remote(k0, n_steps, h, arrivals.get(s.chip_id))
        due = self._timer.due(k0 * h)
        snap = self.chip_actor.begin_window.remote(inputs, due)
        ppu_result = None
        if due:
            for i, k in enumerate(self._timer.kernels):
                if self._timer.next_ns[i] <= k0 * h:
                    self._timer.next_ns[i] += k.period_ns
            ppu_result = self.ppu_actor.run_snapshot.remote(k0 * h, snap, s.ppu_layout())
        out = self.chip_actor.integrate.remote(k0, n_steps, inputs, ppu_result)
        spikes = self.fpga_actor.record_and_spikes.remote(out)
        return _wrap.remote(s.chip_id, spikes)

    def _tables(self):
        return _tables.remote(self.setup.chip_id, self.fpga_actor.tables.remote(), self.ppu_actor.get_records.remote())

    def _get_state(self):
        return _state.remote(self.setup.chip_id, self.chip_actor.get_state.remote(),
                             self.fpga_actor.get_state.remote(), self.ppu_actor.get_state.remote(),
                             list(self._timer.next_ns))

    def _set_state(self, state):
        (c, f, p, timer), = state.values()
        self._timer.next_ns = list(timer)
        refs = [self.chip_actor.set_state.remote(c), self.fpga_actor.set_state.remote(f),
                self.ppu_actor.set_state.remote(p)]
        return _done.remote(*refs)

    def kill(self) -> None:
        for a in (self.chip_actor, self.fpga_actor, self.ppu_actor):
            try:
                ray.kill(a)
            except Exception:  # already gone
                pass


@ray.remote(num_cpus=0)
def _wrap(chip_id, spikes):
    return {chip_id: spikes}


@ray.remote(num_cpus=0)
def _tables(chip_id, tables, records):
    return {"spikes": tables["spikes"], "chips": {chip_id: {"madc": tables["madc"], "cadc": tables["cadc"],
                                                             "ppu_records": records}}}


@ray.remote(num_cpus=0)
def _state(chip_id, c, f, p, timer):
    return {chip_id: (c, f, p, timer)}


@ray.remote(num_cpus=0)
def _done(*_):
    return None
