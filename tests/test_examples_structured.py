"""The structured-neuron examples run (short) and show what they claim."""

from __future__ import annotations

import numpy as np


def test_structured_chain_attenuates_along_the_chain(example, tmp_path, png_written):
    r = example("structured_chain").main(out_dir=tmp_path)
    png_written(r, tmp_path, "structured_chain.png")
    psp = np.asarray(r["psp_mv"])
    assert np.all(np.argmax(psp, axis=1) == np.arange(4))  # largest where injected
    assert psp[0, 0] > psp[0, 1] > psp[0, 2] > psp[0, 3] > 0  # attenuated with distance
    assert psp[3, 3] > psp[3, 2] > psp[3, 1] > psp[3, 0] > 0


def test_structured_seed_places_the_issue_morphology(example, tmp_path, png_written):
    r = example("structured_seed").main(out_dir=tmp_path)
    png_written(r, tmp_path, "structured_seed.png")
    psp = np.asarray(r["psp_mv"])
    assert psp.shape == (6, 6) and np.all(np.argmax(psp, axis=1) == np.arange(6))
    assert r["compartments"][1] == [(2, 0), (3, 0), (3, 1)]
    # the branches in row 0 (compartments 2, 3) and row 1 (4, 5) hang off compartment 1:
    # an input at 3 reaches 2 (its neighbour) more than the other branch's 4, 5
    assert psp[3, 2] > psp[3, 4] and psp[3, 2] > psp[3, 5] and psp[5, 4] > psp[5, 2]


def test_structured_chain_fit_recovers_the_chain_parameters_on_ray(example, tmp_path, png_written, ray_cluster):
    mod = example("structured_chain_fit")
    r = mod.main(out_dir=tmp_path)
    png_written(r, tmp_path, "structured_chain_fit.png")
    assert r["best"] == [mod.TRUE_CONDUCTANCE, mod.TRUE_LEAK]
    assert r["members"] == len(mod.CONDUCTANCES) * len(mod.LEAKS) * 4
    errors = sorted(r["error"].values())
    assert errors[0] < 1e-3 < errors[1]
