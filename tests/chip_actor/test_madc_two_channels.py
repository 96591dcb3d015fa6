"""The MADC's second channel: two sources, one in an even and one in an odd column, sampled
alternately (grenade's ``MADCReadoutView(first_source, second_source)`` with the dynamic
multiplexer switching every sample); and the adaptation state read as a voltage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.analog import ADAPTATION_MOHM, chip_mismatch, neuron_physics, voltage_map
from bss2emu.chip_actor.chip import Chip
from bss2emu.errors import ConfigError, RoutingError
from bss2emu.protocol.experiment import Experiment
from bss2emu.protocol.hardware import MADC_ADAPTATION, MADC_EXC_SYNIN, MADC_MEMBRANE, ChipConfig, check_madc_pair

H_NS = 100
STEPS = 400


def leaky_chip(every: int = 1) -> ChipConfig:
    """Circuits 0..3 relax from their leak towards ... with different leaks, current and
    adaptation, so that every channel's trace is its own."""
    cfg = ChipConfig()
    for n, (v_leak, i_const) in enumerate([(600, 200), (650, 0), (700, 100), (560, 300)]):
        cfg.neurons.column("v_leak")[n] = v_leak
        cfg.neurons.column("i_const")[n] = i_const
        cfg.neurons.column("enable_fire")[n] = 0
        cfg.neurons.column("enable_adaptation")[n] = 1
        cfg.neurons.column("i_bias_adapt_a")[n] = 300
    cfg.readout.madc_every_steps = every
    return cfg


def run(cfg: ChipConfig, windows=(STEPS,)):
    """Run an ideal chip in windows of the given lengths; its MADC table as pandas."""
    chip, k, parts = Chip(cfg, ideal=True), 0, []
    for n in windows:
        parts.append(chip.run_window(k, n, *Chip.no_events()).madc.to_pandas())
        k += n
    import pandas as pd

    return pd.concat(parts, ignore_index=True)


def single(neuron: int, source: int, every: int = 1):
    cfg = leaky_chip(every)
    cfg.readout.madc_neuron, cfg.readout.madc_source = neuron, source
    return run(cfg)


