"""The multi-chip examples run (short), write their figures and show what they claim.

Like ``test_examples.py``: each example is imported from ``examples/`` by path and its
``main(runtime_us=..., out_dir=...)`` called; the YAML twin goes through ``bss2emu.run``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import bss2emu

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _links_consistent(links: list[tuple]) -> None:
    assert links, "inter-chip traffic uses links"
    for name, sent, delivered, dropped, _ in links:
        assert dropped == sent - delivered, name


def test_synfire_multichip(example, tmp_path, capsys, png_written):
    mod = example("synfire_multichip")
    r = mod.main(runtime_us=40.0, out_dir=tmp_path)
    png_written(r, tmp_path, "synfire_multichip.png")
    assert "reaches group 7" in capsys.readouterr().out
    assert r["wave_reaches_last_group"]
    assert min(r["fired"]) >= 0.75 * mod.GROUP_SIZE, "every group answers"
    latency = np.asarray(r["latency_us"])
    hops = np.diff(latency)
    assert np.all(hops > 0.65), "the wave moves forward group by group, each hop at least the route latency"
    assert hops[mod.DELAYED_HOP] > np.delete(hops, mod.DELAYED_HOP).max() + 1.0, "the delayed hop is longer"
    assert np.nanmax(r["spread_us"]) < 2.0, "and stays synchronous"
    # every group fires on the chip it is pinned to; the chain visits all 4 chips
    assert r["chips"] == [[k % 4] for k in range(mod.GROUPS)]
    assert {c for cs in r["chips"] for c in cs} == {0, 1, 2, 3}
    # every spike of groups 0..6 is one event to the next group's chip, over 2 link hops
    assert r["events_sent"] == sum(r["spikes"][:-1]) and r["inter_chip_events"] == r["events_sent"] and r["link_hops"] == 2 * r["events_sent"]
    assert r["dropped_events"] == 0
    _links_consistent(r["links"])


def test_balanced_multichip(example, tmp_path, png_written):
    mod = example("balanced_multichip")
    r = mod.main(runtime_us=300.0, out_dir=tmp_path)
    png_written(r, tmp_path, "balanced_multichip.png")
    assert r["n_neurons"] == 2048
    for name in ("exc", "inh"):
        s = r["populations"][name]
        assert 2.0 < s["rate_hz"] < 50.0, (name, s)
        assert s["active_fraction"] > 0.5, (name, s)
        assert 0.3 < s["cv_isi"] < 1.5, (name, s)  # irregular firing
    assert sorted(r["chips"]) == [0, 1, 2, 3]
    for c, s in r["chips"].items():
        assert s["exc_spikes"] > 100 and s["inh_spikes"] > 20, (c, s)
        assert s["rows_used"] <= 512
    # METIS keeps every cluster on one chip and cuts far fewer synapses than the declaration order
    assert all(len(chips) == 1 for chips in r["cluster_chips"].values())
    assert r["partition"]["inter_chip_synapses"] < 0.25 * r["naive_partition"]["inter_chip_synapses"]
    assert r["inter_chip_events"] > 0 and r["events_sent"] > 0
    _links_consistent(r["links"])
    assert r["dropped_events"] == sum(d for *_, d, _ in r["links"])


def test_balanced_multichip_yaml(example):
    path = EXAMPLES / "balanced_multichip.yaml"
    mod = example("balanced_multichip")
    assert bss2emu.load_experiment(path) == mod.build_experiment(1000.0)
    res = bss2emu.run(path)  # the file names its system
    assert res.metadata["system"] == "cube-4" and res.metadata["chips_used"] == 4 and res.metadata["inter_chip_events"] > 0
    spikes = res.to_pandas("spikes")
    assert sorted(spikes["chip"].unique()) == [0, 1, 2, 3]
    is_exc = spikes["population"].astype(str).str.startswith("exc")
    for kind, n, mask in (("exc", 1640, is_exc), ("inh", 408, ~is_exc)):
        rate_hz = int(mask.sum()) / n / 1.0  # per 1000 µs hw = per second bio
        assert 2.0 < rate_hz < 50.0, (kind, rate_hz)
