"""Helpers shared by the examples: command line, MADC trace in mV, figures, tables.

Not an example itself. Every example is ``python examples/NAME.py [--runtime-us X] [--out DIR]``
and has ``main(runtime_us=..., out_dir=...) -> dict`` that ``tests/test_examples.py`` calls.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bss2emu import Results
from bss2emu.units import ticks_to_us

MADC_FULL_SCALE_MV = 1200.0
"""The MADC digitises 0..1200 mV ..."""
MADC_TOP_CODE = 1023
"""... into 10-bit codes 0..1023."""


def madc_trace_mv(results: Results) -> tuple[np.ndarray, np.ndarray]:
    """The MADC recording as ``(time_us, v_mv)``: hardware µs and membrane mV.

    The codes come as ``uint16``; they are widened before scaling (``code * 1200`` would
    overflow 16 bit)."""
    table = results.madc
    t_us = ticks_to_us(table["time_ticks"].to_numpy())
    v_mv = table["value"].to_numpy().astype(np.float64) * (MADC_FULL_SCALE_MV / MADC_TOP_CODE)
    return t_us, v_mv


def new_figure(width_in: float, height_in: float) -> Figure:
    """A matplotlib figure on the Agg canvas (no pyplot, no display, no global state)."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_dir: str | Path, filename: str) -> Path:
    """Write ``fig`` as ``out_dir/filename`` (creating ``out_dir``) and return the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / filename
    fig.savefig(path, dpi=110)
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a small fixed-width table; floats with 2 decimals."""

    def fmt(x: object) -> str:
        if isinstance(x, (float, np.floating)):
            return "-" if not np.isfinite(x) else f"{x:.2f}"
        return str(x)

    cells = [[fmt(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def command_line(main: Callable[..., dict], doc: str | None, runtime_us: float) -> dict:
    """Parse ``--runtime-us`` and ``--out`` and call ``main``."""
    first = (doc or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=first[0] if first else None)
    parser.add_argument("--runtime-us", type=float, default=runtime_us,
                        help=f"emulated duration in hardware µs (≙ ms biological; default {runtime_us:g})")
    parser.add_argument("--out", default=".", help="directory for the PNG (default: current directory)")
    args = parser.parse_args()
    return main(runtime_us=args.runtime_us, out_dir=args.out)
