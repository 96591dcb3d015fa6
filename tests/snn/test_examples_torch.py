"""The torch examples run on a short budget."""

from __future__ import annotations

import math


def test_snn_yinyang_trains_with_emulation_in_the_loop_and_plots(example, tmp_path):
    mod = example("snn_yinyang")
    out = tmp_path / "snn.png"
    res = mod.main(["--epochs", "1", "--train", "40", "--test", "30", "--batch", "20", "--out", str(out)])
    assert out.stat().st_size > 10_000
    curve = res["curve"]
    assert len(curve["loss"]) == 1 and math.isfinite(curve["loss"][0])
    assert 0.0 <= res["test_accuracy"] <= 1.0


def test_mac_yinyang_learns_on_the_emulated_array(example, tmp_path):
    mod = example("mac_yinyang")
    out = tmp_path / "mac.png"
    res = mod.main(["--epochs", "4", "--train", "500", "--test", "200", "--out", str(out)])
    assert out.stat().st_size > 10_000
    assert res["test_accuracy"] > 0.6  # chance is 1/3
    assert res["curve"]["loss"][-1] < res["curve"]["loss"][0]
