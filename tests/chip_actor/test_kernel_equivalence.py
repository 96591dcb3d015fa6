"""The window kernel's results are pinned bit for bit, and do not depend on the window cut.

``data/kernel_reference.npz`` holds one chip's complete input — the ``ChipConfig`` that
routing made for ``equivalence_experiment()``, its playback events and timed writes — and
the output the original (unoptimised) kernel produced from it: spikes, MADC and CADC
samples and the chip's final dynamic state (membranes, adaptation, synaptic inputs,
refractory ends, STP, background generators, correlation sensors). Storing the input keeps
the check about the chip alone: later changes to routing or stimulus generation do not
touch it. Any change to ``chip_actor.kernels``/``chip`` must reproduce the output exactly;
only a deliberate change of the model's semantics regenerates the file::

    python tests/chip_actor/test_kernel_equivalence.py      # rewrites data/kernel_reference.npz
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import bss2emu
from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.experiment import Experiment
from bss2emu.protocol.hardware import NEURON_PARAMETERS, ChipConfig
from bss2emu.protocol.playback import NeuronParameterWrite, WeightWrite
from bss2emu.units import NS_PER_TICK

REFERENCE = Path(__file__).parent / "data" / "kernel_reference.npz"
STATE_KEYS = ("nstate", "ref_end", "spike_count", "stp_last", "stp_r", "stp_u", "bg_next_ns", "bg_rng",
              "t_pre", "t_post", "causal", "acausal")
CHIP_ARGS = ("serial", "ideal", "dt_ns", "seed", "steps")
WRITE_TYPES = {"neuron": NeuronParameterWrite, "weight": WeightWrite}


def equivalence_experiment(runtime_us: float = 200.0, weight_write_us: float = 120.0) -> Experiment:
    """A small network that exercises every path of the kernel.

    COBA and CUBA inputs (mixed per neuron), exponential term and adaptation, refractoriness,
    a non-firing neuron, recurrent excitation and inhibition across both hemispheres
    ('inh' straddles circuits 255/256), external Poisson and spike-array input (with a
    duplicate event and a burst of 64 events in one step), two background generators
    (Poisson with label randomisation, regular with start/stop), depressing and
    facilitating STP, correlation sensors, MADC and CADC readout and timed neuron/weight
    writes."""
    n_exc, n_inh = 220, 80
    rng = np.random.default_rng(1234)
    coba_inh = [int(x) for x in rng.integers(0, 2, n_inh)]
    fire_inh = [1] * n_inh
    fire_inh[7] = 0
    i_const_exc = [int(x) for x in rng.integers(60, 160, n_exc)]
    bg_list = [[int(u), j] for j in range(n_inh) for u in sorted({j % 16, (3 * j + 5) % 16})]
    return Experiment.model_validate({
        "name": "kernel-equivalence", "seed": 42, "runtime_us": runtime_us, "chip": {"serial": 3},
        "populations": [
            {"name": "exc", "size": n_exc, "params": {
                "enable_exponential": 1, "i_bias_exp": 60, "v_exp": 640, "enable_adaptation": 1,
                "i_bias_adapt_a": 1, "i_bias_adapt_b": 8, "i_bias_adapt_tau": 87, "coba_exc": 1,
                "i_const": i_const_exc, "refractory_count": 60, "i_bias_syn_exc_gm": 300}},
            {"name": "inh", "size": n_inh, "params": {
                "coba_inh": coba_inh, "enable_fire": fire_inh, "i_const": 160, "refractory_count": 20,
                "i_bias_syn_inh_tau": 40}},
        ],
        "sources": [
            {"kind": "poisson", "name": "drive", "size": 24, "rate_khz": 60.0},
            {"kind": "spike_array", "name": "stim", "size": 2,
             "spike_times_us": [[10.0, 10.05, 50.0, 50.0], [30.2, 99.9]]},
            # more events in one step than insertion sort takes (kernels.SORT_INSERTION_MAX)
            {"kind": "spike_array", "name": "burst", "size": 64,
             "spike_times_us": [[60.0 + 0.008 * (u % 7), 140.05] for u in range(64)]},
            {"kind": "background", "name": "bg", "size": 16, "mode": "poisson", "period": 40, "rate": 90},
            {"kind": "background", "name": "bg_regular", "size": 1, "mode": "regular", "period": 300,
             "start_us": 20.0, "stop_us": 150.0},
        ],
        "projections": [
            {"pre": "drive", "post": "exc", "weight": 50, "connector": {"kind": "fixed_probability", "p": 0.2},
             "stp": {"mode": "depression", "utilisation": 5, "recovery": 6}},
            {"pre": "stim", "post": "inh", "weight": 63},
            {"pre": "bg", "post": "inh", "weight": 25, "connector": {"kind": "from_list", "connections": bg_list},
             "stp": {"mode": "facilitation", "utilisation": 3, "recovery": 4, "voltage_set": 1}},
            {"pre": "bg_regular", "post": "exc", "weight": 10},
            {"pre": "burst", "post": "exc", "weight": 30,
             "connector": {"kind": "from_list", "connections": [[u, (3 * u) % n_exc] for u in range(64)]}},
            {"pre": "exc", "post": "exc", "weight": 4,
             "connector": {"kind": "fixed_number_pre", "n": 12, "allow_self_connections": False}},
            {"pre": "exc", "post": "inh", "weight": 20, "connector": {"kind": "fixed_probability", "p": 0.08}},
            {"pre": "inh", "post": "exc", "weight": 18, "receptor": "inhibitory",
             "connector": {"kind": "fixed_number_pre", "n": 8}},
            {"pre": "inh", "post": "inh", "weight": 15, "receptor": "inhibitory",
             "connector": {"kind": "fixed_probability", "p": 0.1, "allow_self_connections": False}},
        ],
        "recordings": {"madc": {"population": "exc", "index": 5}, "cadc": {"period_us": 2.5},
                       "correlation": True, "tau_corr_us": 4.0},
        "writes": [
            {"kind": "neuron", "time_us": 80.0, "population": "inh", "parameter": "i_const", "value": 120},
            {"kind": "weight", "time_us": weight_write_us, "projection": "exc→inh", "weight": 35},
        ],
    })


# --- the chip's input, as flat arrays ------------------------------------------------------
def chip_inputs(exp: Experiment) -> dict[str, np.ndarray]:
    """Everything the chip gets for a single-chip ``exp``: configuration, events, writes,
    run arguments. (Only ``regenerate`` maps experiments, so the check does not depend on
    the mapping code.)"""
    from bss2emu.cluster.coordinator import chip_setups
    from bss2emu.routing.mapping import map_experiment

    (setup,) = chip_setups(exp, map_experiment(exp))
    cfg, program = setup.config, setup.program
    out = {}
    for part in dataclasses.fields(cfg):
        obj = getattr(cfg, part.name)
        for f in dataclasses.fields(obj):
            out[f"cfg.{part.name}.{f.name}"] = np.asarray(getattr(obj, f.name))
    t_ns = program.spike_ticks * NS_PER_TICK
    out["ev.t_ns"], out["ev.label"] = t_ns, program.spike_labels
    out["ev.input"] = 8 + ((program.spike_labels >> 11) & 3)
    for i, w in enumerate(program.writes):
        out[f"write{i}.kind"] = np.asarray("neuron" if isinstance(w, NeuronParameterWrite) else "weight")
        for f in dataclasses.fields(w):
            out[f"write{i}.{f.name}"] = np.asarray(getattr(w, f.name))
    steps = int(np.ceil(exp.runtime_us * 1e3 / exp.dt_ns))
    for key, val in zip(CHIP_ARGS, (setup.serial, setup.ideal, setup.dt_ns, setup.seed, steps)):
        out[f"chip.{key}"] = np.asarray(val)
    return out


def _config(inputs: dict) -> ChipConfig:
    cfg = ChipConfig()
    for key, val in inputs.items():
        if key.startswith("cfg."):
            _, part, name = key.split(".")
            setattr(getattr(cfg, part), name, val.item() if val.ndim == 0 else np.array(val))
    return cfg


def _writes(inputs: dict) -> list:
    out, i = [], 0
    while f"write{i}.kind" in inputs:
        cls = WRITE_TYPES[str(inputs[f"write{i}.kind"])]
        vals = {f.name: inputs[f"write{i}.{f.name}"] for f in dataclasses.fields(cls)}
        out.append(cls(**{k: v.item() if v.ndim == 0 else v for k, v in vals.items()}))
        i += 1
    return out


def run_chip(inputs: dict, max_window_steps: int, chips: list | None = None) -> dict[str, np.ndarray]:
    """Run one Chip on ``inputs`` in windows of at most ``max_window_steps``; a window also
    ends before every step that contains a write (which applies at that step's start).
    The chip is appended to ``chips`` if given."""
    args = {k: inputs[f"chip.{k}"].item() for k in CHIP_ARGS}
    chip = Chip(_config(inputs), serial=args["serial"], ideal=args["ideal"], dt_ns=args["dt_ns"], seed=args["seed"])
    if chips is not None:
        chips.append(chip)
    h, total = args["dt_ns"], args["steps"]
    writes = _writes(inputs)
    t_ev = inputs["ev.t_ns"]
    outs = []
    while chip.step < total:
        due = [w for w in writes if w.time_ticks * NS_PER_TICK // h == chip.step]
        chip.apply_writes(due)
        end = min([total, chip.step + max_window_steps]
                  + [w.time_ticks * NS_PER_TICK // h for w in writes if w.time_ticks * NS_PER_TICK // h > chip.step])
        lo, hi = np.searchsorted(t_ev, [chip.step * h, end * h])
        outs.append(chip.run_window(chip.step, end - chip.step, t_ev[lo:hi], inputs["ev.input"][lo:hi],
                                    inputs["ev.label"][lo:hi]))
    cat = (lambda name, col: np.concatenate([getattr(o, name).column(col).to_numpy() for o in outs]))
    res = {f"{name}.{col}": cat(name, col) for name, cols in
           (("spikes", ("time_ticks", "neuron", "label")), ("madc", ("time_ticks", "value")),
            ("cadc", ("time_ticks", "neuron", "value"))) for col in cols}
    for key in STATE_KEYS:
        res[f"state.{key}"] = np.asarray(getattr(chip, key))
    return res


def regenerate(path: Path = REFERENCE) -> None:
    """Record the reference with the current code (only after a deliberate model change)."""
    inputs = chip_inputs(equivalence_experiment())
    out = run_chip(inputs, max_window_steps=2000)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{f"in:{k}": v for k, v in inputs.items()}, **{f"out:{k}": v for k, v in out.items()})
    print(f"wrote {path}: {len(out['spikes.time_ticks'])} spikes, {len(out['madc.value'])} MADC samples")


# Floating-point state may differ from a recording made on another processor in its last
# bits: LLVM picks other instructions (FMA contraction, vector widths) for another CPU, and
# libm's exp differs by an ulp. Measured: the reference recorded on an AVX-512 machine and
# replayed on an AVX2 one differs in 141 of 2560 membrane-state values by at most 1.1e-12
# (absolute; 1.8e-13 relative), with spikes, MADC and CADC identical. Against the recording,
# float state is allowed 1e-11 relative to the largest value of its array — nine orders below
# a 10-bit readout step; everything discrete (spikes, readout codes, integer state) stays
# exact. On one machine, window cuts agree bit for bit (``test_window_cuts_agree_bit_for_bit``).
FLOAT_STATE_RTOL = 1e-11


def _assert_identical(got: dict, want: dict, float_rtol: float = 0.0) -> None:
    assert sorted(got) == sorted(want)
    for key in want:
        a, b = got[key], want[key]
        assert a.shape == b.shape, f"{key}: shape {a.shape} != {b.shape}"
        assert a.dtype == b.dtype, f"{key}: dtype {a.dtype} != {b.dtype}"
        if float_rtol and key.startswith("state.") and a.dtype.kind == "f":
            assert np.array_equal(np.isnan(a), np.isnan(b)), f"{key}: NaNs differ"
            ok = ~np.isnan(b)
            scale = float(np.max(np.abs(b[ok]), initial=0.0))
            worst = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
            assert worst <= float_rtol * scale, f"{key} differs by {worst:.3g} (allowed {float_rtol * scale:.3g})"
            continue
        # bit for bit, NaN-safe: compare the raw bytes of the values
        assert a.tobytes() == b.tobytes(), f"{key} differs at {np.count_nonzero(a != b)} of {a.size} entries"


@pytest.fixture(scope="module")
def reference() -> tuple[dict, dict]:
    with np.load(REFERENCE) as ref:
        inputs = {k[3:]: ref[k] for k in ref.files if k.startswith("in:")}
        outputs = {k[4:]: ref[k] for k in ref.files if k.startswith("out:")}
    # parameters added to the model after the reference was recorded take their defaults
    # (appended last; a default must not change the dynamics, so the outputs stay bit-exact)
    stored = inputs["cfg.neurons.values"]
    defaults = np.array([p.default for p in NEURON_PARAMETERS[stored.shape[1]:]], dtype=stored.dtype)
    inputs["cfg.neurons.values"] = np.hstack([stored, np.tile(defaults, (len(stored), 1))])
    return inputs, outputs


def test_reference_network_is_not_trivial(reference):
    _, out = reference
    neurons = out["spikes.neuron"]
    assert len(neurons) > 1000
    assert (neurons < 220).any() and (neurons >= 256).any()  # both hemispheres fire
    assert np.unique(out["madc.value"]).size > 20
    assert out["state.causal"].any() and out["state.acausal"].any()
    assert (out["state.stp_r"] < 1).any() and (out["state.stp_u"] > 0).any()


@pytest.mark.parametrize("max_window_steps", [2000, 7, 1])
def test_chip_reproduces_the_recorded_reference(reference, max_window_steps):
    inputs, want = reference
    _assert_identical(run_chip(inputs, max_window_steps), want, float_rtol=FLOAT_STATE_RTOL)


def test_window_cuts_agree_bit_for_bit(reference):
    inputs, _ = reference
    whole = run_chip(inputs, 2000)
    for steps in (7, 1):
        _assert_identical(run_chip(inputs, steps), whole)


def test_synaptic_event_count_does_not_depend_on_the_window_cut(reference):
    inputs, _ = reference
    chips: list[Chip] = []
    for steps in (2000, 7):
        run_chip(inputs, steps, chips)
    assert chips[0].synaptic_events > 10_000
    assert chips[0].synaptic_events == chips[1].synaptic_events


def test_weight_writes_keep_the_synapse_table_in_step(reference):
    """``set_weights`` patches the kernel's table; it must equal one built afresh, also
    when weights go to or from zero (which changes the count of weighted synapses)."""
    inputs, _ = reference
    chip = Chip(_config(inputs), serial=3)
    rng = np.random.default_rng(5)
    syn = chip.config.synapses
    chip.set_weights(1, np.array([3, 4]), 7, 0)  # scalars broadcast
    used = np.argwhere(np.broadcast_to(syn.row_modes[:, :, None] > 0, syn.weights.shape))
    pick = used[rng.choice(len(used), 3000, replace=False)]
    values = rng.choice([0, 0, 1, 17, 63], len(pick))
    chip.set_weights(pick[:, 0], pick[:, 1], pick[:, 2], values)
    assert (syn.weights[pick[:, 0], pick[:, 1], pick[:, 2]] == values).all()
    fresh = K.synapse_table(syn.weights, syn.addresses, syn.row_modes)
    for got, want in zip(chip.synapse_table, fresh):
        assert np.array_equal(got, want)
    with pytest.raises(ValueError):
        syn.weights[0, 0, 0] = 5  # read-only: would bypass the table


def run_recorded(exp: Experiment, max_window_steps: int) -> dict[str, np.ndarray]:
    """Run ``exp`` end to end (``bss2emu.run``): its recordings as arrays."""
    res = bss2emu.run(exp, max_window_steps=max_window_steps)
    return {f"{name}.{col}": res.tables[name][col].to_numpy() for name, cols in
            (("spikes", ("time_ticks", "neuron", "label")), ("madc", ("time_ticks", "value")),
             ("cadc", ("time_ticks", "neuron", "value"))) for col in cols}


@pytest.mark.parametrize("weight_write_us", [120.0, 120.3])  # 120.3 µs = 15038 ticks: inside step 1203
def test_run_window_cut_does_not_change_results(weight_write_us):
    exp = equivalence_experiment(runtime_us=150.0, weight_write_us=weight_write_us)
    _assert_identical(run_recorded(exp, 1), run_recorded(exp, 2000))


if __name__ == "__main__":
    regenerate()
