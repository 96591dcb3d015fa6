"""What a mapping keeps for the next run (``synapse_layout``, the chips' Poisson input, the
neurons) and what a ``Chip`` shares with the configuration it loads: a changed experiment must never get
a kept value, and a chip must never write into a configuration it shares."""

from __future__ import annotations

import re

import numpy as np
import pytest

import bss2emu
from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip
from bss2emu.cluster.coordinator import chip_setups
from bss2emu.errors import ConfigError
from bss2emu.protocol import coordinates as C
from bss2emu.protocol import hardware as HW
from bss2emu.protocol.frozen import FrozenList, is_frozen
from bss2emu.protocol.hardware import ChipConfig
from bss2emu.routing import mapping as R
from bss2emu.routing.stimulus import build_playback


def experiment(weight=20, rate_khz=40.0, rows=None, spike_times=None, **kw) -> bss2emu.Experiment:
    rows = rows if rows is not None else [[0, 0, 5], [1, 2], [2, 1, 63], [3, 3, 7]]
    spike_times = spike_times if spike_times is not None else [[1.0, 9.0], [4.0]]
    return bss2emu.Experiment(
        runtime_us=60, seed=3, chip={"ideal": True},
        populations=[{"name": "p", "size": 4, "params": {"i_const": 300}}],
        sources=[{"kind": "poisson", "name": "drive", "size": 4, "rate_khz": rate_khz},
                 {"kind": "spike_array", "name": "arr", "size": 2, "spike_times_us": spike_times}],
        projections=[{"pre": "drive", "post": "p", "weight": weight, "connector": {"kind": "from_list",
                                                                                  "connections": rows}},
                     {"pre": "arr", "post": "p", "weight": 30, "connector": {"kind": "all_to_all"}},
                     {"pre": "p", "post": "p", "weight": weight, "receptor": "inhibitory",
                      "connector": {"kind": "fixed_probability", "p": 0.5}}], **kw)


def fresh(exp: bss2emu.Experiment, chip: int = 0):
    """``exp``'s chip configuration and playback from a mapping made for it alone (nothing kept)."""
    m = R._Mapper(exp, R.as_system(None), "metis").map()
    return R.configure_chip(exp, m, chip), build_playback(exp, m, chip)


def same(a, b) -> bool:
    cfg_a, prog_a = a
    cfg_b, prog_b = b
    return (np.array_equal(cfg_a.synapses.weights, cfg_b.synapses.weights)
            and np.array_equal(cfg_a.synapses.addresses, cfg_b.synapses.addresses)
            and np.array_equal(prog_a.spike_ticks, prog_b.spike_ticks)
            and np.array_equal(prog_a.spike_labels, prog_b.spike_labels))


def kept(exp: bss2emu.Experiment):
    m = R.map_experiment(exp)
    return R.configure_chip(exp, m, 0, read_only=True), build_playback(exp, m, 0)


@pytest.mark.parametrize("change", [
    {"weight": 21}, {"rate_khz": 90.0}, {"rows": [[0, 0, 6], [1, 2], [2, 1, 63], [3, 3, 7]]},
    {"rows": [[0, 0], [1, 2], [2, 1], [3, 3]]}, {"spike_times": [[1.0, 8.0], [4.0]]}])
def test_a_changed_experiment_gets_its_own_values_not_the_kept_ones(change):
    base = experiment()
    first = kept(base)
    assert same(first, fresh(base))
    assert same(kept(base), first)  # the kept values serve the same experiment again
    changed = experiment(**change)
    assert R.map_experiment(changed) is R.map_experiment(base)  # same topology: the same mapping
    now = kept(changed)
    assert same(now, fresh(changed))
    assert not same(now, first)
    assert same(kept(base), fresh(base))  # and back


