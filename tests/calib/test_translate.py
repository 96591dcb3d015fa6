"""Translation of PyNN parameters and weights: exact on an ideal chip, weights quantised
to within half an LSB, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib import BIO_MAP, BioMap, bio_targets, bio_to_hw, calibrate, calibrate_bio, weight_lsb, weights_to_hw
from bss2emu.calib.targets import CalibrationTargets, psp_shape_us
from bss2emu.calib.translate import explain_unreachable
from bss2emu.chip_actor.analog import (ADAPTATION_A_US_PER_LSB, ADAPTATION_B_NA_PER_LSB, G_LEAK_US_PER_LSB,
                                      I_CONST_NA_PER_LSB, TAU_W_US_TIMES_LSB, voltage_map)
from bss2emu.errors import ConfigError

IF_CURR_EXP = {"v_rest": -65.0, "v_reset": -70.0, "v_thresh": -50.0, "cm": 1.0, "tau_m": 20.0,
               "tau_syn_E": 5.0, "tau_syn_I": 10.0, "tau_refrac": 2.0, "i_offset": 0.1}
EIF = {"cm": 0.281, "tau_refrac": 0.1, "v_spike": -40.0, "v_reset": -70.6, "v_rest": -70.6, "tau_m": 9.3667,
       "i_offset": 0.0, "a": 4.0, "b": 0.0805, "delta_T": 2.0, "tau_w": 144.0, "v_thresh": -50.4,
       "e_rev_E": 0.0, "tau_syn_E": 5.0, "e_rev_I": -80.0, "tau_syn_I": 5.0}
MV_PER_DAC = 1200.0 / 1022  # reversal potentials and V_T


def _dac(name, mv):
    """The nominal DAC value of a voltage cell for ``mv`` (leak, reset and threshold have their own maps)."""
    m = voltage_map(name)  # straight below a knee, steeper above it: linear on each side
    return round(float(m.dac_of_linear((mv - m.offset_mv) / m.mv_per_lsb)))


def test_voltage_map():
    assert BIO_MAP.v_hw(-65.0) == 350.0 and BIO_MAP.v_hw(0.0) == 1000.0
    assert BioMap(1000.0, 10.0).v_bio(BioMap(1000.0, 10.0).v_hw(-57.3)) == pytest.approx(-57.3)


def test_ideal_chip_reproduces_the_nominal_maps():
    hw = bio_to_hw(IF_CURR_EXP, ideal=True)
    assert int(hw["v_leak"][0]) == _dac("v_leak", 350.0) == 638  # (350 + 1) / 0.55, below the knee
    assert int(hw["v_reset"][0]) == _dac("v_reset", 300.0)
    assert int(hw["v_threshold"][0]) == _dac("v_threshold", 500.0)
    # the capacitance setting that realises τ_m best (largest among equals); C = 2.3 pF·(c+1)/64
    c_hw = 2.3 * (int(hw["capacitance"][0]) + 1) / 64
    assert int(hw["i_bias_leak"][0]) == round(c_hw / (G_LEAK_US_PER_LSB * 20.0))  # g_L = C/τ_m
    assert abs(c_hw / (G_LEAK_US_PER_LSB * 20.0) - int(hw["i_bias_leak"][0])) < 0.05  # τ_m within 0.2 %
    assert int(hw["i_bias_syn_exc_tau"][0]) == 60 and int(hw["i_bias_syn_inh_tau"][0]) == 30  # 300 µs / value
    assert (int(hw["refractory_count"][0]), int(hw["refractory_clock"][0])) == (250, 1)  # 250·2·4 ns = 2 µs
    # i_offset 0.1 nA on 1 nF, 20 ms: 2 mV bio = 20 mV hw at rest: I/C = 20/20 mV/µs
    assert int(hw["i_const"][0]) == round(20.0 / 20.0 * c_hw / I_CONST_NA_PER_LSB)
    assert int(hw["coba_exc"][0]) == 0 and int(hw["enable_exponential"][0]) == 0
    assert int(hw["capacitance"][0]) > 50 and int(hw["enable_fire"][0]) == 1


def test_ideal_adex_and_conductances():
    hw = bio_to_hw(EIF, ideal=True)
    assert int(hw["coba_exc"][0]) == int(hw["coba_inh"][0]) == 1
    assert int(hw["e_rev_exc"][0]) == round(1000.0 / MV_PER_DAC)
    assert int(hw["e_rev_inh"][0]) == round(200.0 / MV_PER_DAC)
    assert int(hw["enable_exponential"][0]) == 1 and int(hw["enable_adaptation"][0]) == 1
    assert int(hw["i_bias_exp"][0]) == round(20.0 / 0.05)  # Δ_T = 2 mV bio = 20 mV hw, 0.05 mV per LSB
    assert int(hw["v_exp"][0]) == round(BIO_MAP.v_hw(-50.4) / MV_PER_DAC)
    assert int(hw["v_threshold"][0]) == _dac("v_threshold", 600.0)  # v_spike
    assert int(hw["i_bias_adapt_tau"][0]) == round(TAU_W_US_TIMES_LSB / 144.0)
    c_hw = 2.3 * (int(hw["capacitance"][0]) + 1) / 64  # pF, at the chosen capacitance setting
    # a/g_L = 4 nS · 9.3667 ms / 0.281 nF; hardware g_L = C / 9.3667 µs
    a_hw_ns = 4e-3 * 9.3667 / 0.281 * (c_hw / 9.3667) * 1e3
    assert int(hw["i_bias_adapt_a"][0]) == round(a_hw_ns / (ADAPTATION_A_US_PER_LSB * 1e3))
    b_hw_na = 10 * 0.0805 * 9.3667 / 0.281 * (c_hw / 9.3667)  # b/C in mV/µs · C
    assert int(hw["i_bias_adapt_b"][0]) == round(b_hw_na / ADAPTATION_B_NA_PER_LSB)


def test_per_neuron_values_land_on_their_circuits():
    tau = np.array([10.0, 20.0, 40.0])
    t = bio_targets({"tau_m": tau, "v_rest": -60.0}, circuits=[5, 300, 7])
    assert t["tau_m_us"][[5, 300, 7]].tolist() == tau.tolist() and t["tau_m_us"][0] == 10.0  # default elsewhere
    hw = bio_to_hw({"tau_m": tau}, ideal=True, circuits=[5, 300, 7])
    c_hw = 2.3 * (hw["capacitance"] + 1) / 64
    np.testing.assert_allclose(c_hw / (G_LEAK_US_PER_LSB * hw["i_bias_leak"]), tau, rtol=0.005)  # each its own τ_m


def test_max_weight_sets_the_gain():
    params = dict(IF_CURR_EXP, max_weight_E=0.5)
    cal = calibrate_bio(params, ideal=True)
    w, err = weights_to_hw([0.5], [0], cal, cm_nf=1.0)
    assert int(w[0]) == 63
    cond = calibrate_bio(dict(EIF, max_weight_E=0.02), ideal=True)
    assert int(weights_to_hw([0.02], [0], cond, cm_nf=0.281, conductance=True)[0][0]) == 63


def test_gain_matches_the_psp_target_on_an_ideal_chip():
    cal = calibrate(ideal=True, store=False)
    s = cal.gains["syn_exc_mv_per_us"][0]
    # the gain is proportional to its bias: the nearest bias is within half a step, 0.5/bias relative
    half_step = 0.5 / cal.dac["i_bias_syn_exc_gm"][0]
    assert 63 * s * psp_shape_us(10.0, 5.0) == pytest.approx(cal.targets["psp_exc_mv"][0], rel=half_step * (1 + 1e-9))


@pytest.mark.parametrize("conductance", [False, True])
def test_weight_quantisation_error_is_at_most_half_an_lsb(calibrated, conductance, rng):
    post = rng.integers(0, 512, 2000)
    cm = rng.uniform(0.2, 1.0, 2000)
    lsb = weight_lsb(calibrated, post, cm, "inhibitory", conductance)
    w = rng.uniform(0, 63.4, 2000) * lsb
    if not conductance:
        w = -w  # PyNN: current-based inhibitory weights are negative
    hw, err = weights_to_hw(w, post, calibrated, cm, "inhibitory", conductance)
    assert hw.min() >= 0 and hw.max() <= 63
    assert np.all(np.abs(err) <= lsb / 2 * (1 + 1e-12))
    np.testing.assert_allclose(hw * lsb, np.abs(w) + err, rtol=1e-12)


def test_weights_use_each_circuits_calibrated_gain(calibrated):
    lsb = weight_lsb(calibrated, np.arange(512))
    assert np.std(lsb) / np.mean(lsb) < 0.01  # calibrated: the same weight means the same PSP
    w = 20.0 * lsb[3]
    assert weights_to_hw([w], [3], calibrated)[0][0] == 20


def test_errors():
    cal = calibrate(ideal=True, store=False)
    with pytest.raises(ConfigError, match="needs .* weight LSBs"):
        weights_to_hw([100.0], [0], cal)
    with pytest.raises(ConfigError, match="negative"):
        weights_to_hw([-0.1], [0], cal)
    with pytest.raises(ConfigError, match="receptor"):
        weights_to_hw([0.1], [0], cal, receptor="modulatory")
    with pytest.raises(ConfigError, match="unknown neuron parameter.*'tau_m_bogus'"):
        bio_to_hw({"tau_m_bogus": 1.0}, ideal=True)
    with pytest.raises(ConfigError, match="tau_m=500 ms is outside the calibrated range 0.5 … 60 ms"):
        bio_to_hw({"tau_m": 500.0}, ideal=True)
    with pytest.raises(ConfigError, match="different lengths"):
        bio_to_hw({"tau_m": [10.0, 20.0], "v_rest": [-60.0, -61.0, -62.0]}, ideal=True)
    with pytest.raises(ConfigError, match="circuits"):
        bio_to_hw({"tau_m": [10.0, 20.0]}, ideal=True, circuits=[3, 3])
    with pytest.raises(ConfigError, match="no membrane capacitance realises tau_m=50 ms with inputs this strong"):
        # at most 5.57 nA at this tau_m and cm (capacitance 53); 10 nA is inside the PSP range (10.33 nA)
        bio_to_hw({"cm": 1.0, "tau_m": 50.0, "tau_syn_E": 5.0, "max_weight_E": 10.0}, ideal=True)
    strong = CalibrationTargets(tau_m_us=1.2, tau_syn_exc_us=0.5, psp_exc_mv=300.0)
    with pytest.raises(ConfigError, match="excitatory PSP height .* target 300 cannot be reached on circuit 0"):
        explain_unreachable(calibrate(strong, ideal=True, store=False), [0])
    with pytest.raises(ConfigError, match="largest excitatory weight onto a neuron, 20 nA, is outside the "
                                          "calibrated range 0 … 12.7 nA for this neuron's cm and tau_m"):
        bio_to_hw(dict(IF_CURR_EXP, max_weight_E=20.0), ideal=True)
