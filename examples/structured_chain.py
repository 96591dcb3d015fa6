"""EPSP attenuation along a chain of compartments (the BSS-2 multicompartment tutorial).

Four compartments of two circuits each are coupled through the inter-compartment
conductance and the somatic line (``examples/_structured.chain_morphology``). Each
compartment in turn receives a few coincident input spikes; the MADC records one
compartment per run, so four runs give the grid of responses: row = where the input
arrived, column = where it was recorded. The EPSP is largest where it was injected and is
attenuated along the chain; a larger conductance spreads it further.

    python examples/structured_chain.py [--conductance 500] [--out DIR]
"""

from __future__ import annotations

import numpy as np

from _common import command_line, print_table
from _structured import chain_morphology, plot_grid, response_matrix

LENGTH = 4
ISI_US = 60.0


def main(conductance: int = 500, out_dir: str = ".") -> dict:
    """Run, plot ``structured_chain.png`` and return the response matrix (mV)."""
    placed = chain_morphology(LENGTH).place([0])
    psp, traces = response_matrix(placed, {"i_bias_conductance": conductance, "i_bias_leak": 80}, ISI_US)
    png = plot_grid(traces, ISI_US, f"EPSPs along a chain of {LENGTH} compartments (conductance {conductance})",
                    out_dir, "structured_chain.png")
    print_table(["input at"] + [f"recorded at {k}" for k in range(LENGTH)],
                [[k] + [f"{x:.1f} mV" for x in psp[k]] for k in range(LENGTH)])
    return {"psp_mv": psp.tolist(), "png": str(png)}


if __name__ == "__main__":
    command_line(main, __doc__, conductance=(500, "inter-compartment conductance, CapMem value 0..1022"))