def test_lists_edited_in_place_are_read_again():
    """Spike arrays, and from-list rows set without validation (the PyNN backend's), are lists
    a script may edit in place: what is kept never depends on them. Validated rows are
    frozen lists; a new list assigned is read anew."""
    exp = experiment()
    before = kept(exp)
    con = exp.projections[0].connector
    con.connections = [[0, 0, 5], [1, 2, 43], [2, 1, 63], [3, 3, 7]]
    _, h, r, c = R.map_experiment(exp).synapse["drive→p"]
    assert kept(exp)[0].synapses.weights[h[1], r[1], c[1]] == 43
    rows = [list(x) for x in con.connections]
    exp.projections[0].connector = R.E.FromList.model_construct(kind="from_list", connections=rows)
    assert kept(exp)[0].synapses.weights[h[1], r[1], c[1]] == 43
    rows[1][2] = 44
    exp.sources[1].spike_times_us[0][1] = 12.0
    after = kept(exp)
    assert same(after, fresh(exp)) and not same(after, before)
    assert after[0].synapses.weights[h[1], r[1], c[1]] == 44


def test_runs_of_a_changed_experiment_match_runs_without_anything_kept():
    a, b = experiment(), experiment(weight=45, rate_khz=55.0)
    run_a, run_b = bss2emu.run(a), bss2emu.run(b)
    assert bss2emu.run(a).spikes.equals(run_a.spikes)
    R._CACHE.clear()  # nothing kept: a new mapping
    assert bss2emu.run(b).spikes.equals(run_b.spikes)
    assert not run_a.spikes.equals(run_b.spikes)


def test_a_chip_copies_shared_weights_before_writing_them():
    exp = experiment()
    setup = chip_setups(exp, R.map_experiment(exp))[0]
    shared = setup.config.synapses.weights
    assert not shared.flags.writeable
    before = shared.copy()
    chip = Chip(setup.config, ideal=True)
    assert chip.config.synapses.weights is shared  # loaded without a copy
    _, h, r, c = R.map_experiment(exp).synapse["drive→p"]
    chip.set_weights(h[:1], r[:1], c[:1], [33])
    assert chip.config.synapses.weights[h[0], r[0], c[0]] == 33
    assert np.array_equal(shared, before)  # the configuration (and the next chip's) is unchanged
    assert np.array_equal(Chip(setup.config, ideal=True).config.synapses.weights, before)


def test_read_only_arrays_out_of_range_are_refused_every_time():
    cfg = ChipConfig()
    ok = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), np.int64)
    ok.flags.writeable = False
    cfg.synapses.weights = ok
    cfg.check()
    cfg.check()  # (found within range once: not read again)
    bad = ok.copy()
    bad[1, 2, 3] = 64
    bad.flags.writeable = False
    cfg.synapses.weights = bad
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"synapse weight at synapses.weights\[1, 2, 3\] = 64"):
            cfg.check()
    view = ok[:]  # a read-only view of another array is checked every time
    cfg.synapses.weights = view
    cfg.check()


def test_from_list_reads_once_only_what_validation_made():
    calls = []

    def read(c):
        calls.append(1)
        return len(c)

    con = R.E.FromList(connections=[[0, 1], [2, 3, 4]])
    assert con.connections == [[0, 1], [2, 3, 4]] and con.immutable
    with pytest.raises(TypeError, match="assign a new list"):
        con.connections[1].append(5)
    assert [con.read_once("n", read) for _ in range(3)] == [2, 2, 2] and len(calls) == 1
    con.connections = [[5, 6]]  # validated again: a new tuple, read anew
    assert con.read_once("n", read) == 1 and len(calls) == 2
    copied = con.model_copy(update={"connections": [[1, 2], [3, 4], [5, 6]]})  # no validation: a list
    assert not copied.immutable and copied.read_once("n", read) == 3 and copied.read_once("n", read) == 3
    assert len(calls) == 4
    built = R.E.FromList.model_construct(kind="from_list", connections=FrozenList([FrozenList([1, 2]), [3, 4]]))
    proj = R.E.Projection(pre="a", post="b", weight=1, connector=built)  # passed through as it is
    assert proj.connector is built and not built.immutable


