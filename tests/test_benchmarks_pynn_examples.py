"""The PyNN-examples benchmark (``benchmarks/pynn_examples.py``) runs scripts unchanged
and sorts their outcomes: ran, a bss2emu limit, a defect inside bss2emu, another failure.
Three tiny scripts written as PyNN's examples are (the simulator from the command line)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "pynn_examples.py"

RUNS = '''
from pyNN.utility import get_script_args
simulator_name = get_script_args(1)[0]
exec("from pyNN.%s import *" % simulator_name)
setup(timestep=0.1)
p = Population(2, IF_curr_exp(i_offset=1.0))
p.record("spikes")
run(50.0)
assert len(p.get_data().segments[0].spiketrains[0]) > 0
end()
'''
LIMIT = '''
from pyNN.utility import get_simulator
sim, options = get_simulator()
sim.setup()
sim.Population(1, sim.HH_cond_exp())
'''
FAILS = '''
from pyNN.utility import get_simulator
sim, options = get_simulator(("--flag", "an option", {"action": "store_true"}))
raise RuntimeError("the script's own error")
'''


def _load():
    spec = importlib.util.spec_from_file_location("bss2emu_benchmark_pynn_examples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_outcomes_are_sorted(tmp_path, capsys):
    for name, text in (("a_runs", RUNS), ("b_limit", LIMIT), ("c_fails", FAILS)):
        (tmp_path / f"{name}.py").write_text(text)
    bench = _load()
    table = bench.main(["--examples", str(tmp_path), "--simulators", "bss2emu", "--timeout", "300"])
    printed = capsys.readouterr().out
    assert table["a_runs"]["bss2emu"]["outcome"] == "runs"
    limit = table["b_limit"]["bss2emu"]
    assert limit["outcome"] == "limit" and limit["type"] == "NoModelAvailableError"
    assert "HH_cond_exp is not available on BrainScaleS-2" in limit["message"]
    fails = table["c_fails"]["bss2emu"]
    assert fails["outcome"] == "fails" and fails["message"] == "the script's own error"
    assert fails["where"].endswith("c_fails.py:4")
    assert "bss2emu: 1 fails, 1 limit, 1 runs of 3" in printed
