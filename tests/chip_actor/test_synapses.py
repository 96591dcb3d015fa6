"""Event routing semantics: crossbar, row select, address matching, row sign, and STP
against the analytic Tsodyks–Markram recursion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.analog import stp_tau_us, stp_utilisation
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol import coordinates as C
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import ROW_EXCITATORY, ROW_INHIBITORY, ChipConfig

J = 5  # row select: driver 4*J + bus on bus 0 = driver 20, rows 40 and 41
D = 4 * J


def routed_config() -> ChipConfig:
    cfg = ChipConfig()
    for o in range(4):  # FPGA inputs to top-hemisphere PADI buses, by the label's bus bits
        cfg.crossbar.enable[8 + o, o] = 1
        cfg.crossbar.mask[8 + o, o] = 3 << 11
        cfg.crossbar.target[8 + o, o] = o << 11
    syn = cfg.synapses
    syn.row_modes[0, 2 * D] = ROW_EXCITATORY
    syn.row_modes[0, 2 * D + 1] = ROW_INHIBITORY
    syn.addresses[0, 2 * D, 3], syn.weights[0, 2 * D, 3] = 5, 10
    syn.addresses[0, 2 * D, 4], syn.weights[0, 2 * D, 4] = 6, 20
    syn.addresses[0, 2 * D + 1, 7], syn.weights[0, 2 * D + 1, 7] = 5, 30
    return cfg


def inject(cfg: ChipConfig, label: int, t_ns: int = 50) -> np.ndarray:
    """Send one event at step 0 and return (i_exc, i_inh) of all neurons after the step."""
    chip = Chip(cfg, ideal=True)
    chip.run_window(0, 1, np.array([t_ns]), np.array([8 + ((label >> 11) & 3)]), np.array([label]))
    return chip.nstate[[K.S_IE, K.S_II]], chip


def test_only_matching_addresses_transmit_with_the_rows_sign():
    cur, chip = inject(routed_config(), make_label(0, J, 5))
    hit_e = np.nonzero(cur[0])[0].tolist()
    hit_i = np.nonzero(cur[1])[0].tolist()
    assert hit_e == [3] and hit_i == [7]
    # amplitude: weight x gain x decay from event time to the end of the step
    g = chip.coef[K.K_GAIN_E, 3]
    assert cur[0, 3] == pytest.approx(10 * g * np.exp(-50 / chip.coef[K.K_TAU_E_NS, 3]), rel=1e-12)
    cur6, _ = inject(routed_config(), make_label(0, J, 6))
    assert np.nonzero(cur6[0])[0].tolist() == [4] and not cur6[1].any()


def test_row_select_and_compare_mask():
    cfg = routed_config()
    assert not inject(cfg, make_label(0, J + 1, 5))[0].any()  # other driver: nothing
    assert not inject(cfg, make_label(1, J, 5))[0].any()  # other PADI bus: nothing
    cfg.drivers.row_select_mask[0, D] = 0b00011  # ignore the two low row-select bits
    assert inject(cfg, make_label(0, J ^ 0b11, 5))[0][0, 3] > 0
    assert not inject(cfg, make_label(0, J ^ 0b100, 5))[0].any()


def test_crossbar_mask_and_disabled_driver_block_events():
    cfg = routed_config()
    cfg.crossbar.enable[8, 0] = 0
    assert not inject(cfg, make_label(0, J, 5))[0].any()
    cfg = routed_config()
    cfg.drivers.enable[0, D] = 0
    assert not inject(cfg, make_label(0, J, 5))[0].any()


# synapses (row 2D + r, column, address 5 or 6, weight) and events (time in ns, address)
_SYNAPSES = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 255), st.integers(5, 6), st.integers(0, 63)),
                     min_size=1, max_size=16)
_EVENTS = st.lists(st.tuples(st.integers(0, 19_999), st.integers(5, 6)), min_size=1, max_size=60)


def _plain_and_general(synapses, events):
    """The chip after 200 steps of ``events`` (time ns, address), its sensors off and on."""
    runs = []
    for sensors in (False, True):
        cfg = routed_config()
        for r, c, a, w in synapses:
            cfg.synapses.addresses[0, 2 * D + r, c], cfg.synapses.weights[0, 2 * D + r, c] = a, w
        cfg.synapses.weights[0, 2 * D, 4] = 63  # (address 6, excitatory: it spikes)
        cfg.readout.enable_correlation = sensors
        t = np.array(sorted(e[0] for e in events))
        lab = np.array([make_label(0, J, a) for _, a in sorted(events)])
        chip = Chip(cfg, ideal=True)
        chip.run_window(0, 200, t, 8 + ((lab >> 11) & 3), lab)
        runs.append(chip)
    return runs


def _assert_same_neurons(plain, general):
    for name in ("nstate", "ref_end", "spike_count"):
        assert getattr(plain, name).tobytes() == getattr(general, name).tobytes(), name


@settings(max_examples=30, deadline=None)
@given(_SYNAPSES, _EVENTS)
def test_the_plain_synapse_loop_gives_the_bits_of_the_general_one(synapses, events):
    """With its correlation sensors on a chip delivers through ``integrate_steps``' general
    synapse loop, with them off through the plain one: the sensors change no neuron's bits."""
    _assert_same_neurons(*_plain_and_general(synapses, events))


