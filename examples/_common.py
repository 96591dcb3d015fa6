"""Helpers shared by the examples: command line, MADC trace in mV, PyNN traces, figures, tables.

Not an example itself. Every example is ``python examples/NAME.py [--runtime-us X] [--out DIR]``
(the PyNN ones take biological ms, ``--runtime-ms`` or their own short option) and has
``main(..., out_dir=...) -> dict`` that ``tests/test_examples*.py`` and ``tests/pynn`` call.
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


def pynn_recording(population, variable: str = "v", unit: str = "mV") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The current segment of a one-neuron PyNN population that records ``variable`` (and
    maybe spikes), from its neo Block: ``(t_ms, values in unit, spike_times_ms)``."""
    segment = population.get_data().segments[-1]
    (signal,) = [s for s in segment.analogsignals if s.name == variable]
    spikes = segment.spiketrains[0].rescale("ms").magnitude if segment.spiketrains else np.zeros(0)
    return signal.times.rescale("ms").magnitude, signal.rescale(unit).magnitude[:, 0], np.asarray(spikes, float)


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


OPTION_HELP = {
    "runtime_us": "emulated duration in hardware µs (≙ ms biological)",
    "runtime_ms": "emulated duration in biological ms (≙ µs hardware)",
}
"""Help texts of the options several examples share."""


def command_line(main: Callable[..., dict], doc: str | None, **options: object) -> dict:
    """Parse ``--out`` and one ``--NAME`` per keyword option and call ``main`` with them.

    Each option is ``name=default`` (help from ``OPTION_HELP``) or ``name=(default, help)``;
    the default's type is the option's type: ``command_line(main, __doc__, runtime_us=500.0)``
    gives ``--runtime-us 500`` → ``main(runtime_us=500.0, out_dir=".")``."""
    first = (doc or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=first[0] if first else None)
    for name, spec in options.items():
        default, text = spec if isinstance(spec, tuple) else (spec, OPTION_HELP[name])
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                            help=f"{text}; default {default:g}")
    parser.add_argument("--out", default=".", help="directory for the PNG (default: current directory)")
    args = vars(parser.parse_args())
    out_dir = args.pop("out")
    return main(**args, out_dir=out_dir)
