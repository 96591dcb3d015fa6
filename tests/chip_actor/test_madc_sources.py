"""MADC source selection: the membrane as 10-bit codes, synaptic inputs and adaptation as
their exact state, against the analog maps (``chip_actor.analog``) and the model's
equations."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.analog import ADAPTATION_B_NA_PER_LSB, chip_mismatch, neuron_physics
from bss2emu.chip_actor.chip import Chip
from bss2emu.errors import ChipError, ConfigError
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import (
    MADC_ADAPTATION, MADC_EXC_SYNIN, MADC_INH_SYNIN, MADC_MEMBRANE, MADC_SOURCES, ROW_EXCITATORY, ROW_INHIBITORY,
    ChipConfig,
)
from bss2emu.protocol.schemas import madc_code_to_mv

H_NS = 100  # the default integration step
WEIGHT = 40
# FPGA events with these labels reach neuron 0 through driver 0 (bus 0, row select 0):
# address 5 on its excitatory row 0, address 6 on its inhibitory row 1
LABEL = {MADC_EXC_SYNIN: make_label(0, 0, 5), MADC_INH_SYNIN: make_label(0, 0, 6)}


def madc_config(source: int, **params: int) -> ChipConfig:
    """Neuron 0, recorded by the MADC from ``source``, with one excitatory and one
    inhibitory synapse of weight ``WEIGHT``; ``params`` set its neuron parameters."""
    cfg = ChipConfig()
    cfg.crossbar.enable[8, 0] = 1
    cfg.crossbar.mask[8, 0] = 3 << 11
    syn = cfg.synapses
    syn.row_modes[0, 0], syn.row_modes[0, 1] = ROW_EXCITATORY, ROW_INHIBITORY
    syn.addresses[0, 0, 0], syn.addresses[0, 1, 0] = 5, 6
    syn.weights[0, 0, 0] = syn.weights[0, 1, 0] = WEIGHT
    for name, value in params.items():
        cfg.neurons.column(name)[0] = value
    cfg.readout.madc_neuron = 0
    cfg.readout.madc_source = source
    return cfg


def physics(cfg: ChipConfig):
    """The ideal chip's analog map of ``cfg``'s neurons."""
    return neuron_physics(cfg.neurons, chip_mismatch(0, ideal=True))


def run_madc(cfg: ChipConfig, steps: int, events_ns=(), label: int = 0):
    """Run an ideal chip; return (its MADC table as pandas, its spike table as pandas)."""
    ev = np.asarray(events_ns, np.int64)
    out = Chip(cfg, ideal=True).run_window(0, steps, ev, np.full(len(ev), 8), np.full(len(ev), label))
    return out.madc.to_pandas(), out.spikes.to_pandas()


@pytest.mark.parametrize("coba", [False, True], ids=["current", "conductance"])
@pytest.mark.parametrize("source", [MADC_EXC_SYNIN, MADC_INH_SYNIN], ids=["exc", "inh"])
def test_synaptic_input_jumps_by_weight_times_gain_and_decays_with_tau_syn(source, coba):
    receptor = "exc" if source == MADC_EXC_SYNIN else "inh"
    cfg = madc_config(source, **{f"coba_{receptor}": int(coba), f"i_bias_syn_{receptor}_tau": 45,
                                 f"i_bias_syn_{receptor}_gm": 700})
    assert cfg.madc_unit() == ("uS" if coba else "nA")
    t_event = 250  # in step 2; delivered at its end, decayed from the event time
    madc, _ = run_madc(cfg, 400, [t_event], LABEL[source])
    ph = physics(cfg)
    gain, tau_ns = (ph.gain_exc[0], ph.tau_exc[0] * 1e3) if receptor == "exc" else (ph.gain_inh[0], ph.tau_inh[0] * 1e3)
    # 6 pS (COBA) or 1.77 pA (CUBA) per weight LSB and bias LSB
    assert gain == pytest.approx(700 * (6e-6 if coba else 1.77e-3)) and tau_ns == pytest.approx(300e3 / 45)
    t = np.arange(400) * H_NS  # every sample sees the state at its step's start
    assert (madc.time_ticks.to_numpy() == t // 8).all() and (madc.neuron == 0).all()
    want = np.where(t >= 300, WEIGHT * gain * np.exp(-(t - t_event) / tau_ns), 0.0)
    np.testing.assert_allclose(madc.physical.to_numpy(), want, rtol=1e-12, atol=0)
    assert madc.value.isna().all()  # only the membrane is digitised


def test_each_input_source_reads_only_its_own_receptor():
    madc, _ = run_madc(madc_config(MADC_INH_SYNIN), 50, [250], LABEL[MADC_EXC_SYNIN])
    assert (madc.physical == 0).all()


def test_adaptation_jumps_by_b_at_each_spike_and_decays_with_tau_w(recording_config):
    cfg = recording_config
    for name, value in dict(enable_adaptation=1, i_bias_adapt_a=0, i_bias_adapt_b=90, i_bias_adapt_tau=216,
                            i_const=700, refractory_count=20).items():
        cfg.neurons.column(name)[0] = value
    cfg.readout.madc_neuron, cfg.readout.madc_source = 0, MADC_ADAPTATION
    assert cfg.madc_unit() == "nA"
    madc, spikes = run_madc(cfg, 3000)
    ph = physics(cfg)
    b, tau_w_ns = ph.b[0], ph.tau_w[0] * 1e3
    assert b == pytest.approx(90 * ADAPTATION_B_NA_PER_LSB) and tau_w_ns == pytest.approx(17300e3 / 216)  # 17300 µs / value
    w = madc.physical.to_numpy()
    assert w[0] == 0.0
    # with a = 0, w only decays with tau_w, and a spike adds b at the end of its step
    jump = w[1:] - w[:-1] * np.exp(-H_NS / tau_w_ns)
    spiked = np.abs(jump) > 1e-9
    np.testing.assert_allclose(jump[spiked], b, rtol=1e-9)
    assert np.abs(jump[~spiked]).max() < 1e-12
    t_spike_ns = spikes.query("neuron == 0").time_ticks.to_numpy() * 8
    assert spiked.sum() == len(t_spike_ns) > 5
    step_start = np.nonzero(spiked)[0] * H_NS  # the step whose end the jump follows
    assert ((t_spike_ns > step_start - 8) & (t_spike_ns < step_start + H_NS)).all()


def test_membrane_source_keeps_10_bit_codes_and_reports_them_in_mv():
    cfg = madc_config(MADC_MEMBRANE, v_leak=710)  # 408 mV: 2.4 mV per leak LSB, 384 mV at 700
    assert cfg.madc_unit() == "mV" and cfg.readout.madc_source == ChipConfig().readout.madc_source
    madc, _ = run_madc(cfg, 20)
    assert madc.value.dtype == np.uint16 and (madc.value == round(408.0 / 1200 * 1023)).all()
    assert np.array_equal(madc.physical.to_numpy(), madc_code_to_mv(madc.value.to_numpy()))


@pytest.mark.parametrize("bad", [4, -1, "exc_synin", 1.0])
def test_an_invalid_source_code_names_the_value_and_the_allowed_ones(bad):
    cfg = madc_config(MADC_MEMBRANE)
    cfg.readout.madc_source = bad
    with pytest.raises(ConfigError, match=rf"MADC source {bad!r} is invalid") as err:
        Chip(cfg)
    assert all(f"{i} ({name})" in str(err.value) for i, name in enumerate(MADC_SOURCES))
    assert "madc_source" in str(err.value)


def test_a_write_may_not_switch_the_recorded_input_between_current_and_conductance():
    chip = Chip(madc_config(MADC_EXC_SYNIN), ideal=True)
    chip.set_neuron_values("coba_inh", [0], 1)  # the other receptor: the unit stays nA
    chip.set_neuron_values("coba_exc", [1], 1)  # another neuron
    with pytest.raises(ChipError, match=r"MADC neuron 0's recorded exc_synin .*\(nA → uS\)"):
        chip.set_neuron_values("coba_exc", [0], 1)


def test_adc_codes_is_the_kernels_adc_code_bit_for_bit():
    rng = np.random.default_rng(3)
    v = np.concatenate([rng.uniform(-100, 1300, 5000), (np.arange(1024) + 0.5) * 1200 / 1023, [0.0, 1200.0]])
    for bits in (8, 10):
        want = np.array([K.adc_code(x, bits) for x in v])
        assert np.array_equal(K.adc_codes(v, bits), want)
