"""The real stack's lower layers over bss2emu: halco coordinates, lola containers, stadls
programs on the emulated chip, calix — in the style of the tutorials' low-level parts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor.analog import G_LEAK_US_PER_LSB, I_CONST_NA_PER_LSB, capacitance_pf, voltage_map
from bss2emu.errors import ChipError, ConfigError
from bss2emu.protocol import coordinates as C
from bss2emu.stack import calix, halco, hxcomm, lola
from bss2emu.stack import haldls as hal
from bss2emu.stack import stadls as sta

US = int(hal.Timer.Value.fpga_clock_cycles_per_us)


def _wait(builder, t_us):
    builder.block_until(halco.TimerOnDLS(), hal.Timer.Value(int(t_us * US)))


def test_atomic_neuron_enum_layout_is_bss2emus_circuit_index():
    for coord in halco.iter_all(halco.AtomicNeuronOnDLS):
        n = C.NeuronOnChip(int(coord.toEnum()))
        assert (int(coord.toNeuronRowOnDLS()), int(coord.toNeuronColumnOnDLS())) == (n.hemisphere, n.column)
        assert coord == halco.AtomicNeuronOnDLS(coord.toNeuronColumnOnDLS(), coord.toNeuronRowOnDLS())
    assert [int(r) for r in halco.SynapseDriverOnSynapseDriverBlock(5).toSynapseRowOnSynram()] == \
        [int(r) for r in C.SynapseDriver(5).rows]
    assert halco.SynramOnDLS(1) != halco.NeuronRowOnDLS(1)  # different kinds differ
    with pytest.raises(ConfigError, match=r"AtomicNeuronOnDLS\(512\) is out of range: valid are 0..511"):
        halco.AtomicNeuronOnDLS(512)


def test_resting_potential_written_by_a_program_reads_back_through_the_cadc():
    neuron = lola.AtomicNeuron()
    neuron.leak.v_leak, neuron.leak.i_bias = 795, 300  # 612 mV: 130.05 codes
    neuron.membrane_capacitance.capacitance = 63
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.AtomicNeuronOnDLS(halco.NeuronColumnOnDLS(9), halco.NeuronRowOnDLS(1)), neuron)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 30)  # tau_m = 2.3 pF / 1.35 uS = 1.7 us: settled
    ticket = builder.read(halco.CADCSampleRowOnDLS(1))
    echo = builder.read(halco.AtomicNeuronOnDLS(256 + 9))
    program = builder.done()
    with pytest.raises(ConfigError, match="run the program first"):
        ticket.get()
    with hxcomm.ManagedConnection(ideal=True) as connection:
        sta.run(connection, program)
    expected = round(float(voltage_map("v_leak").mv(795)) * 255 / 1200)  # 8-bit CADC over 0..1200 mV
    assert int(ticket.get().causal[9]) == expected
    assert echo.get() == neuron and program.spikes.size == 0


def test_a_neuron_driven_above_threshold_fires_at_the_lif_rate():
    """Constant current on an ideal circuit: ISI = tau_ref + tau_m ln((V_inf-V_r)/(V_inf-V_th))."""
    n = lola.AtomicNeuron()
    n.leak.v_leak, n.leak.i_bias, n.reset.v_reset = 785, 20, 635  # 588, 528 mV
    n.threshold.enable, n.threshold.v_threshold = True, 518  # 703 mV
    n.event_routing.analog_output = n.EventRouting.AnalogOutputMode.normal
    n.constant_current.enable, n.constant_current.i_offset = True, 400
    n.membrane_capacitance.capacitance = 63
    n.refractory_period.refractory_time = 50
    backend = hal.CommonNeuronBackendConfig(clock_scale_slow=3, clock_scale_fast=3)
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.CommonNeuronBackendConfigOnDLS(0), backend)
    builder.write(halco.AtomicNeuronOnDLS(3), n)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 200)
    program = builder.done()
    with hxcomm.ManagedConnection(ideal=True) as connection:
        sta.run(connection, program)
    assert set(program.spikes["label"]) == {3}
    g_us, c_pf, i_na = 20 * G_LEAK_US_PER_LSB, float(capacitance_pf(63)), 400 * I_CONST_NA_PER_LSB
    def mv(name, dac):
        return float(voltage_map(name).mv(dac))

    v_inf = mv("v_leak", 785) + i_na / g_us
    tau_ref_us = 50 * 2 ** 4 * 4e-3  # 250 MHz / 2**(3+1)
    isi = tau_ref_us + c_pf / g_us * math.log((v_inf - mv("v_reset", 635)) / (v_inf - mv("v_threshold", 518)))
    measured = np.diff(program.spikes["fpga_time"]) / US
    assert np.allclose(measured, isi, rtol=0.01)


def test_madc_records_the_neuron_on_the_readout_line_while_started():
    n = lola.AtomicNeuron()
    n.leak.v_leak, n.leak.i_bias, n.membrane_capacitance.capacitance = 600, 630, 63
    n.readout.enable_buffered_access = True
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.AtomicNeuronOnDLS(40), n)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 20)
    builder.write(halco.MADCControlOnDLS(), hal.MADCControl(start_recording=True, wake_up=True))
    _wait(builder, 30)
    builder.write(halco.MADCControlOnDLS(), hal.MADCControl(stop_recording=True))
    _wait(builder, 40)
    program = builder.done()
    with hxcomm.ManagedConnection(ideal=True) as connection:
        sta.run(connection, program)
    t_us = program.madc_samples["fpga_time"] / US
    assert len(t_us) > 50 and t_us.min() >= 20 and t_us.max() < 30
    assert np.all(program.madc_samples["value"] == round(float(voltage_map("v_leak").mv(600)) * 1023 / 1200))


def _two_on_the_readout_line(circuits, odd_first: bool, length: int = 1):
    """Circuits at leaks 600 and 800 on the MADC's line, its multiplexers switching every sample."""
    builder = sta.PlaybackProgramBuilder()
    for c, leak in zip(circuits, (600, 800)):
        n = lola.AtomicNeuron()
        n.leak.v_leak, n.leak.i_bias, n.membrane_capacitance.capacitance = leak, 630, 63
        n.readout.enable_buffered_access = True
        builder.write(halco.AtomicNeuronOnDLS(c), n)
    chain = lola.ReadoutChain()
    chain.dynamic_mux.input_select_length = length
    chain.input_mux[halco.SourceMultiplexerOnReadoutSourceSelection(0)].neuron_odd = odd_first
    chain.input_mux[halco.SourceMultiplexerOnReadoutSourceSelection(1)].neuron_even = odd_first
    builder.write(halco.ReadoutChainOnDLS(), chain)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 20)
    builder.write(halco.MADCControlOnDLS(), hal.MADCControl(start_recording=True, wake_up=True))
    _wait(builder, 30)
    program = builder.done()
    with hxcomm.ManagedConnection(ideal=True) as connection:
        sta.run(connection, program)
    return program.madc_samples


