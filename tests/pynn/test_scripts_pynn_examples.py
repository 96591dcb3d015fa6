"""What PyNN's own example scripts (``examples/`` of PyNN 0.13) rely on beyond the standard
API: setup's extra arguments, random initial values drawn as on NEST, ``sim.NativeRNG``,
``except NotImplementedError`` around unavailable models."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pyNN.random import NumpyRNG, RandomDistribution


def _random_network(sim, seed: int, via: str):
    """VAbenchmarks' order of draws: initial v from the shared RNG, then connectivity."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.setup(timestep=0.1, min_delay=0.1, max_delay=1.0)
    rng = NumpyRNG(seed=seed, parallel_safe=True)
    v_init = RandomDistribution("uniform", (-65.0, -55.0), rng=rng)
    if via == "initial_values":
        pop = sim.Population(40, sim.IF_cond_exp(), initial_values={"v": v_init}, label="net")
    else:
        pop = sim.Population(40, sim.IF_cond_exp(), label="net")
        pop.initialize(v=v_init)
    prj = sim.Projection(pop, pop, sim.FixedProbabilityConnector(0.2, rng=rng), sim.StaticSynapse(weight=0.001))
    return sorted(map(tuple, np.asarray(prj.get([], format="list"), int).tolist())), rng.next(1)


@pytest.mark.parametrize("via", ["initialize", "initial_values"])
def test_random_initial_values_keep_a_shared_rng_in_step_with_nest(nest_sim, via):
    import bss2emu.pynn as sim

    nest_connections, nest_next = _random_network(nest_sim, 1234, via)
    nest_sim.end()
    connections, after = _random_network(sim, 1234, via)
    sim.end()
    assert len(connections) > 100
    assert connections == nest_connections
    assert after == nest_next


def test_random_initial_values_are_drawn_once_per_neuron_and_kept(sim):
    rng = NumpyRNG(seed=7)
    pop = sim.Population(5, sim.IF_curr_exp(), label="n")
    pop.initialize(v=RandomDistribution("uniform", (-70.0, -60.0), rng=rng))
    expected = NumpyRNG(seed=7).next(5, "uniform", {"low": -70.0, "high": -60.0})
    np.testing.assert_array_equal(pop._initial_values["v"], expected)
    assert rng.next(1) == NumpyRNG(seed=7).next(6)[-1]
    view = pop[1:3]
    with pytest.raises(NotImplementedError):  # PyNN's PopulationView has no initial_values (as on NEST) …
        view.initialize(v=-50.0)
    np.testing.assert_array_equal(pop._initial_values["v"],  # … but the view's neurons got their values
                                  [expected[0], -50.0, -50.0, *expected[3:]])
    with pytest.warns(UserWarning, match="initial v differs from v_rest; the hardware membrane starts at the leak"):
        sim.run(1.0)  # kept, yet unused by the hardware
    np.testing.assert_array_equal(pop._initial_values["v"], [expected[0], -50.0, -50.0, *expected[3:]])


def test_reset_draws_random_initial_values_again_as_nest_does(sim):
    rng = NumpyRNG(seed=3)
    pop = sim.Population(4, sim.IF_curr_exp(), initial_values={"v": RandomDistribution("uniform", (-66.0, -64.0),
                                                                                        rng=rng)}, label="n")
    first = pop._initial_values["v"].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.run(1.0)
    sim.reset()
    reference = NumpyRNG(seed=3).next(8, "uniform", {"low": -66.0, "high": -64.0})
    np.testing.assert_array_equal(first, reference[:4])
    np.testing.assert_array_equal(pop._initial_values["v"], reference[4:])


def test_native_rng_is_numpy_backed_and_seeded_from_setup(sim):
    """``sim.NativeRNG`` exists as on pyNN.nest (random_numbers.py) and is a PyNN NativeRNG;
    unseeded it follows setup(seed=...), seeded it draws what NumpyRNG draws."""
    import pyNN.random

    sim.setup(timestep=0.1, seed=11)
    first, second = sim.NativeRNG(), sim.NativeRNG()
    assert isinstance(first, pyNN.random.NativeRNG) and isinstance(first, NumpyRNG)
    a, b = first.next(4), second.next(4)
    assert not np.array_equal(a, b)
    sim.setup(timestep=0.1, seed=11)
    np.testing.assert_array_equal(sim.NativeRNG().next(4), a)
    np.testing.assert_array_equal(sim.NativeRNG(seed=5).next(3), NumpyRNG(seed=5).next(3))
    src = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0), label="src")
    pop = sim.Population(10, sim.IF_cond_exp(), label="pop")
    rng = sim.NativeRNG(seed=87354762)
    prj = sim.Projection(src, pop, sim.FixedProbabilityConnector(0.7, rng=rng),
                         sim.StaticSynapse(weight=RandomDistribution("normal", mu=0.01, sigma=0.001, rng=rng)))
    assert 40 < len(prj) < 100
