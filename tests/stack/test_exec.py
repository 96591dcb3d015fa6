"""``bss2emu exec``: scripts written for the real stack run with its module names bound to
bss2emu for that run only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bss2emu import exec as bexec

SCRIPT = textwrap.dedent("""
    import sys
    import pyhalco_hicann_dls_vx_v3 as halco
    from dlens_vx_v3 import hal, lola, sta, hxcomm
    import dlens_vx_v3.halco
    import calix.spiking
    from calix.spiking.neuron import NeuronCalibTarget
    import pylogging

    neuron = lola.AtomicNeuron()
    neuron.leak.v_leak, neuron.leak.i_bias = 700, 300
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.AtomicNeuronOnDLS(halco.common.Enum(2)), neuron)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(20 * int(hal.Timer.Value.fpga_clock_cycles_per_us)))
    ticket = builder.read(halco.CADCSampleRowOnDLS())
    with hxcomm.ManagedConnection() as connection:
        sta.run(connection, builder.done())
        ident = connection.get_unique_identifier()[0]
    assert dlens_vx_v3.halco is halco and calix.spiking.neuron.NeuronCalibTarget is NeuronCalibTarget
    print("cadc", int(ticket.get().causal[2]), ident, sys.argv[1:], __name__)
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
""")


def _bound_in_sys_modules() -> list[str]:
    return [n for n in sys.modules if any(n == b or n.startswith(b + ".") for b in bexec.BINDINGS)]


def test_a_script_runs_with_the_real_names_and_they_are_gone_afterwards(tmp_path, capsys):
    script = tmp_path / "experiment.py"
    script.write_text(SCRIPT)
    assert bexec.run_script(str(script), ["7", "x"], serial=4, ideal=True) == 7
    out = capsys.readouterr().out
    assert "cadc 82 bss2emu_ideal ['7', 'x'] __main__" in out  # leak 700 LSB = 384 mV → 82 of 255
    assert _bound_in_sys_modules() == []
    assert not any(isinstance(f, bexec.AliasFinder) for f in sys.meta_path)
    assert "BSS2EMU_CHIP_IDEAL" not in os.environ and "BSS2EMU_CHIP_SERIAL" not in os.environ
    with pytest.raises(ImportError):
        import pyhalco_hicann_dls_vx_v3  # noqa: F401


def test_a_failing_script_gives_its_traceback_and_status_1(tmp_path, capsys):
    script = tmp_path / "bad.py"
    script.write_text("from dlens_vx_v3 import hal\nhal.NeuronConfig()\n")
    assert bexec.run_script(str(script)) == 1
    err = capsys.readouterr().err
    assert "bad.py" in err and "hal.NeuronConfig is not emulated by bss2emu" in err
    assert "runpy" not in err  # the traceback starts at the script
    assert bexec.run_script(str(tmp_path / "missing.py")) == 2


def test_a_missing_bound_module_says_what_it_is_bound_to(monkeypatch):
    monkeypatch.setitem(bexec.BINDINGS, "pyfuture_vx", "bss2emu.not_yet")
    with bexec.bound_names():
        with pytest.raises(ModuleNotFoundError, match="'pyfuture_vx': bss2emu binds it to 'bss2emu.not_yet'"):
            import pyfuture_vx  # noqa: F401
        with pytest.raises(ModuleNotFoundError, match="dlens_vx_v3.nothing"):
            import dlens_vx_v3.nothing  # noqa: F401


def test_another_front_end_is_bound_by_one_line(monkeypatch):
    monkeypatch.setitem(bexec.BINDINGS, "hxtorch", "bss2emu.stack")
    monkeypatch.setitem(bexec.BINDINGS, "hxtorch.snn", "bss2emu.stack.lola")
    with bexec.bound_names():
        import hxtorch.snn
        assert hxtorch.snn.AtomicNeuron.__module__ == "bss2emu.stack.lola"
    assert "hxtorch" not in sys.modules


@pytest.mark.parametrize("command", [["-m", "bss2emu", "exec"], ["-m", "bss2emu.exec"]])
def test_the_command_line_runs_the_script(tmp_path, command):
    script = tmp_path / "experiment.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(Path(bexec.__file__).parent.parent))
    proc = subprocess.run([sys.executable, *command, "--ideal", str(script), "0", "--flag"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "cadc 82 bss2emu_ideal ['0', '--flag'] __main__" in proc.stdout


HXTORCH_SCRIPT = textwrap.dedent("""
    import torch
    import hxtorch
    import hxtorch.snn as hxsnn
    from hxtorch.snn.transforms import weight_transforms
    from hxtorch.snn.datasets.yinyang import YinYangDataset
    x, w = torch.full((1, 4), 10.0), torch.full((4, 2), 20.0)
    hxtorch.init_hardware()
    y = hxtorch.perceptron.matmul(x, w, mock=True)
    print(hxsnn.LIF.__module__, weight_transforms.linear_saturating(torch.tensor([9.0]), scale=10.0).item(),
          hxtorch.nn.Linear.__module__, torch.equal(y, hxtorch.matmul(x, w, mock=True)))
""")


def test_hxtorch_names_are_bound_to_the_torch_front_end(tmp_path, capsys):
    pytest.importorskip("torch")
    script = tmp_path / "hx.py"
    script.write_text(HXTORCH_SCRIPT)
    assert bexec.run_script(str(script)) == 0
    assert capsys.readouterr().out.split() == ["bss2emu.stack.hxtorch_snn", "63.0", "bss2emu.ann.nn", "True"]
    assert "hxtorch" not in sys.modules and "hxtorch.snn" not in sys.modules