@pytest.mark.parametrize("odd_first", [True, False])
def test_the_madc_alternates_between_an_even_and_an_odd_neuron_by_its_source_multiplexers(odd_first):
    samples = _two_on_the_readout_line((40, 41), odd_first)  # 40 at leak 600 (even), 41 at 800 (odd)
    code = {c: round(float(voltage_map("v_leak").mv(leak)) * 1023 / 1200) for c, leak in ((40, 600), (41, 800))}
    first, second = (41, 40) if odd_first else (40, 41)
    assert np.array_equal(samples["channel"], np.arange(len(samples)) % 2)  # channel 0 reads input_mux[0]'s
    assert np.all(samples["value"][0::2] == code[first]) and np.all(samples["value"][1::2] == code[second])
    with pytest.raises(ConfigError, match="both in even columns"):
        _two_on_the_readout_line((40, 42), odd_first)
    with pytest.raises(ChipError, match="switches every sample \\(1\\) or not at all"):
        _two_on_the_readout_line((40, 41), odd_first, length=2)


def test_what_the_emulated_chip_cannot_do_is_refused_with_the_way_out():
    with hxcomm.ManagedConnection(ideal=True) as connection:
        b = sta.PlaybackProgramBuilder()
        b.write(halco.SpikePack1ToChipOnDLS(), hal.SpikePack1ToChip([hal.SpikeLabel(3)]))
        with pytest.raises(ChipError, match="SpikeSourceArray"):
            sta.run(connection, b.done())
        n = lola.AtomicNeuron()
        n.readout.enable_buffered_access = True
        b = sta.PlaybackProgramBuilder()
        b.write(halco.AtomicNeuronOnDLS(1), n)
        b.write(halco.AtomicNeuronOnDLS(2), n)
        b.write(halco.MADCControlOnDLS(), hal.MADCControl(start_recording=True))
        _wait(b, 1)
        with pytest.raises(ChipError, match="one neuron at a time"):
            sta.run(connection, b.done())
    n = lola.AtomicNeuron()
    n.multicompartment.connect_right = True  # structured neurons are emulated (tests/chip_actor/test_structure.py)
    with pytest.raises(ConfigError, match="Bayesian"):
        n.bayesian.enable_slave = True
    with pytest.raises(AttributeError, match="hal.NeuronConfig is not emulated"):
        hal.NeuronConfig  # noqa: B018


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(["leak_v_leak", "leak_i_bias", "threshold_v_threshold", "reset_v_reset",
                                        "excitatory_input_i_bias_gm", "constant_current_i_offset"]),
                       st.integers(0, 1022), min_size=1),
       st.integers(0, 255), st.sampled_from([(3, 3), (0, 5), (6, 1)]), st.integers(0, 1))
