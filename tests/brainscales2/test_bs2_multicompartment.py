"""HXNeuron's multicompartment_* fields build structured neurons in the pynn.brainscales2 view
(neurons on consecutive circuits: the switches act between neighbours)."""

from __future__ import annotations

import numpy as np

import bss2emu.brainscales2 as pynn
from bss2emu.chip_actor.analog import I_CONST_NA_PER_LSB, voltage_map
from bss2emu.protocol.schemas import madc_code_to_mv


def test_two_compartments_through_the_conductance_reach_the_exact_steady_state():
    """Compartment 0 = circuits 0, 1 (connect_right), current into circuit 0; circuit 1 reaches
    the line through the conductance, the line runs to circuit 2 (compartment 1, directly
    on it). Steady state: (G_L + G)(v - E_L) = I."""
    pynn.setup(ideal=True)
    cell = pynn.cells.HXNeuron(
        leak_v_leak=500, leak_i_bias=100, threshold_enable=False, membrane_capacitance_capacitance=63,
        multicompartment_connect_right=[1, 0, 0], multicompartment_enable_conductance=[0, 1, 0],
        multicompartment_connect_soma_right=[0, 1, 0], multicompartment_connect_soma=[0, 0, 1],
        multicompartment_i_bias_nmda=[0, 500, 0],
        constant_current_enable=[True, False, False], constant_current_i_offset=[600, 0, 0])
    pop = pynn.Population(3, cell)
    final = {}
    for i in (0, 2):
        pop[i:i + 1].record("v")
        pynn.run(0.1)
        trace = pop[i:i + 1].get_data().segments[-1].irregularlysampledsignals[0].magnitude.ravel()
        final[i] = float(madc_code_to_mv(np.rint(trace[-20:]).astype(int)).mean())
        pop[i:i + 1].record(None)
        pynn.reset()
    pynn.end()
    g_l, g, i_nA, e_l = 100 * 0.0045, 500 * 0.0045, 600 * I_CONST_NA_PER_LSB, float(voltage_map("v_leak").mv(500))
    m = np.array([[2 * g_l + g, -g], [-g, g_l + g]])
    dv = np.linalg.solve(m, [i_nA, 0.0])
    assert abs(final[0] - e_l - dv[0]) < 1.5 and abs(final[2] - e_l - dv[1]) < 1.5  # one MADC step
    assert dv[0] - dv[1] > 3.0  # the conductance drops a measurable voltage
