"""Background generator rates and labels, ADC quantisation, mismatch by serial number."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.chip_actor.analog import chip_mismatch, voltage_map
from bss2emu.chip_actor.chip import Chip
from bss2emu.errors import ConfigError
from bss2emu.protocol.hardware import BG_POISSON, BG_REGULAR, ChipConfig


def background_events(mode: int, period: int, rate: int, mask: int, steps: int = 20000, seed: int = 12345):
    cfg = ChipConfig()
    cfg.background.enable[2] = 1
    cfg.background.mode[2] = mode
    cfg.background.period[2] = period
    cfg.background.rate[2] = rate
    cfg.background.seed[2] = seed
    cfg.background.label[2] = 0x1ABC
    cfg.background.label_mask[2] = mask
    cfg.crossbar.enable[12 + 2, 8] = 1  # generator 2 to the FPGA: record its events
    chip = Chip(cfg, ideal=True)
    out = chip.run_window(0, steps, *Chip.no_events())
    return out.spikes.to_pandas()


def test_regular_generator_emits_every_period():
    ev = background_events(BG_REGULAR, period=250, rate=0, mask=0)  # 250 cycles = 1 µs
    assert len(ev) == 2000  # 2000 µs of 0.1 µs steps
    assert (np.diff(ev.time_ticks) == 125).all()
    assert (ev.label == 0x1ABC).all() and (ev.neuron == -1).all()


@pytest.mark.parametrize("rate", [16, 128, 250])
def test_poisson_generator_rate_is_binomial(rate):
    period = 100
    ev = background_events(BG_POISSON, period=period, rate=rate, mask=0)
    bins = 2_000_000 // (4 * period)  # 2000 µs at 4 ns per cycle
    p = rate / 256
    mean, sd = bins * p, np.sqrt(bins * p * (1 - p))
    assert abs(len(ev) - mean) < 4 * sd
    # emissions sit on the generator's bin grid
    assert ((ev.time_ticks * 8) % (4 * period) == 0).all()


def test_label_mask_randomises_only_masked_bits_uniformly():
    ev = background_events(BG_REGULAR, period=50, rate=0, mask=0x0F)
    labels = ev.label.to_numpy()
    assert ((labels & ~0x0F) == (0x1ABC & ~0x0F)).all()
    counts = np.bincount(labels & 0x0F, minlength=16)
    expected = len(labels) / 16
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 37.7  # p = 0.001 for 15 degrees of freedom


def test_same_seed_same_events_and_other_seed_differs():
    a = background_events(BG_POISSON, 100, 128, 0x3F, steps=3000)
    b = background_events(BG_POISSON, 100, 128, 0x3F, steps=3000)
    c = background_events(BG_POISSON, 100, 128, 0x3F, steps=3000, seed=999)
    assert a.equals(b)
    assert not a.equals(c)


def test_madc_and_cadc_quantise_the_membrane():
    cfg = ChipConfig()
    cfg.neurons.column("v_leak")[:] = 710  # 408 mV resting (the leak's map), no input
    cfg.readout.madc_neuron = 11
    cfg.readout.cadc_period_ns = 1000
    chip = Chip(cfg, ideal=True)
    out = chip.run_window(0, 50, *Chip.no_events())
    v = float(voltage_map("v_leak").mv(710))
    assert v == pytest.approx(408.0)
    madc = out.madc.to_pandas()
    assert len(madc) == 50 and (madc.value == round(v / 1200 * 1023)).all()
    cadc = out.cadc.to_pandas()
    assert sorted(set(cadc.time_ticks)) == [0, 125, 250, 375, 500]
    assert (cadc.value == round(v / 1200 * 255)).all() and len(cadc) == 5 * 512


def test_mismatch_is_a_property_of_the_serial():
    a, b, c = chip_mismatch(3), chip_mismatch(3), chip_mismatch(4)
    assert np.array_equal(a.gain, b.gain) and not np.array_equal(a.gain, c.gain)
    ideal = chip_mismatch(3, ideal=True)
    assert (ideal.gain == 1).all() and (ideal.offset_mv == 0).all()
    # spread as documented: 8 % gain, 15 mV voltage offsets
    assert 0.06 < np.std(np.log(a.gain[:, 6])) < 0.10
    assert 12 < np.std(a.offset_mv[:, 0]) < 18


def test_mismatched_chip_differs_from_ideal(recording_config):
    recording_config.neurons.column("i_const")[:] = 900
    spikes = [Chip(recording_config, serial=s, ideal=i).run_window(0, 2000, *Chip.no_events()).spikes.num_rows
              for s, i in ((1, True), (2, True), (1, False))]
    assert spikes[0] == spikes[1] != spikes[2]


def test_out_of_range_hardware_values_are_refused():
    cfg = ChipConfig()
    cfg.neurons.column("v_leak")[5] = 1023
    with pytest.raises(ConfigError, match=r"neuron circuit 5: v_leak=1023 is out of range 0..1022"):
        Chip(cfg)
    cfg = ChipConfig()
    chip = Chip(cfg)
    with pytest.raises(ConfigError, match="weight 64 is out of range 0..63"):
        chip.set_weights(0, [1], [2], [64])
    with pytest.raises(ConfigError, match="dt_ns"):
        Chip(ChipConfig(), dt_ns=0)
