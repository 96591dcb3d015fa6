"""setup's extras honoured or refused with a reason, RunCommand snippets, the logger, and
errors that name what bss2emu does not emulate."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import os

import numpy as np

import bss2emu.brainscales2 as pynn
from bss2emu.calib.result import ENV_DIR
from bss2emu.errors import ConfigError
from bss2emu.pynn import simulator
from bss2emu.pynn.exceptions import NoModelAvailableError, RecordingError

from bs2_scripts import LEAK_OVER_THRESHOLD


@pytest.fixture(autouse=True)
def _end():
    yield
    pynn.end()


@pytest.mark.parametrize("extra, match", [
    ({"injected_config": pynn.InjectedConfiguration(inside_realtime_end={"a": 1})}, "inside_realtime_end"),
    ({"injected_config": pynn.InjectedConfiguration(pre_realtime={"a": 1})}, "pre_realtime: writing int to str"),
    ({"injected_readout": pynn.InjectedReadout(post_realtime={"a"})}, "post_realtime"),
    ({"backgroundPermutation": [0]}, "backgroundPermutation"),
    ({"no_such_option": 1}, "no_such_option"),
])
def test_refused_extras_say_why(extra, match):
    with pytest.raises(ConfigError, match=match):
        pynn.setup(**extra)


def test_empty_injections_and_bss2emu_options_are_accepted():
    pynn.setup(injected_config=pynn.InjectedConfiguration(), injected_readout=pynn.InjectedReadout(),
               enable_neuron_bypass=False, seed=3, chips=1)
    assert pynn.get_pre_realtime_read() == {} and pynn.get_post_realtime_read() == {}


def test_a_connection_names_the_emulated_chip():
    hxcomm = pytest.importorskip("bss2emu.stack.hxcomm")
    with hxcomm.ManagedConnection(serial=4, ideal=False) as connection:
        pynn.setup(connection=connection)
        assert (simulator.state.config.serial, simulator.state.config.ideal) == (4, False)
    with pytest.raises(ConfigError, match="ManagedConnection"):
        pynn.setup(connection=object())


def test_calibration_cache_sets_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DIR, os.environ.get(ENV_DIR, ""))
    pynn.setup(calibration_cache=tmp_path)
    assert os.environ[ENV_DIR] == str(tmp_path)


def test_append_and_execute_run_snippets_as_one_experiment():
    """The first snippet has the leak below the threshold (silent), the second above (firing)."""
    pynn.setup(ideal=True)
    silent = {**LEAK_OVER_THRESHOLD, "leak_v_leak": 300}
    pop = pynn.Population(1, pynn.cells.HXNeuron(**silent))
    pop.record("spikes")
    pynn.run(0.05, pynn.RunCommand.APPEND)
    pop.set(leak_v_leak=1000)
    pynn.run(0.05, pynn.RunCommand.APPEND)
    assert simulator.state.results is None  # nothing executed yet
    pynn.run(None, pynn.RunCommand.EXECUTE)
    first, second = pop.get_data().segments[-1].spiketrains  # one train per neuron and snippet
    assert (float(first.t_start), float(first.t_stop), len(first)) == (0.0, pytest.approx(0.05), 0)
    assert (float(second.t_start), float(second.t_stop)) == (pytest.approx(0.05), pytest.approx(0.1))
    spikes = second.magnitude
    assert len(spikes) > 3 and spikes.min() >= 0.05 and spikes.max() <= 0.1
    assert pynn.get_current_time() == pytest.approx(0.1)


def test_snippets_give_a_signal_and_a_train_per_snippet():
    """pynn.brainscales2 adds, per snippet, a spike train of each recorded neuron and an
    ``IrregularlySampledSignal`` of each recorded neuron (snn_adex_helpers concatenates them):
    together they are the one run's record, cut at the snippets' boundaries."""
    pynn.setup(ideal=True)
    pop = pynn.Population(2, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD))
    pop.record("spikes")
    pop[0:1].record("v", device="madc")
    runtimes = (0.02, 0.03, 0.01)
    for runtime in runtimes:
        pynn.run(runtime, pynn.RunCommand.APPEND)
    pynn.run(None, pynn.RunCommand.EXECUTE)
    seg = pop.get_data().segments[-1]
    bounds = np.cumsum((0.0,) + runtimes)
    assert len(seg.spiketrains) == 2 * len(runtimes)
    for k, train in enumerate(seg.spiketrains):
        a, b = bounds[k // 2], bounds[k // 2 + 1]
        assert (float(train.t_start), float(train.t_stop)) == (pytest.approx(a), pytest.approx(b))
        assert train.annotations["source_id"] == int(pop[k % 2])
        assert np.all((train.magnitude >= a) & (train.magnitude <= b))
    signals = seg.irregularlysampledsignals
    assert len(signals) == len(runtimes)
    times = np.concatenate([s.times.magnitude for s in signals])
    assert np.all(np.diff(times) > 0)  # concatenated in order, no sample twice
    for k, s in enumerate(signals):
        assert s.times.magnitude.min() >= bounds[k] - 1e-9 and s.times.magnitude.max() < bounds[k + 1] + 1e-9
    # the cut loses nothing: together, the trains are the spikes of one run of the whole time
    cut = [np.concatenate([t.magnitude for t in seg.spiketrains[i::2]]) for i in (0, 1)]
    pynn.end()
    pynn.setup(ideal=True)
    pop = pynn.Population(2, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD))
    pop.record("spikes")
    pynn.run(float(bounds[-1]))
    whole = [t.magnitude for t in pop.get_data().segments[-1].spiketrains]
    assert all(len(w) > 3 for w in whole)
    for c, w in zip(cut, whole):
        np.testing.assert_array_equal(c, w)


def test_execute_without_a_snippet_and_prepare():
    pynn.setup(ideal=True)
    pop = pynn.Population(1, pynn.cells.CalibHXNeuronCuba())
    with pytest.raises(ValueError, match="APPEND"):
        pynn.run(None, pynn.RunCommand.EXECUTE)
    assert pynn.run(None, pynn.RunCommand.PREPARE) == 0.0
    with pytest.raises(ValueError, match="no time"):
        pynn.run(None, pynn.RunCommand.APPEND)
    assert pop.size == 1


def test_backend_statistics_after_a_run():
    pynn.setup(ideal=True)
    with pytest.raises(RuntimeError, match="pynn.run"):
        pynn.get_backend_statistics()
    pynn.Population(2, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD)).record("spikes")
    pynn.run(0.01)
    assert pynn.get_backend_statistics() is not None


def test_the_logger(tmp_path):
    log_file = tmp_path / "log.txt"
    pynn.logger.default_config(level=pynn.logger.LogLevel.INFO, fname=str(log_file))
    try:
        log = pynn.logger.get("tutorial")
        log.INFO("membrane recorded:", 3)
        log.DEBUG("not shown")
        pynn.logger.set_loglevel(log, pynn.logger.LogLevel.ERROR)
        log.WARN("not shown either")
    finally:
        pynn.logger.reset()
    text = log_file.read_text()
    assert "membrane recorded: 3" in text and "not shown" not in text


def test_unemulated_features_name_the_closest_way():
    pynn.setup(ideal=True)
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    with pytest.warns(UserWarning, match="no analog pads.*device='madc'"):
        pop.record("v", device="pad_0_buffered")  # an output to an oscilloscope: accepted, nothing recorded
    assert not any(ids for var, ids in pop.recorder.recorded.items())
    with pytest.raises(RecordingError, match="device 'scope' is not emulated"):
        pop.record("v", device="scope")
    with pytest.raises(ValueError, match=r"PlasticityRule\(timer=None\): give a Timer"):
        pynn.PlasticityRule(timer=None)
    with pytest.raises(ValueError, match="bayesian_enable_slave=True is not emulated"):
        pynn.Population(1, pynn.cells.HXNeuron(bayesian_enable_slave=True))


def test_synaptic_input_on_the_cadc_is_refused():
    pynn.setup(ideal=True)
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    pop.record("exc_synin", device="cadc")
    with pytest.raises(ValueError, match="device='madc'"):
        pynn.run(0.01)


def test_neuron_permutation_takes_the_circuit_of_initial_config():
    lola = pytest.importorskip("bss2emu.stack.lola")
    halco = pytest.importorskip("bss2emu.stack.halco")
    chip = lola.Chip()
    for circuit in (7, 9):  # firing neurons on circuits 7 and 9, the others default (silent)
        neuron = chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(circuit)]
        for name, value in LEAK_OVER_THRESHOLD.items():
            member, field = pynn.helper.decompose_in_member_names(name)
            setattr(getattr(neuron, member), field, value)
    pynn.setup(initial_config=chip, neuronPermutation=[7, 8])
    from_chip = pynn.Population(1, pynn.cells.HXNeuron())  # circuit 7: the chip's firing neuron
    silent = pynn.Population(1, pynn.cells.HXNeuron())  # circuit 8: a default (silent) neuron
    overridden = pynn.Population(1, pynn.cells.HXNeuron(threshold_enable=False))
    for pop in (from_chip, silent, overridden):
        pop.record("spikes")
    with pytest.raises(ValueError, match="neuronPermutation"):  # three neurons, two circuits listed
        pynn.run(0.05)
    pynn.setup(initial_config=chip, neuronPermutation=[7, 8, 9])
    from_chip = pynn.Population(1, pynn.cells.HXNeuron())
    silent = pynn.Population(1, pynn.cells.HXNeuron())
    overridden = pynn.Population(1, pynn.cells.HXNeuron(threshold_enable=False))  # the script's value wins
    for pop in (from_chip, silent, overridden):
        pop.record("spikes")
    pynn.run(0.05)
    counts = [len(p.get_data().segments[-1].spiketrains[0]) for p in (from_chip, silent, overridden)]
    assert counts[0] > 3 and counts[1] == 0 and counts[2] == 0


def test_neuron_permutation_places_the_neurons():
    """On a mismatched chip the circuit matters: a neuron pinned to circuit k fires as the
    same neuron placed there by a one-neuron population before it."""
    def isi(permutation, pad):
        pynn.setup(serial=3, ideal=False, **({} if permutation is None else {"neuronPermutation": permutation}))
        if pad:
            pynn.Population(pad, pynn.cells.HXNeuron())
        pop = pynn.Population(1, pynn.cells.HXNeuron(**LEAK_OVER_THRESHOLD))
        pop.record("spikes")
        pynn.run(0.1)
        assert simulator.state.last_experiment.populations[-1].circuits == (None if permutation is None
                                                                            else permutation[-1:])
        return np.diff(pop.get_data().segments[-1].spiketrains[0].magnitude)[1:].mean()

    placed_on_5 = isi(None, pad=5)  # routing places it on circuit 5
    assert isi([5], pad=0) == pytest.approx(placed_on_5, abs=1e-9)
    assert isi([6], pad=0) != pytest.approx(placed_on_5, abs=1e-6)  # another circuit, another mismatch


def test_names_not_emulated_say_so():
    with pytest.raises(AttributeError, match="spike I/O"):
        pynn.SpikeIOCell  # noqa: B018
    with pytest.raises(AttributeError, match="did you mean Population"):
        pynn.Populaton  # noqa: B018


def test_the_modules_scripts_annotate_with_are_there():
    """Tutorials write ``pynn.populations.Population`` in type annotations (fp_sudoku)."""
    import bss2emu.brainscales2 as pynn

    assert pynn.populations.Population is pynn.Population
    assert pynn.populations.PopulationView is pynn.PopulationView and pynn.populations.Assembly is pynn.Assembly
