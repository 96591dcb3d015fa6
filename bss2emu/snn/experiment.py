"""``Experiment`` and ``run``: deferred execution of ``snn`` modules.

Modules register on ``forward``; ``run(experiment, runtime)`` executes the registered
network for ``runtime`` time steps of ``dt``. In mock mode everything is torch software. In
emulation each batch entry is one independent run of the emulated chip(s) (``bss2emu.run``);
the chip's spikes and CADC/MADC membranes become the modules' forward values, and the
backward pass runs through the modules' functions evaluated at them (hardware in the loop).

>>> import torch
>>> from bss2emu import snn
>>> exp = snn.Experiment(mock=True)
>>> syn = snn.Synapse(2, 3, experiment=exp)
>>> lif = snn.LIF(3, experiment=exp)
>>> h = lif(syn(snn.NeuronHandle(spikes=torch.zeros(4, 20, 2))))
>>> snn.run(exp, runtime=20)
>>> tuple(h.spikes.shape), tuple(h.membrane_cadc.shape)
((4, 20, 3), (4, 20, 3))
"""

from __future__ import annotations

from typing import Optional

import torch

from ..errors import ConfigError
from .handle import TensorHandle


class ExecutionInstance:
    """hxtorch's group of modules run together on one chip with one calibration
    (``Synapse(..., execution_instance=inst)``). bss2emu runs an experiment's network as one
    emulated system and its routing places the populations (over several chips where they do
    not fit one), so an instance only carries its calibration file: ``load_calib(path)``
    checks that the file exists and records it; the emulated chip is calibrated for the
    modules' hardware parameters (with hxtorch's defaults those are the nightly calibration's
    targets)."""

    _count = 0

    def __init__(self, calib_path=None, calib_cache_dir=None, input_loopback: bool = False) -> None:
        self.ID = ExecutionInstance._count
        ExecutionInstance._count += 1
        self.calib_path = None
        self.calib_cache_dir = calib_cache_dir
        self.input_loopback = bool(input_loopback)
        if calib_path is not None:
            self.load_calib(calib_path)

    def load_calib(self, calib_path) -> None:
        """Record the calibration file ``calib_path`` (it must exist)."""
        from pathlib import Path

        path = Path(calib_path)
        if not path.is_file():
            raise ConfigError(f"ExecutionInstance.load_calib({str(calib_path)!r}): no such file; save one first "
                              f"(save_nightly_calibration) or leave the calibration to the experiment")
        self.calib_path = path

    def __repr__(self) -> str:
        return f"ExecutionInstance(ID={self.ID})"


