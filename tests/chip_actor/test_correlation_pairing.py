"""The correlation sensors' pairing and their calibrated amplitude and time constant.

Pairing as the BSS-2 synapse circuit has it: *restricted* nearest neighbour. The description of
the system in the demos (brainscales2-demos ``fp_brainscales.rst``, "Correlation measurements",
taken from Billaudelle 2022, "From Transistors to Learning Systems", e.g. commit ef65b93) gives

    c+ = Σ_k η+ exp(-(t_post^k - t_pre^k)/τ+),  t_pre^k = max{t_pre^l : t_post^(k-1) < t_pre^l < t_post^k}
    c- = Σ_l η- exp(-(t_pre^l - t_post^l)/τ-),  t_post^l = max{t_post^k : t_pre^(l-1) < t_post^k < t_pre^l}

(the traces "only consider pairs of spikes which obey a nearest-neighbor constraint"; of several
pre spikes between two post spikes only the last counts causally, and only the first acausally).
So a post spike adds ``A·exp(-Δt/τ)`` for the last pre
spike before it, and only if that pre spike came after the previous post spike; a pre spike adds
``A·exp(-Δt/τ)`` for the last post spike before it, only if that post spike came after the
previous pre spike. A trace that accumulates over pre spikes (all-to-all) or pairs a spike twice
(unrestricted nearest neighbour) gives other numbers in the cases below.

The calibrated sensor is measured as calix measures it (``CorrelationMeasurement``: pairs at
known delays, amplitude at delay 0 and τ from the exponential), on a chip configured the way the
PyNN drop-in configures it from a calix correlation calibration.
"""

from __future__ import annotations

import numpy as np
import pytest
import quantities as pq

from bss2emu.chip_actor.analog import correlation_currents
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol import experiment as E
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import ChipConfig
from bss2emu.routing.mapping import configure_chip, map_experiment
from bss2emu.stack import lola
from bss2emu.stack.calix.spiking import correlation
from test_correlation_coba import pair_config

LABEL = make_label(0, 0, 4)


def sensor_config(tau_us: float = 5.0, corr_lsb: float = 0.01) -> ChipConfig:
    """Synapse (row 0, column 9) of the top hemisphere, reached by LABEL from input 8
    (``test_correlation_coba.pair_config``) with these sensors."""
    cfg = pair_config()
    cfg.readout.tau_corr_us = tau_us
    cfg.readout.corr_lsb = corr_lsb
    return cfg


def run(cfg: ChipConfig, pre_ns: list[int], post_current_on_ns, steps: int = 600):
    """Pre events at ``pre_ns``; neuron 9 fires once after each time in ``post_current_on_ns``
    (an int or a list), driven by a current switched on then and off at its spike. The chip and
    the post spike's time (ns; the first one's for several)."""
    chip = Chip(cfg, ideal=True)
    ev = np.array(sorted(pre_ns))
    ons = [post_current_on_ns] if np.isscalar(post_current_on_ns) else list(post_current_on_ns)
    k, t_posts = 0, []
    for on_ns in ons:
        k_on = on_ns // 100
        early = ev[(ev >= k * 100) & (ev < k_on * 100)]
        chip.run_window(k, k_on - k, early, np.full(len(early), 8), np.full(len(early), LABEL))
        chip.set_neuron_values("i_const", [9], 1022)
        spikes = chip.spike_count[9]
        k = k_on
        while chip.spike_count[9] == spikes:  # until the post spike
            chip.run_window(k, 1, *Chip.no_events())
            k += 1
        chip.set_neuron_values("i_const", [9], 0)
        t_posts.append(int(chip.t_post[9]))
        assert not ((ev >= k_on * 100) & (ev < k * 100)).any(), "a pre event while the post current is on"
    late = ev[ev >= k * 100]
    assert (late > chip.t_post[9]).all()
    chip.run_window(k, steps - k, late, np.full(len(late), 8), np.full(len(late), LABEL))
    return chip, t_posts[0]


def test_a_post_spike_pairs_with_the_last_pre_spike_only():
    chip, t_post = run(sensor_config(), [1000, 2000], post_current_on_ns=2500)
    nearest = np.exp(-(t_post - 2000) / 5000.0)
    all_to_all = nearest + np.exp(-(t_post - 1000) / 5000.0)
    assert chip.causal[0, 0, 9] == pytest.approx(nearest, rel=1e-12)
    assert chip.causal[0, 0, 9] != pytest.approx(all_to_all, rel=1e-3)
    assert chip.acausal[0, 0, 9] == 0


