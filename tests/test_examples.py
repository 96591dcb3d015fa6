"""Every example runs (short), writes its figure and shows what it claims.

The examples are imported from ``examples/`` by path, as a user would run them, and their
``main(runtime_us=..., out_dir=...)`` is called; the YAML experiment files go through
``bss2emu.run`` with the file path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import bss2emu

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def test_single_neuron(example, tmp_path, png_written):
    r = example("single_neuron").main(runtime_us=250.0, out_dir=tmp_path)
    png_written(r, tmp_path, "single_neuron.png")
    on, off = r["step_us"]
    spikes = np.asarray(r["spike_times_us"])
    assert r["n_spikes_in_step"] >= 3
    assert np.all((spikes >= on) & (spikes < off + 1.0)), "spikes only under the current step"
    assert 550.0 < r["v_rest_mv"] < 630.0
    assert r["epsp_mv"] > 5.0 and r["ipsp_mv"] > 5.0


def test_adex_firing_patterns(example, tmp_path, png_written):
    mod = example("adex_firing_patterns")
    r = mod.main(runtime_us=400.0, out_dir=tmp_path)
    png_written(r, tmp_path, "adex_firing_patterns.png")
    p = r["patterns"]
    assert {name: s["classified_as"] for name, s in p.items()} == {name: name for name in mod.PATTERNS}
    isi = {name: np.diff(s["spike_times_us"]) for name, s in p.items()}
    # tonic: many spikes at a constant rate
    assert p["tonic"]["n_spikes"] > 20 and p["tonic"]["cv"] < 0.05
    # adapting: every ISI at least as long as the one before, the last > 3x the first
    assert np.all(np.diff(isi["adapting"]) > -0.2) and isi["adapting"][-1] > 3 * isi["adapting"][0]
    # initial burst: two short ISIs, then regular firing at a much lower rate
    first, rest = isi["initial_burst"][:2], isi["initial_burst"][2:]
    assert first.max() < 0.2 * rest.min() and rest.std() / rest.mean() < 0.15
    # bursting: bimodal ISIs — short within bursts, long between them, nothing in between
    b = isi["bursting"]
    short, long_ = b[b < 15.0], b[b > 75.0]
    assert len(short) + len(long_) == len(b) and len(long_) >= 2 and len(short) >= 2
    # transient: a few spikes right after the step onset, then silence
    spikes = np.asarray(p["transient"]["spike_times_us"])
    assert len(spikes) >= 3 and spikes[-1] < mod.STEP_ON_US + 60.0


def test_stp(example, tmp_path, png_written):
    r = example("stp").main(runtime_us=300.0, out_dir=tmp_path)
    png_written(r, tmp_path, "stp.png")
    lsb = 1200.0 / 1023  # one MADC step
    dep = np.asarray(r["depressing"]["amplitudes_mv"])
    fac = np.asarray(r["facilitating"]["amplitudes_mv"])
    assert len(dep) >= 5 and len(fac) >= 5
    assert np.all(np.diff(dep) <= lsb) and dep[0] > 2.5 * dep[-1]
    assert np.all(np.diff(fac) >= -lsb) and fac[-1] > 2.5 * fac[0]
    # the measured amplitudes follow the Tsodyks–Markram efficacies of the drivers' settings
    for name in ("depressing", "facilitating"):
        a, m = np.asarray(r[name]["amplitudes_mv"]), np.asarray(r[name]["model_mv"])
        assert np.max(np.abs(a - m)) < 3.0


def test_synfire_chain(example, tmp_path, png_written):
    mod = example("synfire_chain")
    r = mod.main(runtime_us=80.0, out_dir=tmp_path)
    png_written(r, tmp_path, "synfire_chain.png")
    assert r["wave_reaches_last_group"]
    assert min(r["spikes_full_pulse"]) >= 0.75 * mod.GROUP_SIZE
    latency = np.asarray(r["latency_us"])
    assert np.all(np.diff(latency) > 0.5), "the wave moves forward group by group"
    assert np.nanmax(r["spread_us"]) < 2.0, "and stays synchronous"
    assert sum(r["spikes_weak_pulse"][2:]) == 0, "the weak pulse dies out"


def test_balanced_network(example, tmp_path, png_written):
    r = example("balanced_network").main(runtime_us=300.0, out_dir=tmp_path)
    png_written(r, tmp_path, "balanced_network.png")
    for name in ("exc", "inh"):
        s = r["populations"][name]
        assert 2.0 < s["rate_hz"] < 50.0, (name, s)
        assert s["active_fraction"] > 0.5, (name, s)
    assert r["routing"]["rows_used"] <= 512


def test_single_neuron_yaml(example):
    path = EXAMPLES / "single_neuron.yaml"
    assert bss2emu.load_experiment(path) == example("single_neuron").build_experiment(250.0)
    res = bss2emu.run(str(path))
    assert res.madc.num_rows == 2500
    assert len(res.spike_times_us("neuron")[0]) >= 3


def test_balanced_network_yaml(example):
    path = EXAMPLES / "balanced_network.yaml"
    assert bss2emu.load_experiment(path) == example("balanced_network").build_experiment(1000.0)
    res = bss2emu.run(path)
    for name, size in (("exc", 320), ("inh", 80)):
        trains = res.spike_times_us(name)
        rate_hz = sum(len(t) for t in trains) / size / 1.0  # per 1000 µs hw = per second bio
        assert 2.0 < rate_hz < 50.0, (name, rate_hz)


def test_example_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "single_neuron.py"), "--runtime-us", "150", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "spikes during the current step" in out.stdout
    assert (tmp_path / "o" / "single_neuron.png").exists()
