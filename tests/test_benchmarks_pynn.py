"""The PyNN benchmark (``benchmarks/pynn_reference.py``) runs, briefly, and its figures make sense.

Figures only, no timing assertions (DESIGN.md §6): the network fires, a new stimulus
finds the mapping in the cache, and the table shows it.
"""

from __future__ import annotations


def test_pynn_reference_short(capsys, benchmark_script):
    bench = benchmark_script("pynn_reference")
    out = bench.main(["--duration", "20", "--repeat", "2"])
    printed = capsys.readouterr().out
    assert out["neurons"] == 2048 and out["connections"] == 204_800
    first, *later = out["runs"]
    assert [r["rate_in_hz"] for r in out["runs"]] == [bench.RATE_HZ, *bench.STIMULUS_RATES_HZ]
    for r in out["runs"]:
        assert r["spikes"] > 0 and r["rate_hz"] > 0
        assert r["inter_chip_events"] > 0 and r["dropped_events"] == 0
        assert r["windows"] > 0
        assert r["translate_s"] is not None and r["emulate_s"] is not None, "the backend's build and run were timed"
    for r in later:
        assert r["map_cached"], (first["map_s"], r["map_s"])
    # a new stimulus is new data: the spikes change although the network does not
    assert len({r["spikes"] for r in out["runs"]}) > 1
    line = next(x for x in printed.splitlines() if x.startswith("mapping cached"))
    assert line.split()[2:] == ["cold", "yes", "yes"]
    assert "AdEx" in printed or "EIF_cond_exp_isfa_ista" in printed
