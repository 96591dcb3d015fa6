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


@pytest.fixture(scope="session")
def ray_cluster():
    """One Ray instance for the whole session: a two-node cluster made with
    ``ray.cluster_utils.Cluster``, so every Ray test also runs across nodes."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # something started a single-node Ray first: replace it
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()
