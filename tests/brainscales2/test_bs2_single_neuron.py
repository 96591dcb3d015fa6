"""Tutorial-style single-neuron scripts on bss2emu.brainscales2: HXNeuron's real parameter
names, hardware ms, MADC traces as IrregularlySampledSignals, and the same neuron in both
views of the backend."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import neo
import numpy as np
import quantities as pq

from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics, voltage_map
from bss2emu.protocol.atomic_neuron import HXNEURON_FIXED, flat_to_internal
from bss2emu.protocol.hardware import NeuronConfig
from bss2emu.pynn import simulator

from bs2_scripts import LEAK_OVER_THRESHOLD, single_neuron, pynn  # noqa: F401 (fixture)


def _physics(flat: dict):
    """The ideal circuit's physical parameters for flattened HXNeuron values (chip_actor's maps)."""
    cfg = NeuronConfig()
    for name, value in flat_to_internal({**flat, **HXNEURON_FIXED}).items():
        cfg.column(name)[:] = value
    return neuron_physics(cfg, chip_mismatch(0, ideal=True))


def test_leak_over_threshold_fires_at_the_analytic_rate(pynn):
    """Held at v_reset for the refractory time, then rising towards E_L above the threshold:
    ISI = τ_ref + τ_m·ln((E_L − V_reset)/(E_L − V_th))."""
    spikes_ms, _ = single_neuron(pynn, LEAK_OVER_THRESHOLD, runtime_ms=0.2)
    phys = _physics(LEAK_OVER_THRESHOLD)
    tau_m_us = phys.c_m[0] / phys.g_l[0]
    isi_us = phys.tau_ref_ns[0] / 1e3 + tau_m_us * np.log((phys.e_l[0] - phys.v_reset[0])
                                                          / (phys.e_l[0] - phys.v_th[0]))
    isi_ms = np.diff(spikes_ms)[1:]  # the first starts at the leak, not at the reset
    assert len(isi_ms) > 10
    assert np.mean(isi_ms) == pytest.approx(isi_us / 1000.0, abs=1e-4)  # within the 0.1 µs step


def test_a_default_hxneuron_is_silent(pynn):
    spikes_ms, _ = single_neuron(pynn, {}, runtime_ms=0.1)
    assert len(spikes_ms) == 0


def test_madc_trace_is_an_irregularly_sampled_signal_in_hardware_ms(pynn):
    _, v = single_neuron(pynn, LEAK_OVER_THRESHOLD, runtime_ms=0.1)
    assert isinstance(v, neo.IrregularlySampledSignal)
    assert v.times.units == pq.ms
    t = v.times.magnitude
    assert t[0] == pytest.approx(0.0) and t[-1] == pytest.approx(0.1)
    # every 0.1 µs step, time-stamped on the FPGA's 8 ns ticks
    assert np.mean(np.diff(t)) == pytest.approx(1e-4, rel=1e-3)
    assert np.abs(np.diff(t) - 1e-4).max() <= 8e-6 + 1e-12
    codes = v.magnitude.ravel()
    assert np.all(codes == np.rint(codes)) and 0 <= codes.min() and codes.max() <= 1023  # 10-bit MADC codes
    # it starts at the leak (1000 DAC), then swings between reset (400) and threshold (500),
    # each through its cell's map (1104, 0 and 619 mV), read on the MADC's 1023 codes of 1.2 V
    def code(name, dac):
        return float(voltage_map(name).mv(dac)) * 1023 / 1200

    assert codes[0] == pytest.approx(code("v_leak", 1000), abs=2)
    after = codes[t > 0.01]
    assert after.min() == pytest.approx(code("v_reset", 400), abs=2)
    # the last sample before a spike lies at most one 0.1 µs step's rise below the threshold
    # (τ_m = 2.3 pF / (320 · 4.5 nS) = 1.6 µs)
    step_rise = (code("v_leak", 1000) - code("v_threshold", 500)) * (1 - np.exp(-0.1 / 1.6))
    assert code("v_threshold", 500) - step_rise - 2 <= after.max() <= code("v_threshold", 500) + 2


def test_run_is_in_hardware_ms(pynn):
    """``run(0.2)`` emulates 200 µs on the chip."""
    pop = pynn.Population(1, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD))
    pop.record("spikes")
    assert pynn.run(0.2) == pytest.approx(0.2)
    assert pynn.get_current_time() == pytest.approx(0.2)
    assert simulator.state.last_experiment.runtime_us == pytest.approx(200.0, abs=0.2)
    train = pop.get_data().segments[-1].spiketrains[0]
    assert float(train.t_stop.rescale(pq.ms)) == pytest.approx(0.2)
    assert 0.19 < train.magnitude.max() <= 0.2


def test_cadc_membranes_as_irregularly_sampled_signals(pynn):
    pop = pynn.Population(3, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD))
    pop.record("v", device="cadc")
    pynn.run(0.05)
    signals = pop.get_data().segments[-1].irregularlysampledsignals
    assert len(signals) == 3
    codes = np.concatenate([s.magnitude.ravel() for s in signals])
    assert codes.max() <= 255 and np.all(codes == np.rint(codes))  # 8-bit CADC codes
    assert np.diff(signals[0].times.magnitude).min() >= 0.54e-3  # at most 1.85 MSample/s


def test_the_same_neuron_spikes_identically_in_both_views():
    """bss2emu.pynn's HXNeuron (bss2emu's parameter names, biological ms = hardware µs) and
    bss2emu.brainscales2's (lola names, hardware ms) are views of one backend."""
    import bss2emu.brainscales2 as bs2
    import bss2emu.pynn as nest_style

    bs2.setup(serial=5, ideal=False)  # the same (mismatched) chip in both views
    spikes_hw_ms, _ = single_neuron(bs2, LEAK_OVER_THRESHOLD, runtime_ms=0.2)
    bs2.end()

    nest_style.setup(timestep=0.1, serial=5, ideal=False)
    internal = flat_to_internal({**LEAK_OVER_THRESHOLD, **HXNEURON_FIXED})
    pop = nest_style.Population(1, nest_style.HXNeuron(**internal))
    pop.record("spikes")
    nest_style.run(200.0)
    spikes_bio_ms = np.asarray(pop.get_data().segments[-1].spiketrains[0].magnitude)
    nest_style.end()

    assert len(spikes_bio_ms) > 10
    np.testing.assert_allclose(spikes_hw_ms * 1000.0, spikes_bio_ms, rtol=0, atol=1e-9)


