"""benchmarks/bss2_tutorials.py on a small tutorial of our own in the demos' format."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bss2_tutorials", Path(__file__).resolve().parents[2] / "benchmarks" / "bss2_tutorials.py")
runner = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(runner)

TUTORIAL = textwrap.dedent("""\
    A resting neuron
    ================

    .. include:: common_setup.rst

    .. only:: latex

        .. code:: ipython3

            raise RuntimeError("latex-only cells are not run")

    .. code:: ipython3

        %matplotlib inline
        from dlens_vx_v3 import halco, hal, lola, sta, hxcomm
        from ipywidgets import interact, IntSlider

        def rest(v_leak):
            neuron = lola.AtomicNeuron()
            neuron.leak.v_leak, neuron.leak.i_bias = v_leak, 300
            builder = sta.PlaybackProgramBuilder()
            builder.write(halco.AtomicNeuronOnDLS(0), neuron)
            builder.write(halco.TimerOnDLS(), hal.Timer())
            builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(2000))
            ticket = builder.read(halco.CADCSampleRowOnDLS(0))
            with hxcomm.ManagedConnection() as connection:
                sta.run(connection, builder.done())
            print("CADC", int(ticket.get().causal[0]), "leak of the nightly calibration", calib_leak)

        interact(rest, v_leak=IntSlider(min=0, max=1022, value=700))
    """)
SETUP = textwrap.dedent("""\
    .. code:: ipython3

        from dlens_vx_v3 import halco
        from _static.common.helpers import setup_hardware_client, get_nightly_calibration
        setup_hardware_client()
        calib = get_nightly_calibration()
        calib_leak = calib.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(0)].leak.v_leak
    """)


@pytest.fixture
def demos(tmp_path):
    d = tmp_path / "demos"
    (d / "_static" / "common").mkdir(parents=True)
    (d / "_static" / "common" / "helpers.py").write_text("raise RuntimeError('EBRAINS only')\n")
    (d / "resting.rst").write_text(TUTORIAL)
    (d / "common_setup.rst").write_text(SETUP)
    return d


def test_cells_are_extracted_with_includes_and_without_latex_parts_and_magics(demos):
    (name, cells), = runner.tutorials(demos)
    script = runner.to_script(cells)
    assert name == "resting" and len(cells) == 2
    assert "get_nightly_calibration()" in cells[0] and "latex-only" not in script and "%matplotlib" not in script
    nb = {"cells": [{"cell_type": "markdown", "source": ["# x"]}, {"cell_type": "code", "source": ["a = 1\n", "b = 2"]}]}
    (demos / "n.ipynb").write_text(json.dumps(nb))
    assert runner.tutorials(demos) == [("n", ["a = 1\nb = 2"])]


def test_a_tutorial_runs_with_the_ebrains_setup_replaced(demos, tmp_path, monkeypatch):
    monkeypatch.setenv("BSS2EMU_CHIP_IDEAL", "1")
    (name, cells), = runner.tutorials(demos)
    outcome, error, _ = runner.run_one(name, cells, demos, timeout_s=600, keep=tmp_path / "kept")
    log = (tmp_path / "kept" / "resting.log").read_text()
    assert (outcome, error) == ("runs", ""), log
    assert "CADC 82 leak of the nightly calibration 686" in log  # 80 CADC = 376.5 mV = leak 686 (0.55 mV/LSB); 700 = 384 mV


def test_failures_are_reported_by_their_first_error_line(demos, tmp_path):
    (demos / "broken.rst").write_text(".. code:: ipython3\n\n    from dlens_vx_v3 import hal\n    hal.NeuronConfig()\n")
    cells = runner.rst_cells(demos / "broken.rst")
    outcome, error, _ = runner.run_one("broken", cells, demos, timeout_s=600, keep=None)
    assert outcome == "fails" and error.startswith("AttributeError: hal.NeuronConfig is not emulated by bss2emu")