def test_only_the_first_pre_spike_after_a_post_spike_pairs_acausally():
    # post → pre 20000 → pre 30000: the second pre spike has no post spike since the first
    chip, t_post = run(sensor_config(), [20000, 30000], post_current_on_ns=1000)
    first = np.exp(-(20000 - t_post) / 5000.0)
    assert chip.acausal[0, 0, 9] == pytest.approx(first, rel=1e-12)
    assert chip.acausal[0, 0, 9] != pytest.approx(first + np.exp(-(30000 - t_post) / 5000.0), rel=1e-3)
    assert chip.causal[0, 0, 9] == 0


def test_only_the_first_post_spike_after_a_pre_spike_pairs_causally():
    # pre 1000 → post → post: the second post spike has no pre spike since the first
    chip, t_post = run(sensor_config(), [1000], post_current_on_ns=[1500, 20000])
    first = np.exp(-(t_post - 1000) / 5000.0)
    assert chip.t_post[9] > t_post + 15000
    assert chip.causal[0, 0, 9] == pytest.approx(first, rel=1e-12)
    assert chip.acausal[0, 0, 9] == 0


def test_a_pre_spike_between_two_post_spikes_pairs_with_the_second():
    # post → pre 10000 → post: causal (10000, second post); acausal (first post, 10000)
    chip, t_post = run(sensor_config(), [10000], post_current_on_ns=[1000, 15000])
    t2 = int(chip.t_post[9])
    assert chip.causal[0, 0, 9] == pytest.approx(np.exp(-(t2 - 10000) / 5000.0), rel=1e-12)
    assert chip.acausal[0, 0, 9] == pytest.approx(np.exp(-(10000 - t_post) / 5000.0), rel=1e-12)


def test_a_pre_spike_after_the_post_spike_does_not_pair_causally_with_it():
    # pre 1000 → post → pre 40000: one causal pair (1000, post), one acausal (post, 40000)
    chip, t_post = run(sensor_config(), [1000, 40000], post_current_on_ns=1500)
    assert chip.causal[0, 0, 9] == pytest.approx(np.exp(-(t_post - 1000) / 5000.0), rel=1e-12)
    assert chip.acausal[0, 0, 9] == pytest.approx(np.exp(-(40000 - t_post) / 5000.0), rel=1e-12)


def calibrated_config(amplitude: float, tau_us: float) -> ChipConfig:
    """The chip configuration of an experiment with correlation sensors after a calix
    correlation calibration, as ``pynn.brainscales2.setup(initial_config=...)`` makes it: the
    lola chip's currents → the experiment's recordings → the mapped chip's readout."""
    chip = lola.Chip()
    correlation.calibrate(correlation.CorrelationCalibTarget(amplitude, tau_us * pq.us)).write_to(chip)
    tau, amp = correlation.sensor_of_chip(chip)
    exp = E.Experiment.model_validate({
        "populations": [{"name": "n", "size": 1}],
        "recordings": {"correlation": True, "tau_corr_us": tau, "corr_amplitude_codes": amp},
        "runtime_us": 10.0})
    cfg = configure_chip(exp, map_experiment(exp), 0)
    return sensor_config(cfg.readout.tau_corr_us, cfg.readout.corr_lsb)


@pytest.mark.parametrize("amplitude, tau_us", [(1.5, 30.0), (0.5, 5.0), (0.2, 2.0), (2.0, 12.0)])
def test_a_calibrated_sensor_has_the_target_amplitude_and_time_constant(amplitude, tau_us):
    """calix's measurement: a causal pair at each of two delays, the reads in CADC codes
    (accumulation / ``corr_lsb``), τ from their ratio and the amplitude extrapolated to delay 0.
    Calibrating rounds each CapMem current to a whole step, so each figure may miss its target
    by half a step of its current: 0.5 / current relative (``analog.correlation_currents``)."""
    cfg = calibrated_config(amplitude, tau_us)
    codes, delays = [], []
    for pre in (2000, 1000):
        chip, t_post = run(cfg, [pre], post_current_on_ns=2500)
        codes.append(chip.causal[0, 0, 9] / cfg.readout.corr_lsb)
        delays.append((t_post - pre) / 1000.0)
    tau_measured = (delays[1] - delays[0]) / np.log(codes[0] / codes[1])
    amplitude_measured = codes[0] * np.exp(delays[0] / tau_measured)
    ramp, store = correlation_currents(tau_us, amplitude)
    assert tau_measured == pytest.approx(tau_us, rel=0.5 / ramp)
    assert amplitude_measured == pytest.approx(amplitude, rel=0.5 / store)
