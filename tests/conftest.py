"""Shared fixtures. Most tests run on the in-process backend; nothing here starts Ray."""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from bss2emu.protocol.hardware import ChipConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# calibrations measured by the tests go to a store of this session, never the user's cache
# (set at import so that example subprocesses and Ray workers inherit it)
for _var, _prefix in (("BSS2EMU_CALIB_DIR", "bss2emu-calib-"), ("BSS2EMU_CACHE", "bss2emu-cache-")):
    # calibrations and compiled C++ PPU kernels of this session; removed at its end
    if _var not in os.environ:
        os.environ[_var] = tempfile.mkdtemp(prefix=_prefix)
        atexit.register(shutil.rmtree, os.environ[_var], ignore_errors=True)


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


@pytest.fixture(scope="module")
def example():
    """``example(name)`` → the imported module ``examples/<name>.py``."""
    sys.path.insert(0, str(EXAMPLES))  # the examples import their helper ``_common``
    loaded = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(f"bss2emu_example_{name}", EXAMPLES / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    yield load
    sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="session")
def benchmark_script():
    """``benchmark_script(name)``: the imported ``benchmarks/<name>.py`` (once per session)."""
    loaded = {}

    def load(name: str):
        if name not in loaded:
            path = EXAMPLES.parent / "benchmarks" / f"{name}.py"
            spec = importlib.util.spec_from_file_location(f"bss2emu_benchmark_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def plasticity_benchmark(benchmark_script):
    """The imported ``benchmarks/plasticity.py`` (its reference network and STDP rule)."""
    return benchmark_script("plasticity")


@pytest.fixture
def png_written():
    """``png_written(result, tmp_path, filename)``: an example wrote a real PNG where asked."""

    def check(result: dict, tmp_path: Path, filename: str) -> None:
        png = Path(result["png"])
        assert png == tmp_path / filename
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    return check
