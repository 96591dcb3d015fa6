"""Fixtures for the pynn.brainscales2 view: the view, set up for each test and ended after."""

from __future__ import annotations

import importlib.util
import os

import pytest

IN_CI = bool(os.environ.get("CI"))
HAVE_PYNN = bool(importlib.util.find_spec("pyNN") and importlib.util.find_spec("neo"))
collect_ignore_glob = [] if HAVE_PYNN or IN_CI else ["test_*.py"]


@pytest.fixture
def pynn():
    import bss2emu.brainscales2 as pynn

    pynn.setup()
    yield pynn
    pynn.end()
