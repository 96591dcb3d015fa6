"""The smallest system a network fits (``routing.sizing``): place-and-route on growing chip
counts, only limits that more chips relieve move on, and the count found is the smallest."""

from __future__ import annotations

import pytest

import bss2emu
from bss2emu.errors import RoutingError
from bss2emu.protocol.system import system_with_chips
from bss2emu.routing import mapping as R
from bss2emu.routing import sizing as S
from bss2emu.routing.errors import routing_error


def e_i_network(neurons: int = 500, noise: int = 100):
    """Issue #10's shape: a recurrent population (p = 0.1) driven by noise sources (p = 0.5)."""
    return bss2emu.Experiment(
        runtime_us=10, populations=[{"name": "net", "size": neurons}],
        sources=[{"kind": "spike_array", "name": "noise", "size": noise, "spike_times_us": [[1.0]] * noise}],
        projections=[{"pre": "noise", "post": "net", "weight": 10, "connector": {"kind": "fixed_probability", "p": 0.5}},
                     {"pre": "net", "post": "net", "weight": 10, "connector": {"kind": "fixed_probability", "p": 0.1}}])


def test_a_network_limited_by_synapse_drivers_gets_the_smallest_system_it_fits():
    exp = e_i_network()
    assert S.lower_bound_chips(exp) == 1  # its 500 neurons fit one chip's 512 circuits …
    with pytest.raises(RoutingError) as err:  # … but not its 600 sources' synapse drivers
        R.map_experiment(exp, system_with_chips(1))
    assert err.value.reason == "drivers"
    mapping = S.smallest_mapping(exp)
    assert len(mapping.chips) == 2
    assert mapping.system == system_with_chips(2)
    assert S.smallest_mapping(exp) is mapping  # the count is kept per topology: no new search


def test_neuron_count_and_pinned_chips_give_the_lower_bound():
    exp = bss2emu.Experiment(runtime_us=10, populations=[{"name": "a", "size": 1100}, {"name": "b", "size": 4, "chip": 3}])
    assert S.lower_bound_chips(exp) == 4
    assert len(S.smallest_mapping(exp).chips) == 4
    big = bss2emu.Experiment(runtime_us=10, populations=[{"name": "a", "size": 3 * 512 + 1}])
    assert len(S.smallest_mapping(big).chips) == 4


def test_a_limit_more_chips_cannot_relieve_is_raised_at_once(monkeypatch):
    calls = []
    real = S.map_experiment
    monkeypatch.setattr(S, "map_experiment", lambda exp, system, p: calls.append(len(system.chips)) or real(exp, system, p))
    exp = bss2emu.Experiment(
        runtime_us=10, populations=[{"name": "n", "size": 2}],
        sources=[{"kind": "spike_array", "name": "s", "size": 300, "spike_times_us": [[1.0]] * 300}],
        projections=[{"pre": "s", "post": "n", "weight": 1, "connector": {"kind": "all_to_all"}}])
    with pytest.raises(RoutingError) as err:
        S.smallest_mapping(exp)
    assert err.value.reason == "fan_in" and calls == [1]


@pytest.mark.parametrize("linear", [0, 2, 16])
@pytest.mark.parametrize("needed", [1, 2, 3, 5, 17, 18, 19, 33, 64, 65, 100, 120])
def test_search_finds_the_smallest_count_when_fits_grow_with_chips(monkeypatch, linear, needed):
    """Linear steps, then doubling and bisection: the first count that fits, whatever it is."""
    def fake_map(exp, system, partitioner):
        n = len(system.chips)
        if n < needed:
            raise routing_error(f"no driver on {n} chips", "drivers")
        return R.SystemMapping(system, None, {}, {}, [None] * n, None, None, {})

    monkeypatch.setattr(S, "map_experiment", fake_map)
    monkeypatch.setattr(S, "LINEAR_CHIPS", linear)
    exp = bss2emu.Experiment(runtime_us=10, seed=needed * 100 + linear, populations=[{"name": "a", "size": 1}])
    assert len(S.smallest_mapping(exp).chips) == needed


def test_no_system_up_to_the_largest_fits(monkeypatch):
    monkeypatch.setattr(S, "map_experiment", lambda exp, system, p: (_ for _ in ()).throw(
        routing_error("source 'x' finds no free synapse driver", "drivers", source="x")))
    exp = bss2emu.Experiment(runtime_us=10, seed=99, populations=[{"name": "a", "size": 1}])
    with pytest.raises(RoutingError, match=r"no free synapse driver; no system of 1 to 120 chips fits") as err:
        S.smallest_mapping(exp)
    assert err.value.reason == "drivers" and err.value.details == {"source": "x"}
