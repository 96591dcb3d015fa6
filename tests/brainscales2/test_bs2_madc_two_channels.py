"""The MADC's two channels from pynn.brainscales2's API: two neurons' analog signals at once
(e.g. ``adaptation`` of one neuron and ``v`` of its neighbour, as brainscales2-demos'
``fp_adex_complex_dynamics``/``ts_08`` record them), each an ``IrregularlySampledSignal``
with its own, interleaved sample times; what the real stack refuses, refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bss2emu.errors import RoutingError

from bs2_scripts import pynn  # noqa: F401 (fixture)

DT_MS = 1e-4  # the view's time step: 0.1 µs hardware
# fp_adex_complex_dynamics' experiment() with the first widget's defaults (the solution figure
# _static/tutorial/adex-subthreshold.png): target neuron 1, its membrane joined to a readout
# dummy on its right
WIDGET = dict(leak_i_bias=70, leak_v_leak=700, adaptation_v_ref=500, adaptation_i_bias_tau=100,
              adaptation_i_bias_a=10, constant_current_i_offset=300)
NEURON = dict(reset_v_reset=300, reset_i_bias=1022, reset_enable_multiplication=True,
              membrane_capacitance_capacitance=63, refractory_period_refractory_time=30,
              refractory_period_enable_pause=True, threshold_v_threshold=620, threshold_enable=True,
              adaptation_enable_pulse=True, adaptation_i_bias_b=0, multicompartment_connect_right=True,
              exponential_enable=False, adaptation_enable=True, adaptation_v_leak=500, **WIDGET)
DUMMY = dict(membrane_capacitance_capacitance=0, leak_i_bias=0, leak_enable_division=True, threshold_enable=False)


def _joined(signals):
    t = np.concatenate([s.times.rescale("ms").magnitude for s in signals])
    return t, np.concatenate([np.asarray(s.magnitude).ravel() for s in signals])


def adex_subthreshold(pynn, **neuron):
    """The tutorial's run: 0.1 ms without, 0.6 ms with, 0.3 ms without the stimulus current;
    the (times, codes) of the adaptation state and of the membrane, and the signals."""
    pynn.end()
    pynn.setup(ideal=True, neuronPermutation=[1, 2])
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    for k, v in {**NEURON, **neuron}.items():
        setattr(pop[0], k, v)
    for k, v in DUMMY.items():
        setattr(pop[1], k, v)
    pop[0:1].record(["adaptation", "spikes"])
    pop[1:2].record(["v"])
    for current, runtime, cmd in ((False, 0.1, pynn.RunCommand.APPEND), (True, 0.6, pynn.RunCommand.APPEND),
                                  (False, 0.3, pynn.RunCommand.EXECUTE)):
        pop[0:1].set(constant_current_enable=current)
        pynn.run(runtime, cmd)
    w = pop.get_data("adaptation").segments[0].irregularlysampledsignals
    v = pop.get_data("v").segments[0].irregularlysampledsignals
    return _joined(w), _joined(v), (w, v)


def _mean(t, x, a, b):
    return float(x[(t >= a) & (t < b)].mean())


def test_adex_tutorial_records_adaptation_and_membrane_on_the_two_channels_alternately(pynn):
    (tw, w), (tv, v), (ws, vs) = adex_subthreshold(pynn)
    assert len(ws) == len(vs) == 3  # one signal per snippet each, as the real stack
    assert ws[0].annotations["channel_ids"] != vs[0].annotations["channel_ids"]
    # each channel gets every second sample of the MADC: 0.2 µs apart, the other's in between
    assert np.allclose(np.diff(tw), 2 * DT_MS, atol=1e-5) and np.allclose(np.diff(tv), 2 * DT_MS, atol=1e-5)
    assert len(tw) + len(tv) == pytest.approx(1.0 / DT_MS, abs=2)
    assert np.all(tv[:100] > tw[:100]) and np.all(tw[1:101] > tv[:100])
    # both are MADC codes inside the tutorial's plot range (150..750), not the CADC's 8-bit ones
    assert 150 < v.min() and v.max() < 750 and 150 < w.min() and w.max() < 750
    assert np.array_equal(w, np.rint(w)) and np.array_equal(v, np.rint(v))


def test_adaptation_codes_match_the_tutorials_solution_figure(pynn):
    """adex-subthreshold.png: the adaptation state rests at ≈ 425 codes and rises by 0.80
    codes per code of the membrane's settled rise (73 of 96 in the figure, 74 of 95 here), and
    relaxes back after it (at 0.95–1 ms the figure's is still ≈ 5 codes above its rest)."""
    (tw, w), (tv, v), _ = adex_subthreshold(pynn)
    rest, plateau, after = _mean(tw, w, 0.05, 0.1), _mean(tw, w, 0.6, 0.7), _mean(tw, w, 0.95, 1.0)
    assert rest == pytest.approx(425, abs=6)
    assert after == pytest.approx(rest + 5, abs=3)
    # the membrane (the readout dummy shows the joined membrane) steps up with the stimulus and back
    v_rest, v_on, v_after = _mean(tv, v, 0.05, 0.1), _mean(tv, v, 0.6, 0.7), _mean(tv, v, 0.95, 1.0)
    assert v_on - v_rest > 20 and v_after == pytest.approx(v_rest - 4, abs=3)  # the figure's: ≈ 5 below
    # V_w = V_ref + w · R with w = a (V - E_L) settled: a · R is fitted to this share
    assert (plateau - rest) / (v_on - v_rest) == pytest.approx(0.80, abs=0.05)
    # and the adaptation baseline follows adaptation_v_ref (≈ 1 code per LSB)
    (tw2, w2), _, _ = adex_subthreshold(pynn, adaptation_v_ref=400)
    assert _mean(tw2, w2, 0.05, 0.1) == pytest.approx(rest - 100, abs=2)


def test_each_channel_is_what_a_single_channel_recording_reads(pynn):
    """The second channel changes nothing but which samples a signal gets."""
    (tw, w), (tv, v), _ = adex_subthreshold(pynn)
    pynn.end()
    pynn.setup(ideal=True, neuronPermutation=[1, 2])
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    for k, val in NEURON.items():
        setattr(pop[0], k, val)
    for k, val in DUMMY.items():
        setattr(pop[1], k, val)
    pop[1:2].record(["v"])
    for current, runtime, cmd in ((False, 0.1, pynn.RunCommand.APPEND), (True, 0.6, pynn.RunCommand.APPEND),
                                  (False, 0.3, pynn.RunCommand.EXECUTE)):
        pop[0:1].set(constant_current_enable=current)
        pynn.run(runtime, cmd)
    t1, v1 = _joined(pop.get_data("v").segments[0].irregularlysampledsignals)
    assert len(t1) == len(tv) + len(tw)
    assert np.array_equal(v1[1::2], v) and np.allclose(t1[1::2], tv)


def test_two_neurons_of_one_population_record_v_on_the_madc(pynn):
    """The real stack's test_2ch_recording: pop[0:2].record("v") on the MADC."""
    pop = pynn.Population(3, pynn.cells.HXNeuron(leak_v_leak=700, leak_i_bias=500))
    pop[0:1].set(leak_v_leak=500)  # 94 codes below leak 700 (the leak map: 0.55 mV per LSB there)
    pop[0:2].record(["v"], device="madc")
    pynn.run(0.02)
    a, b = pop[0:2].get_data("v").segments[-1].irregularlysampledsignals
    assert len(b) == 100 and len(a) - len(b) in (0, 1) and a.times[0] < b.times[0] < a.times[1]
    assert a.magnitude[-1] < b.magnitude[-1] - 50  # neuron 0 rests lower: its own trace


def test_a_third_madc_source_is_refused_naming_them_and_the_limit(pynn):
    pop = pynn.Population(3, pynn.cells.HXNeuron())
    pop[0:1].record("adaptation")
    pop[1:2].record("exc_synin")
    pop[2:3].record("inh_synin")
    with pytest.raises(ValueError, match=r"adaptation of 1 neuron .*exc_synin of 1 neuron .*inh_synin of 1 neuron "
                                         r".*at most 2 neurons per run .*record at most two"):
        pynn.run(0.01)


def test_two_madc_sources_of_one_neuron_are_refused(pynn):
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    pop[0:1].record(["adaptation", "exc_synin"])
    with pytest.raises(ValueError, match=r"adaptation and exc_synin of neuron 0 .* one source per neuron"):
        pynn.run(0.01)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.integers(0, 5), second=st.integers(0, 5))
def test_two_sources_run_exactly_when_their_columns_differ_in_parity(pynn, first, second):
    """Consecutive neurons sit in consecutive columns: neurons i and j share the MADC when
    i - j is odd; otherwise the run is refused, naming both and the fix."""
    if first == second:
        return
    pynn.end()  # a fresh setup per example (the fixture's is one per test)
    pynn.setup(ideal=True)
    pop = pynn.Population(6, pynn.cells.HXNeuron())
    pop[first:first + 1].record("adaptation")
    pop[second:second + 1].record("exc_synin")
    if (first - second) % 2:
        pynn.run(0.01)
        assert len(pop.get_data().segments[-1].irregularlysampledsignals) == 2
    else:
        with pytest.raises(RoutingError, match=rf"neuron {first} of .* and neuron {second} of .*both in "
                                               rf"(even|odd) columns.*neuronPermutation"):
            pynn.run(0.01)