def test_the_plain_synapse_loop_skips_the_response_while_refractory():
    """An event every 30 ns through the strong synapse: its neuron spikes again and again, and
    events come in the steps of its releases before the release (the loop's refractory test)."""
    events = [(t, 6) for t in range(5, 20_000, 30)] + [(t, 5) for t in range(20, 20_000, 300)]
    plain, general = _plain_and_general([(1, 9, 5, 40)], events)
    assert plain.spike_count[4] > 3 and general.causal.any()  # (the sensors were on)
    _assert_same_neurons(plain, general)


def test_the_plain_synapse_loop_gives_the_general_bits_past_its_key_scratch():
    """More events in one step than the plain loop gathers keys for at once (``deliver_keys``,
    ``n_keys``: the scratch rows' length) — it adds the gathered ones and goes on — and
    events in the following steps: the bits of the general loop, and every event counted."""
    n_keys = K.window_scratch(C.NEURONS_PER_CHIP, 16)[3].shape[1]
    events = [(i % 100, 5 + i % 2) for i in range(n_keys + 300)] + [(100 + 7 * i, 6) for i in range(50)]
    plain, general = _plain_and_general([(0, 3, 5, 20), (1, 3, 6, 11), (1, 200, 5, 7)], events)
    _assert_same_neurons(plain, general)
    assert plain.nstate[K.S_IE, 3] > 0 and plain.nstate[K.S_II, 200] > 0  # (row 2D + 1: inhibitory)


def tm_efficacies(times_us, U, tau, mode):
    """The analytic Tsodyks–Markram recursion (efficacy per spike)."""
    eff, R, u, last = [], 1.0, 0.0, None
    for t in times_us:
        dec = 0.0 if last is None else np.exp(-(t - last) / tau)
        if mode == "depression":
            R = 1 - (1 - R) * dec if last is not None else 1.0
            eff.append(U * R)
            R *= 1 - U
        else:
            u = u * dec
            u = u + U * (1 - u)
            eff.append(u)
        last = t
    return np.array(eff)


@pytest.mark.parametrize("mode,util,rec", [("depression", 6, 8), ("facilitation", 2, 9), ("depression", 15, 2)])
def test_stp_follows_tsodyks_markram(mode, util, rec):
    cfg = routed_config()
    cfg.drivers.stp_enable[0, D] = 1
    cfg.drivers.stp_mode[0, D] = 0 if mode == "depression" else 1
    cfg.drivers.stp_utilisation[0, D] = util
    cfg.drivers.stp_recovery[0, D] = rec
    cfg.neurons.column("i_bias_syn_exc_tau")[:] = 1  # slow decay, still exactly known
    chip = Chip(cfg, ideal=True)
    times_ns = np.array([1000, 3000, 5000, 7000, 9000, 20000, 22000, 60000])
    lab = make_label(0, J, 5)
    currents = []
    for k in range(700):
        t0 = k * 100
        sel = (times_ns >= t0) & (times_ns < t0 + 100)
        chip.run_window(k, 1, times_ns[sel], np.full(sel.sum(), 8), np.full(sel.sum(), lab))
        if sel.any():
            currents.append(chip.nstate[K.S_IE, 3])
    tau_s = chip.coef[K.K_TAU_E_NS, 3]
    g = chip.coef[K.K_GAIN_E, 3]
    eff = tm_efficacies(times_ns / 1e3, float(stp_utilisation(util)), float(stp_tau_us(rec)), mode)
    # current right after event n (which sits on a step start, decayed to the step's end)
    expected = [sum(10 * g * eff[m] * np.exp(-(times_ns[n] + 100 - times_ns[m]) / tau_s) for m in range(n + 1))
                for n in range(len(times_ns))]
    np.testing.assert_allclose(currents, expected, rtol=1e-9)
    amp = eff / eff[0]
    if mode == "depression":
        assert amp[1] < 1
    else:
        assert amp[1] > 1