def test_a_chip_on_shared_arrays_runs_as_one_on_its_own_copies():
    """Weight writes (one by one and the PPU's many at once) and connection writes on a chip
    that shares its configuration's arrays and synapse table give what they give on a chip
    with copies of its own, and leave the shared ones as they were."""
    exp = experiment(weight=40)
    setup = chip_setups(exp, R.map_experiment(exp))[0]
    own = setup.config.copy()
    assert own.synapses.weights.flags.writeable
    tables_before = [a.copy() for a in Chip(setup.config, ideal=True).synapse_table]
    _, h, r, c = R.map_experiment(exp).synapse["p→p"]
    out = []
    for cfg in (setup.config, own):
        chip = Chip(cfg, ideal=True, seed=5)
        ev = (np.array([12_000, 20_000, 30_000]), np.full(3, 16), np.zeros(3, np.int64))
        res = [chip.run_window(0, 100, *Chip.no_events())]
        chip.set_weights(h[:1], r[:1], c[:1], [63])
        chip.set_weights(np.resize(h, 70), np.resize(r, 70), np.resize(c, 70), np.full(70, 50))  # (the PPU's path)
        chip.set_synapses_enabled(h[1:2], r[1:2], c[1:2], [False])
        res.append(chip.run_window(100, 400, *ev))
        out.append((res, chip.config.synapses.weights.copy(), [a.copy() for a in chip.synapse_table], chip.nstate.copy()))
    (res_a, w_a, tab_a, v_a), (res_b, w_b, tab_b, v_b) = out
    assert all(x.spikes.equals(y.spikes) for x, y in zip(res_a, res_b))
    assert np.array_equal(w_a, w_b) and np.array_equal(v_a, v_b)
    assert all(np.array_equal(x, y) for x, y in zip(tab_a, tab_b))
    fresh_chip = Chip(setup.config, ideal=True)  # the shared arrays are as they were
    assert all(np.array_equal(x, y) for x, y in zip(fresh_chip.synapse_table, tables_before))
    assert not np.array_equal(fresh_chip.config.synapses.weights, w_a)


def test_only_the_mapping_used_last_keeps_what_runs_derived():
    a, b = experiment(), experiment(rows=[[0, 1], [1, 2], [2, 3], [3, 0]])  # another topology
    m_a = R.map_experiment(a)
    kept(a)
    assert m_a.derived
    m_b = R.map_experiment(b)
    assert m_b is not m_a and not m_a.derived  # (megabytes per chip: freed for the next run)
    kept(b)
    assert m_b.derived and R.map_experiment(a) is m_a and not m_b.derived
    assert same(kept(a), fresh(a))


def test_from_lists_equal_by_their_connections_only():
    a, b = R.E.FromList(connections=[[0, 1, 5], [2, 3]]), R.E.FromList(connections=[[0, 1, 5], [2, 3]])
    a.read_once(("weights", 1), lambda c: np.array([5, 1]))  # (what was read of a is no part of it)
    assert a == b and a != R.E.FromList(connections=[[0, 1, 6], [2, 3]])
    assert a == R.E.FromList.model_construct(kind="from_list", connections=[[0, 1, 5], [2, 3]])
    assert a != R.E.FromList.model_construct(kind="from_list", connections=[[0, 1, 5]])
    assert a != R.E.AllToAll()


def test_chips_configured_together_get_each_projections_own_weights():
    """``chip_setups`` reads every projection's weights once for all chips
    (``weights_by_label``): each chip's weights are those it gets configured alone — a
    from-list's own per row, the others' one weight."""
    exp = bss2emu.Experiment.model_validate({
        "runtime_us": 20, "chip": {"ideal": True},
        "populations": [{"name": "a", "size": 4, "chip": 0}, {"name": "b", "size": 4, "chip": 1}],
        "sources": [{"kind": "spike_array", "name": "s", "size": 3, "spike_times_us": [[1.0], [2.0], [3.0]]}],
        "projections": [
            {"pre": "s", "post": "a", "weight": 9, "connector": {"kind": "from_list",
                                                                "connections": [[0, 0, 5], [1, 2], [2, 3, 63]]}},
            {"pre": "s", "post": "b", "weight": 21, "connector": {"kind": "all_to_all"}},
            {"pre": "a", "post": "b", "weight": 33, "connector": {"kind": "one_to_one"}}]})
    m = R.map_experiment(exp, "cube-4")
    setups = chip_setups(exp, m)
    assert [s.chip_id for s in setups] == [0, 1]
    for s in setups:
        alone = R.configure_chip(exp, m, s.chip_id)
        assert np.array_equal(s.config.synapses.weights, alone.synapses.weights)
    w0, w1 = (s.config.synapses.weights for s in setups)
    assert sorted(w0[w0 > 0].tolist()) == [5, 9, 63] and sorted(set(w1[w1 > 0].tolist())) == [21, 33]


