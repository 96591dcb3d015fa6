"""Neurons at rest skip their updates (``kernels.integrate_window``'s probe, in calls longer
than ``REST_PROBE_MIN_STEPS``) without changing any result: an event that reaches a resting
neuron later brings it back into the update, bit for bit as if it had been updated all along."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.coordinates import make_label

from test_synapses import D, J, routed_config

STEPS = 400


def _config():
    cfg = routed_config()
    cfg.synapses.addresses[0, 2 * D, 200], cfg.synapses.weights[0, 2 * D, 200] = 5, 63
    return cfg


def _events():
    """Address 6 (column 4) first, then address 5 (columns 3, 200 excitatory, 7 inhibitory):
    the updated range grows upwards, then downwards."""
    t = np.array([15_050, 15_070, 22_010, 30_000, 30_000])
    lab = np.array([make_label(0, J, a) for a in (6, 6, 5, 5, 6)])
    return t, 8 + ((lab >> 11) & 3), lab


def _run(window_steps: int, cfg=None, events=None):
    chip = Chip(_config() if cfg is None else cfg, ideal=True)
    t, inp, lab = _events() if events is None else events
    spikes = []
    for k0 in range(0, STEPS, window_steps):
        t1 = (k0 + window_steps) * chip.dt_ns
        sel = (t >= k0 * chip.dt_ns) & (t < t1)
        out = chip.run_window(k0, window_steps, t[sel], inp[sel], lab[sel])
        spikes.append(out.spikes.to_pandas())
    return chip, spikes


def test_the_touched_neurons_start_at_rest():
    chip = Chip(_config(), ideal=True)
    before = chip.nstate.copy()
    chip.run_window(0, 1, *Chip.no_events())
    for n in (3, 4, 7, 200):
        assert chip.nstate[:, n].tobytes() == before[:, n].tobytes()


def test_resting_neurons_skipped_and_woken_give_the_same_bits():
    assert STEPS > K.REST_PROBE_MIN_STEPS
    want, _ = _run(1)  # one step per call: no probe, every neuron updated every step
    for window in (STEPS, 100, 40):
        got, _ = _run(window)
        for name in ("nstate", "ref_end", "spike_count"):
            assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), (window, name)
    # the events did reach the resting neurons
    assert want.nstate[K.S_IE, [3, 4, 200]].min() > 0 and want.nstate[K.S_II, 7] > 0
    assert want.nstate[K.S_V, 200] != want.coef[K.K_EL, 200]


# synapses (row 2D + r, column, address 5 or 6, weight: 0 too) and events (time, address)
_SYNAPSES = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 255), st.integers(5, 6), st.integers(0, 63)),
                     min_size=1, max_size=12)
_EVENTS = st.lists(st.tuples(st.integers(0, STEPS * 100 - 1), st.integers(5, 6)), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None)
@given(_SYNAPSES, _EVENTS)
def test_an_event_wakes_every_resting_neuron_its_synapses_reach(synapses, events):
    """Synapses of an address anywhere along both rows (the range an event widens the update to
    holds the lowest and the highest neuron it reaches, on either side of the range): skipping
    resting neurons and waking them gives the bits of updating all in every step."""
    cfg = _config()
    for r, c, a, w in synapses:
        cfg.synapses.addresses[0, 2 * D + r, c], cfg.synapses.weights[0, 2 * D + r, c] = a, w
    events = sorted(events)
    t = np.array([e[0] for e in events])
    lab = np.array([make_label(0, J, a) for _, a in events])
    ev = (t, 8 + ((lab >> 11) & 3), lab)
    want, _ = _run(1, cfg, ev)
    got, _ = _run(STEPS, cfg, ev)
    for name in ("nstate", "ref_end", "spike_count"):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), name
