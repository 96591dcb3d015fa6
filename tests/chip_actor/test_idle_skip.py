"""Idle phases: once every neuron that is not at a fixed point is at *decaying rest*
(``kernels.rest_probe``: only its synaptic inputs still change, too little to move anything),
a long call updates only those inputs and jumps to the next input event
(``kernels.decay_inputs``). The results are those of stepping every neuron every step, bit
for bit: calls of one step never look for rest, so they are the reference."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.chip_actor import kernels as K
from bss2emu.cluster.coordinator import Coordinator
from bss2emu.protocol.experiment import Experiment

ROW_US, BURST, BURST_DT_US, N_IN, N_OUT = 600.0, 15, 4.2, 20, 20
# AdEx with the exponential term, without adaptation (whose slow relaxation would outlast a
# short test's idle time)
PARAMS = {"v_leak": 785, "v_reset": 635, "v_threshold": 518, "enable_exponential": 1, "v_exp": 585,
          "i_bias_exp": 40, "i_bias_leak": 105, "capacitance": 63, "i_bias_syn_exc_tau": 60,
          "i_bias_syn_inh_tau": 60, "refractory_count": 125, "refractory_clock": 2}


def idle_experiment(rows: int = 3, seed: int = 3) -> Experiment:
    """Bursts of input (excitatory and inhibitory) at the start of each row, then idle."""
    rng = np.random.default_rng(seed)
    times = [[] for _ in range(N_IN)]
    for row in range(rows):
        for s in rng.choice(N_IN, 8, replace=False):
            times[s] += [round(row * ROW_US + 1.0 + 0.1 * s + k * BURST_DT_US, 3) for k in range(BURST)]
    return Experiment.model_validate({
        "name": "idle", "seed": seed, "runtime_us": rows * ROW_US, "dt_ns": 100, "chip": {"ideal": True},
        "populations": [{"name": "out", "size": N_OUT, "params": PARAMS}],
        "sources": [{"kind": "spike_array", "name": "in", "size": N_IN, "spike_times_us": [sorted(t) for t in times]}],
        "projections": [
            {"name": "exc", "pre": "in", "post": "out", "weight": 30, "connector": {"kind": "all_to_all"}},
            {"name": "inh", "pre": "in", "post": "out", "weight": 10, "receptor": "inhibitory",
             "connector": {"kind": "fixed_probability", "p": 0.3}},
        ],
    })


def _run(exp: Experiment, window_steps: int):
    co = Coordinator(exp, max_window_steps=window_steps)
    res = co.run(keep=True)
    chip = co.backend.host._list[0].chip
    state = {k: getattr(chip, k).copy() for k in ("nstate", "ref_end", "spike_count")}
    co.close()
    return res.spikes, state


@pytest.fixture(scope="module")
def stepped():
    return _run(idle_experiment(), 1)  # one step per call: no rest probe, every neuron every step


@pytest.mark.parametrize("window_steps", [2000, 700, 64])
def test_skipping_idle_steps_gives_the_bits_of_stepping(stepped, window_steps):
    want_spikes, want_state = stepped
    got_spikes, got_state = _run(idle_experiment(), window_steps)
    assert want_spikes.num_rows > 50  # the bursts make the outputs fire
    assert got_spikes.equals(want_spikes)
    for name, a in want_state.items():
        assert got_state[name].tobytes() == a.tobytes(), name


def test_the_idle_outputs_reach_decaying_rest():
    """After a burst and a long idle time the outputs are not at a fixed point (their inputs
    still decay) but at decaying rest: the path the tests above compare is taken."""
    exp = idle_experiment(rows=1)
    co = Coordinator(exp, max_window_steps=1)
    co.run(until_us=ROW_US - 10.0, keep=True)
    host = co.backend.host
    chip = host._list[0].chip
    before, ref_before = chip.nstate.copy(), chip.ref_end.copy()
    host.run_windows(np.array([chip.step, chip.step + 1]))
    t0 = chip.step * chip.dt_ns
    lo, hi, decaying = K.rest_probe(chip.nstate, before, chip.ref_end, ref_before, t0, chip.coef, chip.flags, True)
    assert hi > lo and decaying
    assert np.all(chip.nstate[K.S_IE, lo:hi] != before[K.S_IE, lo:hi])  # the inputs still change
    # an input that moves the membrane is no decaying rest
    before[K.S_IE, lo] = 1.0
    assert not K.rest_probe(chip.nstate, before, chip.ref_end, ref_before, t0, chip.coef, chip.flags, True)[2]
    co.close()


def test_interior_spacing():
    assert K.interior_spacing(3.0) == np.spacing(3.0)
    assert K.interior_spacing(587.2) == np.spacing(587.2)
    assert K.interior_spacing(-587.2) == np.spacing(587.2)
    for v in (4.0, 0.0, 5e-324, np.inf, np.nan):  # a power of two, zero, subnormal, not finite
        assert K.interior_spacing(v) == 0.0


def test_the_idle_phases_benchmark_runs(benchmark_script):
    """``benchmarks/idle_phases.py`` briefly: its PPU kernel writes nothing, so the run with
    the timer records the spikes of the run without."""
    bench = benchmark_script("idle_phases")
    out = bench.main(["--rows", "2", "--repeat", "1"])
    (_, _, with_ppu), (_, _, without) = out.values()
    assert with_ppu == without > 0