@pytest.mark.parametrize("every", [1, 3])
def test_two_channels_alternate_sample_by_sample_and_each_is_its_single_channel_recording(every):
    cfg = leaky_chip(every)
    cfg.readout.madc_neuron, cfg.readout.madc_source = 2, MADC_MEMBRANE
    cfg.readout.madc_second_neuron, cfg.readout.madc_second_source = 1, MADC_ADAPTATION
    df = run(cfg, windows=(37, 163, 200))  # window edges must not reset the alternation
    steps = np.rint(df["time_ticks"].to_numpy() * 8 / H_NS).astype(int)  # (100 ns = 12.5 ticks: floored)
    assert np.array_equal(steps, np.arange(0, STEPS, every))  # the MADC's rate is unchanged
    # the sample at step k belongs to channel (k // every) % 2: circuits 2, 1, 2, 1, ...
    assert np.array_equal(df["neuron"].to_numpy(), np.where((steps // every) % 2 == 0, 2, 1))
    for neuron, source in ((2, MADC_MEMBRANE), (1, MADC_ADAPTATION)):
        alone = single(neuron, source, every)
        mine = df[df["neuron"] == neuron].reset_index(drop=True)
        want = alone[alone.index % 2 == (0 if neuron == 2 else 1)].reset_index(drop=True)
        # each channel is the single-channel recording of its source at its own, every second, sample
        assert np.array_equal(mine["time_ticks"], want["time_ticks"])
        assert np.array_equal(mine["value"], want["value"]) and np.array_equal(mine["physical"], want["physical"])
    assert len(np.unique(np.diff(df[df["neuron"] == 2]["time_ticks"].to_numpy()))) <= 2  # period 2·every steps


def test_a_channel_without_codes_beside_one_with_codes_leaves_its_values_null():
    cfg = leaky_chip()
    cfg.readout.madc_neuron, cfg.readout.madc_source = 0, MADC_EXC_SYNIN
    cfg.readout.madc_second_neuron, cfg.readout.madc_second_source = 3, MADC_MEMBRANE
    df = run(cfg, windows=(50,))
    syn = df[df["neuron"] == 0]
    assert syn["value"].isna().all() and (syn["physical"] == 0.0).all()  # no input: i = 0 nA
    mem = df[df["neuron"] == 3]
    assert mem["value"].notna().all()
    assert np.allclose(mem["physical"], mem["value"].astype(float) * 1200 / 1023)


def test_adaptation_reads_as_the_capacitor_voltage_on_the_membrane_code_scale():
    """V_w = V_ref(adaptation_v_ref) + w · R, digitised as the membrane is."""
    cfg = leaky_chip()
    cfg.neurons.column("v_adapt_ref")[0] = 500
    cfg.readout.madc_neuron, cfg.readout.madc_source = 0, MADC_ADAPTATION
    df = run(cfg, windows=(300,))
    w_na = df["physical"].to_numpy()
    assert w_na[0] == 0.0 and w_na[-1] > 0.1  # the current lifts the membrane, a·(v - E_L) lifts w
    v_ref = float(voltage_map("v_adapt_ref").mv(500))
    want = K.adc_codes(v_ref + w_na * ADAPTATION_MOHM, 10)
    assert np.array_equal(df["value"].to_numpy(), want)
    assert df["value"].iloc[0] == 425  # the tutorial's baseline at adaptation_v_ref 500
    # the baseline follows adaptation_v_ref at the CapMem's 1.17 mV per LSB (≈ 1 code per LSB)
    cfg.neurons.column("v_adapt_ref")[0] = 600
    assert run(cfg, windows=(1,))["value"].iloc[0] == 425 + 100
    # a chip's circuits differ in their baseline (fixed-pattern offset)
    spread = neuron_physics(ChipConfig().neurons, chip_mismatch(7)).v_adapt_ref - v_ref  # all at 500
    assert 10 < np.std(spread) < 20  # VOLTAGE_OFFSET_SPREAD_MV, as the other voltage cells


def _exp(madc, madc_second=None, size=4, **extra):
    rec = {"madc": madc} | ({"madc_second": madc_second} if madc_second else {})
    return {"runtime_us": 20, "chip": {"ideal": True}, "recordings": rec, **extra,
            "populations": [{"name": "p", "size": size, "params": {"v_leak": 650}},
                            {"name": "q", "size": 2, "params": {"v_leak": 500}}]}


def test_an_experiment_records_two_channels_end_to_end_with_their_metadata(tmp_path):
    res = bss2emu.run(_exp({"population": "p", "index": 0}, {"population": "q", "index": 1, "source": "adaptation"}))
    chans = res.metadata["madc_channels"]
    assert [(c["population"], c["index"], c["source"], c["unit"]) for c in chans] == [
        ("p", 0, "membrane", "mV"), ("q", 1, "adaptation", "nA")]
    assert res.metadata["madc"] == {"population": "p", "index": 0, "source": "membrane", "unit": "mV"}
    first, second = res.madc_values(0), res.madc_values(1)
    assert len(first.time_us) == len(second.time_us) == 100  # 200 steps, alternately
    assert np.allclose(np.diff(first.time_us), 0.2, atol=0.01) and np.all(second.time_us > first.time_us)
    assert np.all(first.time_us[1:] > second.time_us[:-1])  # interleaved
    assert first.unit == "mV" and second.unit == "nA" and second.codes is not None
    assert res.madc_mv(0)["v_mv"].tolist() == pytest.approx(first.values.tolist())
    with pytest.raises(ConfigError, match="MADC channel 1 recorded 'adaptation', not the membrane"):
        res.madc_mv(1)
    with pytest.raises(ConfigError, match="MADC channel 2 was not recorded: this run recorded 2"):
        res.madc_values(2)
    res.write_parquet(tmp_path / "out")
    back = bss2emu.Results.read_parquet(tmp_path / "out")
    assert np.array_equal(back.madc_values(1).values, second.values)


@pytest.mark.parametrize("madc, second, match", [
    ({"population": "p", "index": 1}, {"population": "p", "index": 1, "source": "adaptation"},
     "both record neuron 1 of 'p' \\(membrane and adaptation\\): the MADC reads one source per neuron"),
    ({"population": "p", "every_steps": 2}, {"population": "p", "index": 1},
     "sample every 2 and 1 steps: the MADC has one sample clock"),
    (None, {"population": "p"}, "madc_second is given without recordings.madc"),
])
def test_recordings_the_mux_cannot_take_are_refused_naming_them(madc, second, match):
    with pytest.raises(ConfigError, match=match):
        Experiment.model_validate(_exp(madc, second))


def test_two_sources_in_columns_of_the_same_parity_are_refused_after_placement():
    # p's neurons 0 and 2 sit on circuits 0 and 2: both even columns, one multiplexer channel
    with pytest.raises(RoutingError, match=r"neuron 0 of 'p' and neuron 2 of 'p' are placed on chip 0, circuits 0 "
                                           r"and 2: the MADC's two channels read circuits 0 \(column 0\) and 2 "
                                           r"\(column 2\), both in even columns: .*neighbouring columns"):
        bss2emu.run(_exp({"population": "p", "index": 0}, {"population": "p", "index": 2}))


@settings(max_examples=300, deadline=None)
@given(first=st.integers(-1, 511), second=st.integers(-1, 511))
def test_the_readout_config_accepts_exactly_the_pairs_the_multiplexer_can_read(first, second):
    cfg = ChipConfig()
    cfg.readout.madc_neuron, cfg.readout.madc_second_neuron = first, second
    ok = second < 0 or (first >= 0 and first != second and (first % 256) % 2 != (second % 256) % 2)
    if ok:
        cfg.check()
        check_madc_pair(first, second, "a", "b")
        assert len(cfg.madc_channels()) == (0 if first < 0 else 1 if second < 0 else 2)
    else:
        with pytest.raises(ConfigError, match=rf"{second}|{first}"):
            cfg.check()
