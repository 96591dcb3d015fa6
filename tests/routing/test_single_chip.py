"""Placement and routing on one chip: what lands where, and every resource limit's error."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.errors import ConfigError, RoutingError
from bss2emu.protocol import coordinates as C
from bss2emu.protocol import experiment as E
from bss2emu.routing import mapping as R


def exp(**kw):
    kw.setdefault("runtime_us", 10)
    return bss2emu.Experiment(**kw)


def src(name, size=1):
    return {"kind": "spike_array", "name": name, "size": size, "spike_times_us": [[1.0]] * size}


def test_placement_is_consecutive_and_connections_land_on_matching_synapses():
    e = exp(populations=[{"name": "a", "size": 300}, {"name": "b", "size": 20}],
            sources=[src("s", 3)],
            projections=[{"pre": "s", "post": "b", "weight": 17, "connector": {"kind": "all_to_all"}},
                         {"pre": "a", "post": "b", "weight": 5, "receptor": "inhibitory",
                          "connector": {"kind": "fixed_probability", "p": 0.1}}])
    m = R.map_experiment(e)
    rt = m.chips[0]
    assert rt.circuits["a"].tolist() == list(range(300))
    assert rt.circuits["b"].tolist() == list(range(300, 320))
    cfg = R.configure_chip(e, m, 0)
    for pr in e.projections:
        pre, post, w = m.conns[pr.label]
        chip, h, row, col = m.synapse[pr.label]
        kind = "src" if pr.pre == "s" else "pop"
        labels = np.array([rt.labels[(kind, pr.pre, i, 0) if kind == "src" else (kind, pr.pre, i)] for i in pre])
        assert (chip == 0).all()
        assert (cfg.synapses.addresses[h, row, col] == labels & 63).all()
        assert (cfg.synapses.weights[h, row, col] == pr.weight).all()
        receptor = 1 if pr.receptor == "excitatory" else 2
        assert (cfg.synapses.row_modes[h, row] == receptor).all()
        # the driver of the row is the one the label selects
        assert (row // 2 == ((labels >> 6) & 31) * 4 + ((labels >> 11) & 3)).all()
    # no synapse is used twice
    keys = np.concatenate([h * 65536 + r * 256 + c for _, h, r, c in m.synapse.values()])
    assert len(np.unique(keys)) == len(keys)
    # labels are unique among units
    all_labels = list(rt.labels.values())
    assert len(set(all_labels)) == len(all_labels)


def test_unused_synapses_are_parked_at_an_address_no_routed_event_carries():
    # the routing hands out addresses from 0: before, the unused synapses of a used row kept
    # address 0 and every address-0 event of the row reached them (weight 0, sensors counting)
    e = exp(populations=[{"name": "a", "size": 40}, {"name": "b", "size": 30}], sources=[src("s", 5)],
            projections=[{"pre": "s", "post": "b", "weight": 17, "connector": {"kind": "all_to_all"}},
                         {"pre": "a", "post": "b", "weight": 0, "connector": {"kind": "fixed_probability", "p": 0.3}}])
    m = R.map_experiment(e)
    cfg = R.configure_chip(e, m, 0)
    used = np.zeros(cfg.synapses.addresses.shape, bool)
    for _, h, r, c in m.synapse.values():
        used[h, r, c] = True
    assert used.sum() > 0 and (~used).sum() > 0
    assert (cfg.synapses.addresses[~used] == C.ADDRESS_MAX).all()
    assert (cfg.synapses.addresses[used] == m.chips[0].addresses[used]).all()  # (weight 0 included: a rule may grow it)
    event_addresses = {label & 63 for label in m.chips[0].labels.values()}
    assert C.ADDRESS_MAX not in event_addresses and 0 in event_addresses


def test_routing_is_cached_on_topology_only():
    base = dict(populations=[{"name": "p", "size": 4}], sources=[src("s")],
                projections=[{"pre": "s", "post": "p", "weight": 10}])
    r1 = R.map_experiment(exp(**base))
    changed = dict(base, sources=[{**src("s"), "spike_times_us": [[2.0, 3.0]]}],
                   projections=[{"pre": "s", "post": "p", "weight": 40}],
                   populations=[{"name": "p", "size": 4, "params": {"v_leak": 300}}])
    assert R.map_experiment(exp(**changed)) is r1  # new stimulus, weight, parameters: no re-map
    grown = dict(base, populations=[{"name": "p", "size": 5}])
    assert R.map_experiment(exp(**grown)) is not r1


def test_a_connection_list_edited_in_place_is_mapped_again():
    """The digest of a from_list connector is kept per connector object. Validated
    connections cannot change (no edit in place; a new list assigned is validated again); a
    list set without validation (``model_construct``, as the PyNN backend builds them) may be
    edited in place (first, last pair or length) and must not reuse the old mapping."""
    e = exp(populations=[{"name": "p", "size": 4}], sources=[src("s", 2)],
            projections=[{"pre": "s", "post": "p", "weight": 10,
                          "connector": {"kind": "from_list", "connections": [[0, 0], [1, 1]]}}])
    m1 = R.map_experiment(e)
    assert R.map_experiment(e) is m1
    con = e.projections[0].connector
    with pytest.raises(TypeError):
        con.connections[0] = (1, 0)
    con.connections = [[0, 0], [1, 2]]
    m2 = R.map_experiment(e)
    assert m2 is not m1 and m2.conns[e.projections[0].label][1].tolist() == [0, 2]
    e.projections[0].connector = con = E.FromList.model_construct(kind="from_list", connections=[[0, 0], [1, 1]])
    for edit in (lambda c: c.append([1, 3]), lambda c: c.__setitem__(-1, [0, 2]), lambda c: c.__setitem__(0, [1, 0])):
        before = R.map_experiment(e)
        edit(con.connections)
        after = R.map_experiment(e)
        assert after is not before
        post = after.conns[e.projections[0].label][1]
        assert post.tolist() == [c[1] for c in con.connections]


def test_too_many_neurons():
    with pytest.raises(RoutingError, match=r"513 neuron circuits \('a'=500, 'b'=13\); 1 chip\(s\) have 512 .* use more chips \(chips=2\)"):
        R.map_experiment(exp(populations=[{"name": "a", "size": 500}, {"name": "b", "size": 13}]))


def test_too_many_presynaptic_sources_for_a_column():
    e = exp(populations=[{"name": "p", "size": 2}], sources=[src("s", 300)],
            projections=[{"pre": "s", "post": "p", "weight": 1}])
    with pytest.raises(RoutingError, match=r"population 'p' neuron 0 receives input from 300 .* 256 synapse rows"):
        R.map_experiment(e)


def test_too_many_background_generators():
    bgs = [{"kind": "background", "name": f"bg{i}", "period": 100} for i in range(9)]
    with pytest.raises(RoutingError, match=r"9 background sources .* reach chip 0; a chip has 8 background generators"):
        R.map_experiment(exp(populations=[{"name": "p", "size": 1}], sources=bgs,
                             projections=[{"pre": f"bg{i}", "post": "p", "weight": 1} for i in range(9)]))
    # generators without targets cost nothing
    R.map_experiment(exp(populations=[{"name": "p", "size": 1}], sources=bgs))


def test_conflicting_stp_on_one_source():
    e = exp(populations=[{"name": "p", "size": 1}, {"name": "q", "size": 1}], sources=[src("s")],
            projections=[{"pre": "s", "post": "p", "weight": 1, "stp": {"utilisation": 3}},
                         {"pre": "s", "post": "q", "weight": 1}])
    with pytest.raises(RoutingError, match=r"'s→p' and 's→q' leave 's' with different short-term plasticity"):
        R.map_experiment(e)


def test_drivers_run_out():
    """129 sources that must not share a driver (each its own STP setting) need 129 drivers."""
    combos = [(u, r, m) for m in ("depression", "facilitation") for u in range(16) for r in range(16)][:129]
    sources = [src(f"s{i}") for i in range(129)]
    projs = [{"pre": f"s{i}", "post": "p", "weight": 1, "stp": {"utilisation": u, "recovery": r, "mode": m}}
             for i, (u, r, m) in enumerate(combos)]
    e = exp(populations=[{"name": "p", "size": 1}], sources=sources, projections=projs)
    with pytest.raises(RoutingError, match=r"source 's128' unit 0 finds no free synapse driver .* 128 drivers"):
        R.map_experiment(e)
    R.map_experiment(exp(populations=[{"name": "p", "size": 1}], sources=sources[:128], projections=projs[:128]))


def test_dense_input_fills_two_rows_per_driver():
    """256 sources all-to-all onto a hemisphere use every row exactly once."""
    e = exp(populations=[{"name": "p", "size": 256}], sources=[src("s", 256)],
            projections=[{"pre": "s", "post": "p", "weight": 1}])
    stats = R.map_experiment(e).stats["chips"][0]
    assert stats["rows_used"] == C.ROWS_PER_HEMISPHERE
    assert stats["synapses_used"] == 256 * 256


def test_connectors_give_exact_counts():
    e = exp(populations=[{"name": "p", "size": 50}, {"name": "q", "size": 40}],
            projections=[{"pre": "p", "post": "q", "weight": 1, "connector": {"kind": "fixed_number_pre", "n": 7}},
                         {"pre": "p", "post": "p", "weight": 1, "name": "rec",
                          "connector": {"kind": "all_to_all", "allow_self_connections": False}},
                         {"pre": "q", "post": "q", "weight": 1, "connector": {"kind": "one_to_one"}}])
    m = R.map_experiment(e)
    pre, post, _ = m.conns["p→q"]
    assert (np.bincount(post, minlength=40) == 7).all()
    assert all(len(set(pre[post == j])) == 7 for j in range(40))
    pre, post, _ = m.conns["rec"]
    assert len(pre) == 50 * 49 and not (pre == post).any()
    assert m.conns["q→q"][0].tolist() == list(range(40))


def test_a_cached_topology_takes_the_new_experiments_weights():
    base = dict(populations=[{"name": "p", "size": 1}], sources=[src("s")])
    w = []
    for weight in (63, 0, 30):
        e = exp(**base, projections=[{"pre": "s", "post": "p", "weight": weight}])
        m = R.map_experiment(e)
        _, h, r, c = m.synapse["s→p"]
        w.append(int(R.configure_chip(e, m, 0).synapses.weights[h, r, c][0]))
    assert w == [63, 0, 30]


def test_from_list_weights_are_values_not_topology():
    base = dict(populations=[{"name": "p", "size": 2}], sources=[src("s", 2)])
    got = []
    for w in ((5, 6), (60, 1)):
        e = exp(**base, projections=[{"pre": "s", "post": "p", "weight": 1, "connector": {
            "kind": "from_list", "connections": [[0, 0, w[0]], [1, 1, w[1]]]}}])
        m = R.map_experiment(e)
        _, h, r, c = m.synapse["s→p"]
        got.append((m, R.configure_chip(e, m, 0).synapses.weights[h, r, c].tolist()))
    assert got[0][0] is got[1][0]  # same pairs: no re-map
    assert got[0][1] == [5, 6] and got[1][1] == [60, 1]


def test_configure_chip_copies_the_madc_source_to_the_recorded_chip():
    from bss2emu.protocol.hardware import MADC_INH_SYNIN

    exp = bss2emu.Experiment(runtime_us=1, populations=[{"name": "p", "size": 4}],
                             recordings={"madc": {"population": "p", "index": 2, "source": "inh_synin"}})
    cfg = R.configure_chip(exp, R.map_experiment(exp), 0)
    assert (cfg.readout.madc_neuron, cfg.readout.madc_source) == (2, MADC_INH_SYNIN)


def test_huge_dense_connectors_are_refused_before_allocating():
    """all_to_all and fixed_probability over the largest populations would allocate TiB
    (a MemoryError traceback before): both are refused with the limit and the fix."""
    huge = [{"name": "a", "size": 524288}]
    with pytest.raises(RoutingError, match=r"receives input from 524288 presynaptic neurons \(all_to_all"):
        R.map_experiment(exp(populations=huge, projections=[{"pre": "a", "post": "a", "weight": 1}]))
    with pytest.raises(ConfigError, match=r"fixed_probability over 524288 × 524288 pairs .* use fixed_number_pre"):
        R.map_experiment(exp(populations=huge, projections=[
            {"pre": "a", "post": "a", "weight": 1, "connector": {"kind": "fixed_probability", "p": 1e-6}}]))


def test_a_source_needing_more_than_two_rows_in_a_column_gets_a_masked_driver_group():
    """Five projections from one source onto the same neuron (a weight spread over five rows)
    cannot fit one driver's two rows: the source gets an aligned group of 4 drivers on one PADI
    bus sharing a row-select mask of 2 bits, so its one label reaches all 8 rows. A source
    placed afterwards does not land on the masked drivers, and every synapse is found by the
    chip's own label decoding (row select under the mask, then address)."""
    e = exp(populations=[{"name": "n", "size": 2}], sources=[src("wide"), src("single", 3)],
            projections=[{"pre": "wide", "post": "n", "weight": 63, "name": f"w{r}",
                          "connector": {"kind": "all_to_all"}} for r in range(5)]
            + [{"pre": "single", "post": "n", "weight": 9, "connector": {"kind": "all_to_all"}}])
    m = R.map_experiment(e)
    rt = m.chips[0]
    cfg = R.configure_chip(e, m, 0)
    masked = sorted(rt.driver_masks)
    assert len(masked) == 4 and set(rt.driver_masks.values()) == {3}
    assert len({d % C.PADI_BUSES_PER_HEMISPHERE for d in masked}) == 1  # one PADI bus
    assert (cfg.drivers.row_select_mask[:, masked] == 3).all()
    wide_rows = np.concatenate([m.synapse[f"w{r}"][2] for r in range(5)])
    assert set((wide_rows // C.ROWS_PER_DRIVER).tolist()) <= set(masked)
    for pr in e.projections:
        chip, h, row, col = m.synapse[pr.label]
        for pre, hh, r, c in zip(m.conns[pr.label][0], h, row, col):
            label = rt.labels[("src", pr.pre, int(pre), 0)]
            bus, rowsel = label >> C.LABEL_BUS_SHIFT & 3, label >> C.LABEL_ROW_SELECT_SHIFT & 31
            d = r // C.ROWS_PER_DRIVER
            on_bus = d // C.PADI_BUSES_PER_HEMISPHERE
            assert d % C.PADI_BUSES_PER_HEMISPHERE == bus
            assert (on_bus ^ rowsel) & ~cfg.drivers.row_select_mask[hh, d] & 31 == 0  # the driver hears it
            assert cfg.synapses.addresses[hh, r, c] == label & 63
        if pr.pre == "single":
            assert not set((row // C.ROWS_PER_DRIVER).tolist()) & set(masked)


def test_from_list_weights_read_once_per_experiment_are_the_same():
    # configure_chip(weights=...) memoises a projection's weights for the chips of one run
    e = exp(populations=[{"name": "p", "size": 3}], sources=[src("s", 3)],
            projections=[{"pre": "s", "post": "p", "weight": 9, "connector": {
                "kind": "from_list", "connections": [[0, 0, 5], [1, 2], [2, 1, 63]]}}])
    m = R.map_experiment(e)
    memo: dict = {}
    first = R.configure_chip(e, m, 0, memo)
    again = R.configure_chip(e, m, 0, memo)
    assert memo["s→p"].tolist() == [5, 9, 63]
    assert np.array_equal(first.synapses.weights, R.configure_chip(e, m, 0).synapses.weights)
    assert np.array_equal(again.synapses.weights, first.synapses.weights)