def test_lola_chip_round_trips_through_bss2emus_neuron_values(dacs, ref_time, scales, clock):
    chip = lola.Chip()
    for coord in halco.iter_all(halco.CommonNeuronBackendConfigOnDLS):
        chip.neuron_block.backends[coord].clock_scale_slow, chip.neuron_block.backends[coord].clock_scale_fast = scales
    neuron = lola.AtomicNeuron.from_flat(dict(dacs, refractory_period_refractory_time=ref_time,
                                              refractory_period_input_clock=clock, threshold_enable=True,
                                              event_routing_analog_output=1, excitatory_input_enable=True))
    chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(300)] = neuron
    values = chip.neuron_values()
    back = lola.Chip.from_neuron_values(values).neuron_values()
    for name in values:
        if name not in ("refractory_count", "refractory_clock"):
            assert np.array_equal(values[name], back[name]), name
    cycles = lambda v: v["refractory_count"] << v["refractory_clock"]  # noqa: E731
    assert np.array_equal(cycles(values), cycles(back))
    assert values["v_leak"][300] == dacs.get("leak_v_leak", 0) and values["enable_fire"][300] == 1


def test_calix_calibration_applied_by_a_program_rests_at_its_cadc_target():
    target = calix.spiking.SpikingCalibTarget(neuron_target=calix.spiking.neuron.NeuronCalibTarget(leak=90))
    with hxcomm.ManagedConnection(ideal=True) as connection:
        result = calix.calibrate(target, connection=connection)
        builder = sta.PlaybackProgramBuilder()
        result.apply(builder)
        builder.write(halco.TimerOnDLS(), hal.Timer())
        _wait(builder, 100)
        rows = [builder.read(coord) for coord in halco.iter_all(halco.CADCSampleRowOnDLS)]
        sta.run(connection, builder.done())
    codes = np.concatenate([r.get().causal for r in rows])
    assert np.all(codes == 90)
    chip = result.to_chip()
    assert all(n.threshold.enable and n.excitatory_input.enable for n in chip.neuron_block.atomic_neurons)
    with pytest.raises(ConfigError, match="hagen/MAC-mode"):
        calix.calibrate(object())


def test_nightly_calibration_is_the_default_spiking_calibration_from_the_store():
    night = calix.nightly_calibration(ideal=True)
    assert night.to_chip().neuron_values()["v_leak"].tolist() == \
        calix.calibrate(calix.spiking.SpikingCalibTarget(), connection=hxcomm.ManagedConnection(ideal=True)) \
        .to_chip().neuron_values()["v_leak"].tolist()


def test_chip_files_and_the_nightly_file_round_trip(tmp_path, monkeypatch):
    from bss2emu import stack

    chip = lola.Chip()
    chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(17)].leak.v_leak = 444
    path = tmp_path / "chip.pbin"
    path.write_bytes(sta.to_portablebinary(chip))
    assert stack.chip_from_file(path).neuron_block.atomic_neurons[17].leak.v_leak == 444
    with pytest.raises(ConfigError, match="not a bss2emu coco list"):
        stack.chip_from_portable_binary(b"\x00real-stack-pbin")
    monkeypatch.setenv("BSS2EMU_CHIP_IDEAL", "1")
    nightly = stack.chip_from_file(stack.nightly_calib_path())
    assert nightly.neuron_values()["v_leak"].tolist() == stack.chip_from_nightly().neuron_values()["v_leak"].tolist()


