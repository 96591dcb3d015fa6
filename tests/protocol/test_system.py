"""System descriptions: shipped setups, topologies and their hop counts, YAML files, errors."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import bss2emu
from bss2emu.errors import ConfigError, RoutingError
from bss2emu.protocol.system import SETUPS, SystemSpec, as_system, load_system, named_system
from bss2emu.routing.mapping import map_experiment


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_shipped_setups_are_valid_and_connected(name):
    s = named_system(name)
    n = len(s.chips)
    assert s.hops.shape == (n, n) and (np.diag(s.hops) == 0).all()
    assert (s.hops == s.hops.T).all() and (s.hops[~np.eye(n, dtype=bool)] > 0).all()
    assert len({c.serial for c in s.chips}) == n  # every chip its own mismatch


def test_topologies_give_the_documented_hop_counts():
    assert named_system("jboa-16").hops[0, 1] == 2 and named_system("jboa-16").hops[0, 4] == 4
    assert named_system("ring-8").hops[0, 4] == 4 and named_system("ring-8").hops[0, 7] == 1
    assert named_system("mesh-16").hops[0, 15] == 6  # 3 right + 3 down on a 4x4 grid
    assert named_system("jboa-120").latency_us(0, 119) == pytest.approx(1.3)


def test_system_yaml_round_trip_and_errors(tmp_path):
    path = tmp_path / "sys.yaml"
    spec = SystemSpec(name="mine", chips=[{"id": 0, "serial": 11}, {"id": 1, "serial": 12}], topology="ring",
                      link={"hop_latency_us": 0.5})
    path.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    assert load_system(path) == spec and as_system(str(path)) == spec
    path.write_text("chips: [{id: 1, serial: 3}]")
    with pytest.raises(ConfigError, match=r"chip ids must be 0..0 in order"):
        load_system(path)
    with pytest.raises(ConfigError, match=r"unknown system 'cube-5'.*cube-4"):
        as_system("cube-5")
    with pytest.raises(ConfigError, match=r"has 4 chips but chips=2"):
        as_system("cube-4", chips=2)
    assert len(as_system(None, chips=6).chips) == 6


def test_pinning_errors_name_the_population_and_the_limit():
    exp = bss2emu.Experiment(runtime_us=1, populations=[{"name": "a", "size": 300, "chip": 1},
                                                        {"name": "b", "size": 300, "chip": 1}])
    with pytest.raises(RoutingError, match=r"\['a', 'b'\] pinned to chip 1 need 600 neuron circuits; a chip has 512"):
        map_experiment(exp, "cube-4")
    exp = bss2emu.Experiment(runtime_us=1, populations=[{"name": "a", "size": 3, "chip": 9}])
    with pytest.raises(RoutingError, match=r"'a' is pinned to chip 9, but the system has chips 0..3"):
        map_experiment(exp, "cube-4")


def test_a_population_larger_than_a_chip_is_split():
    exp = bss2emu.Experiment(runtime_us=1, populations=[{"name": "big", "size": 1500}],
                             projections=[{"pre": "big", "post": "big", "weight": 1,
                                           "connector": {"kind": "fixed_number_pre", "n": 10}}])
    m = map_experiment(exp, "cube-4")
    load = m.partition.chip_load()
    assert load.sum() == 1500 and load.max() <= 512 and (load > 0).sum() >= 3
    keys = m.partition.chip["big"] * 512 + m.partition.circuit["big"]
    assert len(np.unique(keys)) == 1500
