"""``run()``: execute the current segment and hand each population its results.

``run_segment`` snapshots the network as a new epoch, builds the experiment of the whole
segment (``experiment.build``), runs it with ``bss2emu.run`` and stores spikes and traces
(``results``). A run continued after ``run()`` is the segment from t = 0 with the changes
made between the calls as timed writes; in the in-process placement it is not emulated
again from t = 0: the segment's ``Coordinator`` keeps its chips and goes on from where the
last run ended (``Coordinator.continue_with``, which checks that the new experiment has the
last one's past), so ``run(10); run(1000)`` emulates 1010 ms once — with results identical
to a run from t = 0. Other placements, or a past that differs (a recording added between
the runs), run from t = 0.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

import bss2emu

from ..cluster import warn_dropped
from ..cluster.coordinator import Coordinator
from ..errors import PlasticityError, RoutingError, user_stacklevel
from . import experiment
from .epochs import snapshot, topology
from .exceptions import ConnectionError, connection_error
from .results import store_results
from .rules import store_observables


def run_segment(state, tstop: float) -> None:
    """Run the current segment from t = 0 to ``tstop`` (ms) and store the results. A run
    that fails (bad values, a network that does not fit) leaves the segment as it was, so
    corrected values can run next."""
    with _restored_on_failure(state):
        append_epoch(state)
        _execute(state, tstop)


def append_snippet(state, runtime: float) -> None:
    """Schedule ``runtime`` (ms of the view) with the network as it is now, without running
    (pynn.brainscales2's ``RunCommand.APPEND``): the next ``execute_segment`` runs it."""
    with _restored_on_failure(state):
        append_epoch(state)
    state.t += float(runtime)


def execute_segment(state) -> None:
    """Run the segment scheduled so far (up to ``state.t``) as one experiment."""
    with _restored_on_failure(state):
        _execute(state, state.t)
    state.running = True


@contextmanager
def _restored_on_failure(state):
    before = (list(state.epochs or []), getattr(state, "topology", None))
    try:
        yield
    except BaseException:
        state.epochs, state.topology = before
        raise


def append_epoch(state) -> None:
    """A new epoch at ``state.t``: the network's data now (the first of a segment at t = 0)."""
    if state.t == 0 or not state.epochs:
        state.epochs = [(0.0, snapshot(state))]
        state.topology = topology(state)
    else:
        if topology(state) != state.topology:
            raise ConnectionError("the network's structure changed since the last run() (populations, connections, "
                                  "delays, STP, on-chip sources or plasticity rules — a rule replaced by one of "
                                  "the same same_id and kernel goes on): BrainScaleS-2 maps the network once per "
                                  "segment; call sim.reset() before changing it")
        if state.t > state.epochs[-1][0]:
            state.epochs = state.epochs + [(state.t, snapshot(state))]
        else:  # the same start: the latest values replace the epoch's
            state.epochs = state.epochs[:-1] + [(state.t, snapshot(state))]
    for pop in state.populations:
        init = pop._initial_values.get("v")
        if init is not None and "v_rest" in pop._parameters:
            v0 = np.asarray(init.evaluate() if hasattr(init, "evaluate") else init, float)
            if np.any(np.abs(v0 - pop._parameters["v_rest"]) > 1.0):
                warnings.warn(f"population {pop.label!r}: initial v differs from v_rest; the hardware membrane "
                              f"starts at the leak potential (v_rest)", stacklevel=user_stacklevel())


def _execute(state, tstop: float) -> None:
    last = snapshot(state)
    try:
        exp, info = experiment.build(state, tstop)
    finally:  # build swaps epoch weights in; restore the current ones
        for prj, w in zip(state.projections, last["weights"]):
            prj._values["weight"] = w
    try:
        res = _emulate(state, exp)
    except RoutingError as err:  # what mapping does not check: routes on the system
        raise connection_error(err) from None
    except PlasticityError as err:  # a rule failed: the populations get what ran before it
        if err.results is not None:
            state.last_experiment, state.last_info, state.results = exp, info, err.results
            t_ms = err.results.metadata["runtime_us"] / state.us_per_ms
            store_results(state, exp, err.results, info, t_ms)
            store_observables(state, exp, err.results)
            state.t, state.running = t_ms, True  # get_data() reads up to where the run stopped
        raise
    res.metadata["system"] = {"name": state.system.name, "chips": len(state.system.chips),
                              "sized_for_network": state.config.size_system}
    state.last_experiment, state.last_info, state.results = exp, info, res
    store_results(state, exp, res, info, tstop)
    store_observables(state, exp, res)


def _emulate(state, exp):
    """``bss2emu.run(exp)`` with the view's settings; in the in-process placement through the
    segment's ``Coordinator`` (``state.emulation``), which a continued run of the segment
    resumes instead of starting from t = 0."""
    cfg = state.config
    if cfg.service is not None:  # the service runs it; a continued run starts from t = 0 there
        close_emulation(state)
        chips = len(state.system.chips) if cfg.size_system else cfg.chips
        return bss2emu.run(exp, system=cfg.system, chips=chips, partitioner=cfg.partitioner,
                           service=cfg.service, token=cfg.token)
    if cfg.placement != "local" or cfg.address is not None:
        close_emulation(state)
        return bss2emu.run(exp, system=state.system, placement=cfg.placement, address=cfg.address,
                           partitioner=cfg.partitioner)
    coord = state.emulation
    try:
        if coord is None or not coord.continue_with(exp):
            close_emulation(state)
            coord = state.emulation = Coordinator(exp, state.system, "local", partitioner=cfg.partitioner)
        res = coord.run(keep=True)
    except BaseException:
        close_emulation(state)
        raise
    warn_dropped(res, coord.mapping.system)
    return res


def close_emulation(state) -> None:
    """Free the chips a segment's ``Coordinator`` keeps for its next run (reset, setup, end)."""
    coord, state.emulation = state.emulation, None
    if coord is not None:
        coord.close()