def _measure_external_voltage(connection, volts: float) -> np.ndarray:
    """The MADC characteristic as the calibration tutorial measures it: a board DAC drives
    the debug line, the readout chain routes it to the MADC, 60 samples are recorded."""
    init = sta.SystemInit(connection.get_hwdb_entry()[0])
    init.asic_adapter_board.shift_register.select_analog_readout_mux_2_input = \
        hal.ShiftRegister.AnalogReadoutMux2Input.v_reset
    init.asic_adapter_board.dac_channel_block.set_voltage(halco.DACChannelOnBoard.mux_dac_25, volts)
    builder, _ = init.generate()
    chain = lola.ReadoutChain()
    chain.pad_mux[halco.PadMultiplexerConfigOnDLS()].debug_to_pad = True
    chain.input_mux[halco.SourceMultiplexerOnReadoutSourceSelection()].debug_plus = True
    chain.madc.number_of_samples = 60
    builder.write(halco.ReadoutChainOnDLS(), chain)
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 5)
    builder.write(halco.MADCControlOnDLS(), hal.MADCControl(wake_up=True, start_recording=True,
                                                            enable_power_down_after_sampling=True))
    builder.write(halco.TimerOnDLS(), hal.Timer())
    _wait(builder, 20)
    program = builder.done()
    sta.run(connection, program)
    return program.madc_samples.to_numpy()


def test_the_madc_digitises_an_external_voltage_linearly_over_its_10_bits():
    with hxcomm.ManagedConnection(ideal=True) as connection:
        for volts in (0.0, 0.3, 0.75, 1.2, 1.5):
            samples = _measure_external_voltage(connection, volts)
            assert len(samples) == 60  # number_of_samples ends the recording
            assert np.all(samples["value"] == min(1023, round(volts / 1.2 * 1023)))  # clipped above 1.2 V
        with pytest.raises(ConfigError, match="out of range 0..2.5 V"):
            _measure_external_voltage(connection, 2.6)


def test_calix_targets_translate_to_bss2emus_units_and_refuse_what_is_not_emulated():
    import quantities as pq

    from bss2emu.calib.bench import cadc_mv

    t = calix.spiking.neuron.NeuronCalibTarget(leak=100, reset=60, threshold=150, tau_mem=20 * pq.us,
                                              tau_syn=np.array([5.0, 8.0]) * pq.us, refractory_time=3 * pq.us)
    got = t.to_calibration_targets()
    assert got["v_leak_mv"][0] == cadc_mv(100) and got["v_threshold_mv"][7] == cadc_mv(150)
    assert (got["tau_m_us"][0], got["tau_syn_exc_us"][0], got["tau_syn_inh_us"][0], got["tau_ref_us"][0]) == \
        (20.0, 5.0, 8.0, 3.0)
    with pytest.raises(ConfigError, match="has no unit"):
        calix.spiking.neuron.NeuronCalibTarget(tau_mem=10.0).to_calibration_targets()
    # the synapse DAC's bias scales every event's amplitude linearly against calix's default 600
    strong = calix.spiking.neuron.NeuronCalibTarget(synapse_dac_bias=1000).to_calibration_targets()
    plain = calix.spiking.neuron.NeuronCalibTarget().to_calibration_targets()
    assert np.allclose(strong["psp_exc_mv"], plain["psp_exc_mv"] * 1000 / 600)
    assert np.allclose(strong["psp_inh_mv"], plain["psp_inh_mv"] * 1000 / 600)
    assert np.array_equal(strong["tau_m_us"], plain["tau_m_us"])
    with pytest.raises(ConfigError, match="synapse_dac_bias=2000: give one CapMem value in 1..1022"):
        calix.spiking.neuron.NeuronCalibTarget(synapse_dac_bias=2000).to_calibration_targets()
    with pytest.raises(ConfigError, match="holdoff_time"):
        calix.spiking.neuron.NeuronCalibTarget(holdoff_time=1 * pq.us).to_calibration_targets()
