"""NEST and bss2emu in one process, in either import order (``host_threads.settle_threading_layer``).

numba's ``omp`` threading layer, started after ``import nest``, bound its ``omp_set_num_threads``
to NEST's libgomp (NEST opens its kernel with ``RTLD_GLOBAL``) and set NEST's thread count to
numba's: NEST's next ``ResetKernel`` segfaulted in a worker thread. ``test_nest_comparison.py``
run on its own hit it (pyNN.nest imported, a bss2emu run, then pyNN.nest's ``setup``); inside
the whole suite an earlier test had started numba's pool first. torch imported before NEST
makes the system libgomp — numba's — global, so NEST shared it with numba. These run in fresh processes,
where the order is what the user wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nest", reason="NEST is not installed (pip install nest-simulator)")

ROOT = Path(__file__).resolve().parents[2]

NEST_RUNS = """
import nest
nest.set_verbosity("M_ERROR")
for _ in range(2):  # ResetKernel and Simulate run NEST's OpenMP parallel regions
    nest.ResetKernel()
    nest.Create("iaf_psc_exp", 10, params={"I_e": 500.0})
    nest.Simulate(20.0)
"""

NEST_FIRST = "import nest\n" + """
import numba
import bss2emu.cluster.host_threads as HT
assert HT.global_openmp_runtime() is not None, "NEST's libgomp should be in the global scope"
numba.get_num_threads()  # starts numba's pool, as bss2emu's first run does
print("layer", numba.threading_layer())
""" + NEST_RUNS

BSS_FIRST = """
import numba
import bss2emu
import nest
numba.get_num_threads()  # a bss2emu run after 'import nest' (numba's pool started already at 'import bss2emu')
print("layer", numba.threading_layer())
""" + NEST_RUNS


TORCH_BEFORE_NEST = """
import numba
import bss2emu
import torch  # makes the system libgomp global: NEST binds to the runtime numba's omp layer uses
torch.set_num_threads(1)
import nest
numba.get_num_threads()  # a bss2emu run after 'import nest'
print("layer", numba.threading_layer())
""" + NEST_RUNS


def _python(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}  # numba's default unless given
    environ.update(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env)
    return subprocess.run([sys.executable, "-X", "faulthandler", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("script, layer", [(NEST_FIRST, "workqueue"), (BSS_FIRST, None), (TORCH_BEFORE_NEST, None)],
                         ids=["nest-first", "bss2emu-first", "torch-before-nest"])
def test_nest_runs_after_bss2emu_started_numba_threads(script, layer):
    if "import torch" in script:
        pytest.importorskip("torch")
    proc = _python(["-c", script])
    assert proc.returncode == 0, proc.stderr[-3000:]  # -11: the segmentation fault
    if layer is not None:  # after NEST: numba's workqueue layer, which touches no OpenMP runtime
        assert f"layer {layer}" in proc.stdout


def test_explicit_omp_layer_after_nest_is_a_config_error():
    proc = _python(["-c", NEST_FIRST], NUMBA_THREADING_LAYER="omp")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "ConfigError: NUMBA_THREADING_LAYER='omp'" in proc.stderr and "libgomp" in proc.stderr


def test_nest_comparison_file_runs_alone():
    """The file on its own (two single-neuron comparisons: NEST, bss2emu, NEST again) exits 0."""
    proc = _python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/pynn/test_nest_comparison.py",
                    "-k", "single_neuron_spike_times and IF_curr_exp"])
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert "2 passed" in proc.stdout
