"""The ideal translation is the inverse of ``chip_actor.analog``'s maps (no mismatch):
biological values → DAC values → the physics the emulated chip integrates → back to the
biological values, within the quantisation of one DAC step."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics, stp_tau_us, stp_utilisation
from bss2emu.protocol.hardware import NEURON_PARAMETER_INDEX, NeuronConfig
from bss2emu.pynn import translation as T

EIF = dict(cm=[0.281, 0.5], tau_refrac=[0.1, 2.0], v_spike=[-40.0, -45.0], v_reset=[-70.6, -60.0],
           v_rest=[-70.6, -65.0], tau_m=[9.3667, 15.0], i_offset=[0.3, 0.0], a=[4.0, -2.0], b=[0.0805, 0.02],
           delta_T=[2.0, 1.0], tau_w=[144.0, 50.0], v_thresh=[-50.4, -52.0], e_rev_E=[0.0, -5.0],
           tau_syn_E=[5.0, 3.0], e_rev_I=[-80.0, -75.0], tau_syn_I=[5.0, 7.0])


def _physics(tr: T.NeuronTranslation):
    n = len(tr.dac["capacitance"])
    cfg = NeuronConfig()
    for name, values in tr.dac.items():
        cfg.values[:n, NEURON_PARAMETER_INDEX[name]] = values
    phys = neuron_physics(cfg, chip_mismatch(0, ideal=True))
    return type(phys)(*(np.asarray(f)[:n] for f in phys))


def test_eif_round_trip_through_the_chip_physics():
    weights = {"excitatory": np.array([0.01, 0.02, 0.005]), "inhibitory": np.array([0.04])}
    p = {k: np.array(v) for k, v in EIF.items()}
    tr = T.bio_to_hw("EIF_cond_exp_isfa_ista", p, weights=weights)
    phys = _physics(tr)
    k_c = phys.c_m / p["cm"]  # pF per nF, the neuron's capacitance scale
    lsb_v = T.MV_PER_DAC / T.K_V  # biological mV per voltage DAC step
    for name, hw in (("v_rest", phys.e_l), ("v_reset", phys.v_reset), ("v_spike", phys.v_th),
                     ("v_thresh", phys.v_t), ("e_rev_E", phys.e_exc), ("e_rev_I", phys.e_inh)):
        assert np.all(np.abs(T.voltage_to_bio(hw) - p[name]) <= lsb_v / 2 + 1e-9), name
    assert np.allclose(phys.c_m / phys.g_l, p["tau_m"], rtol=0.01)
    assert np.allclose(phys.tau_exc, p["tau_syn_E"], rtol=0.01) and np.allclose(phys.tau_inh, p["tau_syn_I"], rtol=0.01)
    assert np.allclose(phys.tau_w, p["tau_w"], rtol=0.01)
    assert np.allclose(phys.delta_t / T.K_V, p["delta_T"], rtol=0.01)
    assert np.allclose(phys.a / k_c * 1e3, p["a"], rtol=0.02)  # nS, sign included
    assert np.allclose(phys.b / (k_c * T.K_V), p["b"], rtol=0.02)
    assert np.allclose(phys.i_const / (k_c * T.K_V), p["i_offset"], rtol=0.02, atol=1e-3)
    assert np.array_equal(phys.tau_ref_ns, [100, 2000])
    assert phys.coba_exc.all() and phys.coba_inh.all()
    # weights: code × per-neuron gain realise the biological conductance on every neuron
    for rec, gain in (("excitatory", phys.gain_exc), ("inhibitory", phys.gain_inh)):
        for w in weights[rec]:
            code = np.rint(w / tr.weight_lsb[rec])
            assert np.allclose(code * gain / k_c, w, rtol=max(tr.weight_error[rec], 1e-9) + 1e-9)
        assert tr.weight_error[rec] < 0.03
    back = T.hw_to_bio("EIF_cond_exp_isfa_ista", tr, p["cm"])
    for name in EIF:
        if name != "cm":
            assert np.allclose(back[name], p[name], rtol=0.02, atol=lsb_v), name


def test_current_based_weights_and_capacitance_choice():
    p = {k: np.array([v]) for k, v in dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=0.1, tau_syn_E=5.0,
                                          tau_syn_I=5.0, i_offset=0.0, v_reset=-65.0, v_thresh=-50.0).items()}
    tr = T.bio_to_hw("IF_curr_exp", p, weights={"inhibitory": np.array([-0.5, -1.0])})
    phys = _physics(tr)
    k_c = phys.c_m / p["cm"]
    assert abs(phys.c_m[0] / phys.g_l[0] - 20.0) < 0.05  # τ_m to 0.25 %
    assert not phys.coba_exc[0] and not phys.coba_inh[0]
    for w in (0.5, 1.0):
        code = np.rint(w / tr.weight_lsb["inhibitory"])
        assert abs(code * phys.gain_inh[0] / (k_c[0] * T.K_V) - w) <= 0.01 * w


def test_out_of_range_names_the_parameter():
    p = {k: np.array([v]) for k, v in dict(v_rest=-65.0, cm=1.0, tau_m=20.0, tau_refrac=0.1, tau_syn_E=5.0,
                                          tau_syn_I=5.0, i_offset=0.0, v_reset=-65.0, v_thresh=-50.0).items()}
    with pytest.raises(T.TranslationError) as info:
        T.bio_to_hw("IF_curr_exp", {**p, "v_reset": np.array([-120.0])})
    assert info.value.parameter == "v_reset"


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 100.0, 0.0), (0.1, 0.0, 30.0), (1.0, 2.0, 0.0)])
def test_stp_settings(U, tau_rec, tau_facil):
    hw = T.stp_to_hw(U, tau_rec, tau_facil)
    assert hw["mode"] == ("facilitation" if tau_facil else "depression")
    assert abs(stp_utilisation(hw["utilisation"]) - U) <= 1 / 32
    tau = tau_facil or tau_rec
    assert abs(np.log2(stp_tau_us(hw["recovery"]) / tau)) <= 0.25  # half a step of 2**(1/2)


@pytest.mark.parametrize("rate, size", [(10.0, 1), (100.0, 16), (2.0, 64), (1000.0, 8)])
def test_background_generator_rates(rate, size):
    period, r8 = T.background_settings(rate, size)
    realised = r8 / 256.0 / (period * 4e-3) / size * 1e3  # Hz biological per neuron
    assert abs(realised - rate) <= 0.01 * rate
    assert 1 <= period <= 0xFFFF and 1 <= r8 <= 255
