"""The PyNN examples run (short) and show what they claim; each is imported from
``examples/`` by path (the ``example`` fixture) and its ``main(...)`` called."""

from __future__ import annotations

import numpy as np


def test_pynn_single_neuron(example, tmp_path, png_written):
    mod = example("pynn_single_neuron")
    r = mod.main(runtime_ms=150.0, out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_single_neuron.png")
    on, off = r["step_ms"]
    assert r["spikes"] and all(on < t < off + 1.0 for t in r["spikes"]), "spikes only under the current step"
    assert 1.0 < r["psp_mv"] < 8.0
    assert r["samples"] == 1501  # 0 … 150 ms every 0.1 ms (MADC)
    assert -71.0 < r["v_min"] < -69.0 and r["v_max"] < -49.5  # reset and threshold, biological mV
    assert abs(r["realised"]["tau_m"] - 20.0) < 0.1


def test_pynn_synfire_over_four_chips(example, tmp_path, png_written):
    mod = example("pynn_synfire")
    r = mod.main(runtime_ms=30.0, out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_synfire.png")
    assert r["wave_reaches_last_group"] and min(r["fired"]) == mod.GROUP_SIZE
    hops = np.diff(r["latency_ms"])
    assert np.all(hops > mod.DELAY_MS), "each hop takes its delay plus the rise time"
    assert hops[mod.DELAYED_HOP] > np.delete(hops, mod.DELAYED_HOP).max() + 2.5, "the 4 ms hop is longer"
    assert r["chips_used"] == 4
    assert r["inter_chip_events"] == sum(r["spikes"][:-1]) and r["dropped_events"] == 0

