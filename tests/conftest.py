"""Shared fixtures. Most tests run on the in-process backend; nothing here starts Ray."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.protocol.hardware import ChipConfig


@pytest.fixture
def recording_config() -> ChipConfig:
    """A chip configuration whose neurons' spikes all reach the FPGA (are recorded)."""
    cfg = ChipConfig()
    cfg.neurons.address_out[:] = np.arange(512) | (1 << 13)
    for i in range(8):
        cfg.crossbar.enable[i, 8 + i // 2] = 1
    return cfg
