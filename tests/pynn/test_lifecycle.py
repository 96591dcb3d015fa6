"""The PyNN life cycle: building or running before setup() or after end(), and an empty
population, raise errors that name the call and the fix (not an IndexError, not silence)."""

from __future__ import annotations

import numpy as np
import pytest
from pyNN import errors as pynn_errors

import bss2emu.pynn as sim
from bss2emu.pynn import lifecycle
from bss2emu.pynn.lifecycle import SimulatorStateError


@pytest.fixture
def fresh(monkeypatch):
    """The backend as right after import: nothing set up yet."""
    monkeypatch.setattr(lifecycle, "_phase", lifecycle.NEW)
    yield
    sim.setup()
    sim.end()


@pytest.mark.parametrize("size", [0, np.int64(0), (3, 0)])
def test_an_empty_population_is_pynns_invalid_dimensions_error(size):
    sim.setup()
    with pytest.raises(pynn_errors.InvalidDimensionsError, match="has no neurons"):
        sim.Population(size, sim.IF_curr_exp(), label="empty")
    sim.end()


def test_run_and_building_before_setup_are_refused(fresh):
    with pytest.raises(SimulatorStateError, match=r"run\(\) before setup\(\): call sim.setup"):
        sim.run(10.0)
    with pytest.raises(SimulatorStateError, match=r"Population\(\) before setup\(\)"):
        sim.Population(1, sim.IF_curr_exp())


def test_after_end_nothing_is_built_or_run_until_the_next_setup():
    sim.setup()
    a = sim.Population(2, sim.IF_curr_exp(), label="a")
    sim.end()
    with pytest.raises(SimulatorStateError, match=r"run\(\) after end\(\)"):
        sim.run(10.0)
    with pytest.raises(SimulatorStateError, match=r"Population\(\) after end\(\)"):
        sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(SimulatorStateError, match=r"Projection\(\) after end\(\)"):
        sim.Projection(a, a, sim.OneToOneConnector())
    with pytest.raises(SimulatorStateError):
        sim.run_until(5.0)
    sim.setup()  # a new network works as before
    b = sim.Population(1, sim.IF_curr_exp(i_offset=1.0), label="b")
    b.record("spikes")
    sim.run(50.0)
    assert len(b.get_data().segments[-1].spiketrains[0]) > 0
    sim.end()
