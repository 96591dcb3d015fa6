"""``benchmarks/service_load.py`` runs, briefly, and its figures make sense (no timing assertions)."""

from __future__ import annotations


def test_service_load_short(capsys, benchmark_script):
    bench = benchmark_script("service_load")
    out = bench.main(["--users", "3", "--jobs", "5", "--backend", "local", "--systems", "1"])
    printed = capsys.readouterr().out
    assert out["done"] == out["jobs"] == 15 and out["errors"] == []
    assert out["throughput"] > 0 and 0 < out["client_p50_s"] <= out["client_p95_s"]
    counts = list(out["counts"].values())
    assert max(counts) - min(counts) <= 1  # round-robin while all are backlogged (if they ever all were)
    assert "all finished:      15 of 15" in printed and "fairness:" in printed