def test_kept_neurons_serve_the_same_parameters_and_a_changed_experiment_gets_its_own():
    """``configure_chip(read_only=True)`` hands out the chip's last neuron arrays (frozen)
    while the parameters are the same, and new ones with the new values when they change."""
    base = experiment()
    m = R.map_experiment(base)
    first = R.configure_chip(base, m, 0, read_only=True).neurons
    assert is_frozen(first.values) and is_frozen(first.address_out)
    again = R.configure_chip(base, m, 0, read_only=True).neurons
    assert again.values is first.values and again.address_out is first.address_out and again is not first
    changed = experiment()
    changed.populations[0].params.i_const = 301
    now = R.configure_chip(changed, m, 0, read_only=True).neurons
    assert now.values is not first.values
    assert np.array_equal(now.values, R.configure_chip(changed, m, 0).neurons.values)
    assert not np.array_equal(now.values, first.values)
    assert np.array_equal(R.configure_chip(base, m, 0, read_only=True).neurons.values, fresh(base)[0].neurons.values)


@pytest.mark.parametrize("ideal", [True, False])
def test_a_chip_on_kept_neurons_derives_what_a_chip_on_its_own_copies_does(ideal):
    """A chip that loads frozen neurons takes its physics, coefficients, flags and delivery
    classes from what the first chip of its serial derived from them; they are what a chip
    derives from a copy of its own, and a parameter write changes that chip only."""
    exp = experiment()
    setup = chip_setups(exp, R.map_experiment(exp))[0]
    shared = Chip(setup.config, serial=4, ideal=ideal)
    own = Chip(setup.config.copy(), serial=4, ideal=ideal)  # (writable arrays: derived anew)
    assert Chip(setup.config, serial=4, ideal=ideal).physics is shared.physics is not own.physics
    other = Chip(setup.config, serial=5, ideal=ideal)  # another serial, another mismatch
    assert other.physics is not shared.physics
    assert np.array_equal(other.physics.e_l, shared.physics.e_l) == ideal
    for a, b in zip(shared.physics, own.physics):
        assert np.array_equal(a, b)
    assert np.array_equal(shared.coef_rows, own.coef_rows) and np.array_equal(shared.flags_rows, own.flags_rows)
    assert np.array_equal(shared.psp_class, own.psp_class) and shared.psp_tab.shape == own.psp_tab.shape
    before = setup.config.neurons.values.copy()
    for chip in (shared, own):
        chip.set_neuron_values("i_const", [1], 700)
        assert chip.coef[K.K_ICONST, 1] != Chip(setup.config, serial=4, ideal=ideal).coef[K.K_ICONST, 1]
    assert np.array_equal(shared.coef_rows, own.coef_rows) and np.array_equal(setup.config.neurons.values, before)
    spikes = [c.run_window(0, 300, *Chip.no_events()).spikes for c in (shared, own)]
    assert spikes[0].num_rows > 0 and spikes[0].equals(spikes[1])


@pytest.mark.parametrize("path", list(HW._RANGES))
def test_every_hardware_range_is_checked(path):
    """``ChipConfig.check`` compares the small arrays all at once: a value just outside any
    range is still found and named, in int64, in another integer type and in floats."""
    what, lo, hi = HW._RANGES[path]
    part, attr = path.split(".")
    for dtype in (np.int64, np.int32, np.float64):
        for bad in (lo - 1, hi + 1):
            cfg = ChipConfig()
            arr = np.array(getattr(getattr(cfg, part), attr), dtype)
            if bad > np.iinfo(np.int32).max and dtype is np.int32:
                continue
            arr.reshape(-1)[-1] = bad
            setattr(getattr(cfg, part), attr, arr)
            with pytest.raises(ConfigError, match=rf"{re.escape(what)} at {path}\[.*\] = {bad}(\.0)? is out of range"):
                cfg.check()
    ChipConfig().check()


def test_frozen_neurons_out_of_range_are_refused_every_time():
    cfg = ChipConfig()
    bad = cfg.neurons.values.copy()
    bad[7, HW.NEURON_PARAMETER_INDEX["v_leak"]] = 1023
    bad.flags.writeable = False
    cfg.neurons.values = bad
    for _ in range(2):
        with pytest.raises(ConfigError, match="neuron circuit 7: v_leak=1023 is out of range"):
            Chip(cfg)
