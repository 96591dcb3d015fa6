"""calix's correlation calibration reaches the emulated sensors, as the plasticity demos load it:
a calix result → ``apply(builder)``/``to_chip()`` → ``setup(initial_config=...)`` → the sensors'
time constant and amplitude in the experiment (their measurement on the chip:
``tests/chip_actor/test_correlation_pairing.py``)."""

from __future__ import annotations

import pickle

import pytest
import quantities as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor.analog import correlation_currents, correlation_sensor
from bss2emu.errors import ConfigError
from bss2emu.stack import calix, hxcomm, lola
from bss2emu.stack import stadls as sta
from bss2emu.stack.calix.spiking import correlation

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")


_CHIP = lola.Chip()  # (a calibration writes all the currents it holds)


@settings(max_examples=60, deadline=None)
@given(amplitude=st.floats(0.2, 2.0), tau_us=st.floats(2.0, 30.0))
def test_a_target_in_calixs_range_is_reached_within_half_a_capmem_step(amplitude, tau_us):
    chip = _CHIP
    correlation.calibrate(correlation.CorrelationCalibTarget(amplitude, tau_us * pq.us)).write_to(chip)
    tau, amp = correlation.sensor_of_chip(chip)
    ramp, store = correlation_currents(tau_us, amplitude)
    assert abs(tau / tau_us - 1) <= 0.5 / ramp + 1e-12
    assert abs(amp / amplitude - 1) <= 0.5 / store + 1e-12


@settings(max_examples=30, deadline=None)
@given(amplitude=st.one_of(st.floats(0.0, 0.199), st.floats(2.001, 50.0)))
def test_a_target_outside_calixs_range_is_refused(amplitude):
    with pytest.raises(ConfigError, match=r"amplitude=.* outside calix's feasible range 0.2..2"):
        correlation.calibrate(correlation.CorrelationCalibTarget(amplitude, 10 * pq.us))


def test_time_constant_without_unit_or_out_of_range_is_refused():
    with pytest.raises(ConfigError, match="has no unit"):
        correlation.calibrate(correlation.CorrelationCalibTarget(1.0, 10.0))
    with pytest.raises(ConfigError, match=r"time_constant=50 us is outside"):
        correlation.calibrate(correlation.CorrelationCalibTarget(1.0, 50 * pq.us))


def test_an_uncalibrated_chip_keeps_the_default_sensors_and_uneven_quadrants_are_refused():
    chip = lola.Chip()
    assert correlation.sensor_of_chip(chip) is None
    chip.cadc_readout_chains[1].correlation.i_bias_ramp[:] = 13
    chip.cadc_readout_chains[0].correlation.i_bias_ramp[:] = 12
    chip.cadc_readout_chains[0].correlation.i_bias_store[:] = 23
    chip.cadc_readout_chains[1].correlation.i_bias_store[:] = 23
    with pytest.raises(ConfigError, match=r"i_bias_ramp per quadrant is \[12, 12, 13, 13\]"):
        correlation.sensor_of_chip(chip)


def test_the_weekly_calibrations_options_are_accepted_and_change_no_current():
    """calix's weekly "correlation" calibration (calix_generate_weekly_calibration.py) trims each
    synapse's calibration bits on the causal branch with default_amp_calib 1: the drop-in takes
    those options by calix's names, and on sensors without per-synapse mismatch they leave the
    quadrant currents as the default options give them."""
    target = calix.spiking.CorrelationCalibTarget(amplitude=1.5, time_constant=30 * pq.us)
    options = calix.spiking.CorrelationCalibOptions()
    assert options.branches is calix.spiking.CorrelationCalibOptions.Branches.BOTH  # calix's default
    options.calibrate_synapses = True
    options.branches = calix.spiking.CorrelationCalibOptions.Branches.CAUSAL
    options.default_amp_calib = 1
    options.v_res_meas = 0.95
    weekly, plain = correlation.calibrate(target, options), correlation.calibrate(target)
    assert weekly.options.branches.name == "CAUSAL"
    assert (weekly.i_bias_ramp.tolist(), weekly.i_bias_store.tolist()) == \
        (plain.i_bias_ramp.tolist(), plain.i_bias_store.tolist())


def test_the_weekly_calibration_reaches_the_experiment_as_the_demos_load_it():
    """ts_07-pong / ts_11: pickle the calix result, apply it into a builder (the injected
    pre-static configuration) and into a dumper converted to a lola.Chip (initial_config)."""
    import bss2emu.brainscales2 as pynn
    from bss2emu.pynn import simulator

    target = calix.spiking.SpikingCalibTarget()
    target.correlation_target = calix.spiking.CorrelationCalibTarget(amplitude=1.5, time_constant=30 * pq.us)
    with hxcomm.ManagedConnection(ideal=True) as connection:
        result = pickle.loads(pickle.dumps(calix.calibrate(target, connection=connection)))
    builder = sta.PlaybackProgramBuilder()
    result.apply(builder)
    dumper = sta.PlaybackProgramBuilderDumper()
    result.apply(dumper)
    chip = sta.convert_to_chip(dumper.done(), lola.Chip())
    injected = pynn.InjectedConfiguration()
    injected.pre_static_config = builder
    expected = correlation_sensor(*correlation_currents(30.0, 1.5))
    pynn.setup(initial_config=chip, injected_config=injected)
    try:
        assert simulator.state.correlation_sensor == expected
        pop = pynn.Population(1, pynn.cells.HXNeuron())
        pop.record("spikes")
        pynn.run(0.01)
        rec = simulator.state.last_experiment.recordings
        assert (rec.tau_corr_us, rec.corr_amplitude_codes) == expected
    finally:
        pynn.end()
    pynn.setup()  # a chip without calibrated sensors: the emulator's defaults
    try:
        assert simulator.state.correlation_sensor is None
    finally:
        pynn.end()