def test_get_default_values_lists_the_real_names():
    import bss2emu.brainscales2 as pynn

    defaults = pynn.cells.HXNeuron.get_default_values()
    for name in ("leak_v_leak", "leak_i_bias", "threshold_v_threshold", "membrane_capacitance_capacitance",
                 "refractory_period_refractory_time", "excitatory_input_i_bias_tau", "multicompartment_connect_right"):
        assert name in defaults
    assert defaults["threshold_enable"] is False  # lola's default neuron is silent
    assert "event_routing_analog_output" not in defaults  # not configurable in pynn.brainscales2 either
    assert pynn.cells.HXNeuron().parameter_space["leak_v_leak"].base_value == defaults["leak_v_leak"]


def test_poisson_sources_in_hardware_hz_keep_their_rate_and_their_past(pynn):
    """SpikeSourcePoisson's rate is per second of the view's (hardware) time: 200 kHz over
    0.5 hardware ms gives 100 spikes per source (50 sources: the mean within 4 standard
    errors, sqrt(100 / 50) = 1.4). Running on (past the 1 ms hardware the trains are drawn in
    at a time) keeps the spikes already given and goes on at the same rate."""
    src = pynn.Population(50, pynn.cells.SpikeSourcePoisson(rate=2e5, start=0.0, duration=10.0))
    src.record("spikes")
    pynn.run(0.5)
    first = [np.asarray(t) for t in src.get_data().segments[-1].spiketrains]
    counts = np.array([len(t) for t in first])
    assert abs(counts.mean() - 100) < 4 * np.sqrt(100 / 50)
    assert all(t.max() < 0.5 for t in first if len(t))
    pynn.run(1.0)
    later = [np.asarray(t) for t in src.get_data().segments[-1].spiketrains]
    assert all(np.array_equal(a, b[b < 0.5]) for a, b in zip(first, later))
    assert abs(np.mean([len(t) for t in later]) - 300) < 4 * np.sqrt(300 / 50)


@pytest.mark.parametrize("rate_hz, size", [(120e3, 1), (5e3, 16), (1e6, 4)])
def test_an_on_chip_poisson_source_in_hardware_hz(pynn, rate_hz, size):
    """SpikeSourcePoissonOnChip's rate is per hardware second in this view (ts_11 asks for
    120 kHz): the background generator's setting emits size × rate events per hardware µs
    / 1e6 within 1 %."""
    bg = pynn.Population(size, pynn.cells.SpikeSourcePoissonOnChip(rate=rate_hz, seed=3))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    pynn.Projection(bg, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=10))
    pynn.run(0.01)
    src = next(s for s in simulator.state.last_experiment.sources if s.kind == "background")
    per_us = src.rate / 256 / (src.period * 4e-3)
    assert per_us == pytest.approx(size * rate_hz / 1e6, rel=0.01)
