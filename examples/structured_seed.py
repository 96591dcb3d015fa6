"""The morphology of issue 13, written with the real stack's names, placed on a chip, and
each compartment's response to an input at each compartment.

The morphology (``lola.Morphology`` calls, through ``bss2emu.stack``): compartment 0
(columns 0-1) reaches compartment 1 (columns 2-3 and the circuit below column 3) through
the conductance; compartment 1 reaches two branches of two compartments each, one per row
(columns 4-5, 6-7). Each compartment gets a few coincident inputs in turn; the MADC records
one compartment per run. The plot is the grid of responses (row: input site, column:
recording site).

    python examples/structured_seed.py [--conductance 400] [--out DIR]
"""

from __future__ import annotations

from _common import command_line, print_table
from _structured import plot_grid, response_matrix

from bss2emu.stack import halco, lola

ISI_US = 60.0


def seed_morphology():
    """The issue's code, unchanged but for its imports."""
    coord = halco.AtomicNeuronOnLogicalNeuron   # relative coordinate
    row = halco.NeuronRowOnLogicalNeuron        # 0, 1
    column = halco.NeuronColumnOnLogicalNeuron  # 0, 1, ..., 127
    morphology = lola.Morphology()
    morphology.create_compartment([coord(0, 0), coord(1, 0)])
    morphology.create_compartment([coord(2, 0), coord(3, 0), coord(3, 1)])
    for row_coord in [0, 1]:
        for column_coord in [4, 6]:
            morphology.create_compartment([coord(column_coord, row_coord), coord(column_coord + 1, row_coord)])
    morphology.connect_resistor_to_soma(coord(1, 0))
    for row_coord in [0, 1]:
        for column_coord in [3, 5]:
            morphology.connect_resistor_to_soma(coord(column_coord, row_coord))
    morphology.connect_to_soma(coord(2, 0))
    for row_coord in [0, 1]:
        for column_coord in [4, 6]:
            morphology.connect_to_soma(coord(column_coord, row_coord))
    morphology.connect_soma_line(start=column(1), end=column(2), row=row(0))
    for row_coord in [row(0), row(1)]:
        morphology.connect_soma_line(column(3), column(4), row_coord)
        morphology.connect_soma_line(column(5), column(6), row_coord)
    neuron_coordinate, logical_neuron = morphology.done()
    return neuron_coordinate, logical_neuron


def main(conductance: int = 400, out_dir: str = ".") -> dict:
    """Run, plot ``structured_seed.png`` and return the response matrix (mV)."""
    compartments, _ = seed_morphology()
    placed = halco.LogicalNeuronOnDLS(compartments, halco.AtomicNeuronOnDLS(40)).placed
    psp, traces = response_matrix(placed, {"i_bias_conductance": conductance, "i_bias_leak": 80}, ISI_US)
    n = len(psp)
    png = plot_grid(traces, ISI_US, "The issue's morphology: response at each compartment to input at each",
                    out_dir, "structured_seed.png")
    print_table(["input at"] + [f"rec. {k}" for k in range(n)], [[k] + [f"{x:.1f}" for x in psp[k]] for k in range(n)])
    return {"psp_mv": psp.tolist(), "compartments": {int(k): [(c.column, c.row) for c in v] for k, v in
                                                     compartments.get_compartments().items()}, "png": str(png)}


if __name__ == "__main__":
    command_line(main, __doc__, conductance=(400, "inter-compartment conductance, CapMem value 0..1022"))
