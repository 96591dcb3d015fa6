"""Register writes of a playback program that the emulated chip takes must act: event
recording on/off, the MADC's sample count; a CapMem cell write is refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.errors import ConfigError
from bss2emu.stack import halco, hxcomm, lola
from bss2emu.stack import haldls as hal
from bss2emu.stack import stadls as sta

CYCLES_PER_US = int(hal.Timer.Value.fpga_clock_cycles_per_us)
SPIKING = dict(leak_v_leak=1000, leak_i_bias=320, threshold_enable=True, threshold_v_threshold=500,
               reset_v_reset=400, refractory_period_refractory_time=95, event_routing_analog_output=1,
               event_routing_enable_digital=True, readout_enable_buffered_access=True)


def _run(recording_off_until_us=None, madc_samples=None):
    """Neuron 7 spikes regularly for 100 µs while the MADC records it."""
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.AtomicNeuronOnDLS(7), lola.AtomicNeuron.from_flat(SPIKING))
    if madc_samples is not None:
        config = hal.MADCConfig()
        config.number_of_samples = madc_samples
        builder.write(halco.MADCConfigOnDLS(), config)
    builder.write(halco.MADCControlOnDLS(), hal.MADCControl(start_recording=True))
    builder.write(halco.TimerOnDLS(), hal.Timer())
    if recording_off_until_us is not None:
        builder.write(halco.EventRecordingConfigOnFPGA(), hal.EventRecordingConfig(enable_event_recording=False))
        builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(recording_off_until_us * CYCLES_PER_US))
        builder.write(halco.EventRecordingConfigOnFPGA(), hal.EventRecordingConfig(enable_event_recording=True))
    builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(100 * CYCLES_PER_US))
    program = builder.done()
    with hxcomm.ManagedConnection() as connection:
        sta.run(connection, program)
    return program.spikes.to_numpy(), program.madc_samples.to_numpy()


def test_event_recording_off_records_nothing_until_switched_on():
    """The same spikes either way (the chip runs on); recorded only from 50 µs on when the
    recording is off before."""
    spikes, madc = _run()
    later, later_madc = _run(recording_off_until_us=50)
    start = 50 * CYCLES_PER_US
    assert np.sum(spikes["fpga_time"] < start) > 3 and np.sum(spikes["fpga_time"] >= start) > 3
    assert np.array_equal(later["fpga_time"], spikes["fpga_time"][spikes["fpga_time"] >= start])
    assert later_madc["fpga_time"].min() >= start
    assert np.array_equal(later_madc["value"], madc["value"][madc["fpga_time"] >= later_madc["fpga_time"].min()])


def test_the_madc_config_sets_how_many_samples_a_recording_takes():
    _, madc = _run(madc_samples=123)
    assert len(madc) == 123


def test_a_capmem_cell_write_is_refused_with_the_way_to_set_neuron_parameters():
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.CapMemCellOnDLS(), hal.CapMemCell())
    with hxcomm.ManagedConnection() as connection:
        with pytest.raises(ConfigError, match="writing a CapMemCell is not emulated.*lola.AtomicNeuron"):
            sta.run(connection, builder.done())