class Experiment:
    """One network on one emulated system (or in software with ``mock=True``).

    ``dt``: the time step of tensors, s (hardware time; 1e-6 s = 1 µs ≙ 1 ms biological);
    ``serial``/``ideal``: the emulated chip (mismatch from the serial, calibrated per chip);
    ``system``/``chips``/``placement``: as ``bss2emu.run`` (a population larger than a chip
    is partitioned over several); ``seed`` for the chip's noise sources.

    ``time_first`` (class attribute): tensors in and out are ``(time, batch, neurons)``, as
    hxtorch has them (``bss2emu.stack.hxtorch_snn``); by default ``(batch, time, neurons)``.
    ``cadc_code_offset`` (class attribute): subtracted from the CADC's 8-bit codes before the
    trace transform (128: the signed read-out hxtorch reports, leak 80 reads as -48)."""

    time_first: bool = False
    cadc_code_offset: int = 0

    def __init__(self, mock: bool = False, dt: float = 1e-6, *, serial: int = 0, ideal: bool = False,
                 system=None, chips: Optional[int] = None, placement: str = "local", seed: int = 0,
                 calib_path=None) -> None:
        if not 8e-9 <= dt <= 1e-3:
            raise ConfigError(f"Experiment: dt={dt!r} s is outside 8e-9..1e-3 s (8 ns is the FPGA's tick); "
                              f"use e.g. dt=1e-6")
        self.mock = bool(mock)
        self.dt = float(dt)
        self.serial, self.ideal = int(serial), bool(ideal)
        self.system, self.chips, self.placement, self.seed = system, chips, placement, int(seed)
        self._modules: list = []
        self._graph: dict = {}  # module → (input handles, output handle), in registration order
        self._post: dict = {}  # module → the module its output feeds (the last one registered)
        self._emulator = None
        self.last_run_info: dict = {}
        self.default_execution_instance = ExecutionInstance(calib_path)
        # hxtorch's pause between batch entries, FPGA clock cycles: each entry is an independent
        # run from time 0 here, so there is nothing to wait for
        self.inter_batch_entry_wait = 0

    def register_module(self, module) -> str:
        """A new module joins the experiment; returns its label (``lif0``, ``synapse1``, …)."""
        kind = type(module).__name__.lower()
        label = f"{kind}{sum(type(m) is type(module) for m in self._modules)}"
        self._modules.append(module)
        return label

    def connect(self, module, inputs, output: TensorHandle) -> None:
        """Register ``module`` applied to ``inputs`` (handles), giving ``output``."""
        self._graph[module] = (list(inputs), output)
        for other, (_, out) in self._graph.items():  # remember which neurons a synapse feeds (kept after run)
            if any(h is out for h in inputs):
                self._post[other] = module
            if any(h is output for h in self._graph[other][0]):
                self._post[module] = other

    def load_calib(self, calib_path) -> None:
        """hxtorch's ``Experiment.load_calib``: the default execution instance's."""
        self.default_execution_instance.load_calib(calib_path)

    def clear(self) -> None:
        """Forget the registered calls (modules stay part of the experiment)."""
        self._graph = {}

    # -- weights ----------------------------------------------------------------------------
    def post_of(self, synapse):
        """The neuron module that consumes ``synapse``'s output in the registered network."""
        if synapse in self._post:
            return self._post[synapse]
        raise ConfigError(f"{synapse.label}: its output feeds no neuron module; connect it to an snn.LIF/AELIF/LI "
                          f"before run()")

    def weight_lsb(self, synapse) -> float:
        """Threshold units per hardware weight step of ``synapse`` (``snn.units``)."""
        return self.post_of(synapse).weight_lsb()

    # -- execution --------------------------------------------------------------------------
    def order(self) -> list:
        """The registered modules in an order where every input is ready before its use."""
        produced = {id(out): m for m, (_, out) in self._graph.items()}
        done: set = set()
        out: list = []
        pending = list(self._graph)
        while pending:
            progressed = False
            for m in list(pending):
                deps = [produced[id(h)] for h in self._graph[m][0] if id(h) in produced]
                if all(d in done for d in deps):
                    out.append(m)
                    done.add(m)
                    pending.remove(m)
                    progressed = True
            if not progressed:
                raise ConfigError(f"the registered network has a cycle through {[m.label for m in pending]}; "
                                  f"recurrent connections are not supported by snn.run")
        return out

    def run(self, runtime: int) -> None:
        if isinstance(runtime, bool) or not isinstance(runtime, int) or runtime < 2:
            raise ConfigError(f"run: runtime={runtime!r} must be an integer number of time steps (dt={self.dt:g} s) "
                              f"of at least 2")
        if not self._graph:
            raise ConfigError("run: no module has been called since the last run; call the model's forward first")
        order = self.order()
        inputs = self._external_inputs(order, runtime)
        hw = None
        if not self.mock:
            from .emulation import Emulator

            if self._emulator is None:
                self._emulator = Emulator(self)
            hw = self._emulator.run(order, inputs, runtime)
            self.last_run_info = self._emulator.info
        for m in order:
            ins, out = self._graph[m]
            m.execute(ins, out, None if hw is None else hw.get(m))
        for m in order:
            self._deliver(self._graph[m][1])
        if self.time_first:
            for (_, h), original in zip(inputs.values(), self._originals):
                h.spikes = original
        self.clear()

    def _deliver(self, handle: TensorHandle) -> None:
        """Put a filled handle's tensors into the caller's layout (``time_first``: time, batch, neurons)."""
        if self.time_first:
            handle.put(**{n: getattr(handle, n).transpose(0, 1) for n in handle._fields
                          if isinstance(getattr(handle, n), torch.Tensor) and getattr(handle, n).dim() == 3})

    def _external_inputs(self, order, runtime: int) -> dict:
        """The spike tensors fed from outside (handles no module produced), padded to ``runtime``
        (and made batch-first where the experiment is ``time_first``; ``_originals`` keeps the
        tensors given)."""
        produced = {id(self._graph[m][1]) for m in order}
        found = {}
        self._originals = []
        batch = None
        layout = "(time, batch, neurons)" if self.time_first else "(batch, time, neurons)"
        for m in order:
            for h in self._graph[m][0]:
                if id(h) in produced or id(h) in found:
                    continue
                spikes = getattr(h, "spikes", None)
                if spikes is None or spikes.dim() != 3:
                    raise ConfigError(f"{m.label}: external input must be NeuronHandle(spikes=tensor) with a "
                                      f"{layout} tensor, got {None if spikes is None else tuple(spikes.shape)}")
                self._originals.append(spikes)
                if self.time_first:
                    spikes = spikes.transpose(0, 1)
                if batch is not None and spikes.shape[0] != batch:
                    raise ConfigError(f"{m.label}: input batch size {spikes.shape[0]} differs from {batch}; "
                                      f"give all inputs the same batch size")
                batch = spikes.shape[0]
                steps = spikes.shape[1]
                if steps > runtime:
                    if spikes[:, runtime:].any():
                        raise ConfigError(f"{m.label}: input has spikes at step >= runtime={runtime}; run longer or "
                                          f"trim the input to {runtime} steps")
                    spikes = spikes[:, :runtime]
                elif steps < runtime:
                    spikes = torch.nn.functional.pad(spikes, (0, 0, 0, runtime - steps))
                if ((spikes != 0) & (spikes != 1)).any():
                    raise ConfigError(f"{m.label}: input spikes must be 0 or 1 per step; split larger counts or "
                                      f"use a smaller dt")
                h.spikes = spikes
                found[id(h)] = (m, h)
        return found


def run(experiment: Experiment, runtime: int) -> None:
    """Execute every module registered with ``experiment`` for ``runtime`` steps and fill
    their handles (hxtorch.snn.run)."""
    if not isinstance(experiment, Experiment):
        raise ConfigError(f"run: {type(experiment).__name__} is not an snn.Experiment")
    experiment.run(runtime)
