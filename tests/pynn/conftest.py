"""Fixtures for the PyNN backend tests: the backend (ended after each test) and pyNN.nest
as the reference simulator (tests that need it skip cleanly when NEST is not installed)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import importlib.util

import pytest

# without the optional pyNN/neo packages (pip install bss2emu[pynn]) these tests are skipped —
# except in CI, which installs the test extras and must run them (a missing package fails there)
IN_CI = bool(os.environ.get("CI"))
HAVE_PYNN = bool(importlib.util.find_spec("pyNN") and importlib.util.find_spec("neo"))
collect_ignore_glob = [] if HAVE_PYNN or IN_CI else ["test_*.py"]

sys.path.insert(0, str(Path(__file__).parent))  # the shared PyNN scripts (scripts.py)


@pytest.fixture
def sim():
    import bss2emu.pynn as sim

    sim.setup(timestep=0.1)
    yield sim
    sim.end()


@pytest.fixture(scope="session")
def nest_sim():
    """``pyNN.nest``, or skip when NEST (``pip install nest-simulator``) is missing."""
    if not IN_CI:  # in CI the reference must really run: importing below fails loudly instead
        pytest.importorskip("nest", reason="NEST is not installed (pip install nest-simulator)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyNN.nest warns when it cannot build its optional extensions
        import pyNN.nest

    return pyNN.nest
