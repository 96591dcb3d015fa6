"""Run the public BrainScaleS-2 tutorials (brainscales2-demos) on bss2emu and print a table.

    python benchmarks/bss2_tutorials.py TUTORIAL_DIR [--only NAME ...] [--timeout S] [--keep DIR]

TUTORIAL_DIR is a checkout of github.com/electronicvisions/brainscales2-demos (the
tutorials as ``.rst``, or as ``.ipynb`` notebooks read as JSON — no Jupyter needed). For
each tutorial the code cells are joined into one script as the demos' own notebook test
build makes them (their wscript: ``sphinx -M jupyter … -D jupyter_drop_tests=0 -t
exclude_nmpi -t Solution``): ``.. code::`` and ``.. code-block::`` cells in ipython3 (or
the kernel's python3), those marked ``:class: test`` kept (they put test-sized settings
over long ones, e.g. ts_04's generations), ``.. include::``d cells inlined, ``.. only::``
parts as the build with those tags has them (the exercise templates, ``not Solution``, and
latex parts dropped), IPython ``%``/``!`` lines dropped. The script runs under ``bss2emu
exec`` in a copy of the directory, with a time limit.

Only the EBRAINS-specific set-up is replaced: ``_static/common/helpers.py`` (hardware
client via quiggeldy, nightly calibration download) becomes an offline version —
``setup_hardware_client()`` does nothing, ``get_nightly_calibration()`` returns the
emulated chip's nightly calibration from bss2emu's store (``calix.nightly_chip()``) and
``save_nightly_calibration()`` writes it (a ``correlation_*`` file: the calibration calix's weekly
script deploys under that name, with its neuron targets). Jupyter's widgets (``ipywidgets``) are replaced
by a shim that calls the function once with the widgets' initial values. The table gives
per tutorial: runs / runs* (ran, but a widget's function raised — shown, as Jupyter shows
it, and counted) / fails (the first error line) / timeout, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HELPERS = '''\
"""Offline replacement of brainscales2-demos' _static/common/helpers.py for bss2emu."""
import pickle
from pathlib import Path

import calix
from dlens_vx_v3 import logger as _logging
from dlens_vx_v3 import sta

logger = _logging.get("demo_helpers")


def is_experimental_kernel():
    return False


def setup_hardware_client():
    """No hardware client: bss2emu exec runs the emulated chip in this process."""


def get_nightly_calibration(filename="spiking_cocolist.pbin"):
    """The emulated chip's nightly calibration, from bss2emu's calibration store."""
    return calix.nightly_chip()


def _deployed_calibration(filename):
    """What the deployment's file holds: "correlation_*" is calix's weekly calibration for the
    correlation demos (calix/scripts/calix_generate_weekly_calibration.py, CorrelationCalibRecorder:
    its neuron targets and its correlation-sensor targets, 1.5 CADC LSB per pair and 30 us, and its
    options: v_res_meas 0.95 V, causal branch, default_amp_calib 1, each synapse's calibration bits
    trimmed — no-ops on bss2emu's sensors, which have no per-synapse mismatch), anything else the
    default spiking calibration."""
    if not filename.startswith("correlation"):
        return calix.nightly_calibration()
    import quantities as pq
    target = calix.spiking.SpikingCalibTarget()
    t = target.neuron_target
    t.tau_syn, t.tau_mem = 5 * pq.us, 20 * pq.us
    t.reset, t.leak, t.threshold = 80, 100, 130
    t.synapse_dac_bias, t.i_synin_gm = 1000, 400
    target.correlation_target = calix.spiking.CorrelationCalibTarget(amplitude=1.5, time_constant=30 * pq.us)
    options = calix.spiking.SpikingCalibOptions()
    correlation = options.correlation_options
    correlation.calibrate_synapses = True
    correlation.branches = calix.spiking.CorrelationCalibOptions.Branches.CAUSAL
    correlation.v_res_meas = 0.95
    correlation.default_amp_calib = 1
    return calix.calibrate(target, options)


def save_nightly_calibration(filename="spiking_cocolist.pbin", source_folder=None, folder=None):
    folder = Path() if folder is None else Path(folder)
    result = _deployed_calibration(filename)
    if filename.endswith(".pkl"):
        with open(folder / filename, "wb") as f:
            pickle.dump(result, f)
    else:
        (folder / filename).write_bytes(sta.to_portablebinary(result.to_chip()))
'''

IPYWIDGETS = '''\
"""Shim of ipywidgets for running notebooks as scripts: interact() calls once with the
widgets' initial values."""


class _Widget:
    def __init__(self, value=None, *args, **kwargs):
        if value is None:
            value = kwargs.get("min", kwargs.get("options", [None])[0] if kwargs.get("options") else None)
        self.value = value
        self.kwargs = kwargs

    def __getattr__(self, name):  # observe, on_click, clear_output, …: no front end, nothing to do
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *a, **k: None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _value(w):
    if isinstance(w, _Widget):
        return w.value
    if isinstance(w, fixed):
        return w.value
    if isinstance(w, tuple) and len(w) in (2, 3) and all(isinstance(x, (int, float)) for x in w):
        return w[0]
    if isinstance(w, (list, tuple)) and w:
        return w[0]
    return w


class fixed:
    def __init__(self, value):
        self.value = value


def interact(f=None, **kwargs):
    # as in Jupyter, an error inside the widget's function is shown and the notebook goes on
    if f is None:
        return lambda g: interact(g, **kwargs)
    try:
        f(**{k: _value(v) for k, v in kwargs.items()})
    except Exception as exc:  # noqa: BLE001
        import sys, traceback
        print("WIDGET-ERROR " + "".join(traceback.format_exception_only(type(exc), exc)).strip(), file=sys.stderr)
    return f


def interactive(f, **kwargs):
    interact(f, **kwargs)
    widget = _Widget()
    widget.children = (_Widget(),)  # the controls' box: the last child is the output area
    return widget


interact.options = lambda **options: interact  # interact.options(manual_name=...): the same call here
interact_manual = interact
IntSlider = FloatSlider = FloatLogSlider = IntRangeSlider = FloatRangeSlider = Dropdown = Checkbox = _Widget
ToggleButton = ToggleButtons = Button = Text = Textarea = Label = HTML = Output = RadioButtons = _Widget
SelectionSlider = BoundedIntText = BoundedFloatText = IntText = FloatText = Play = _Widget


class Layout(dict):
    def __init__(self, **kw):
        super().__init__(**kw)


def _box(*a, **k):
    return _Widget()


HBox = VBox = GridBox = Box = AppLayout = _box


def jslink(*a, **k):
    pass


class widgets:  # ``import ipywidgets as widgets; widgets.IntSlider`` and ``from ipywidgets import widgets``
    pass


for _n, _v in list(globals().items()):
    if not _n.startswith("_") and _n != "widgets":
        setattr(widgets, _n, _v)
'''

# code cells as sphinxcontrib-jupyter makes them: ``code``/``code-block`` in the kernel's
# language or one of conf.py's ``jupyter_lang_synonyms``
_CODE = re.compile(r"^(\s*)\.\. (?:code|code-block)::\s*(?:ipython3|ipython|python3)\s*$")
_OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*?)\s*$")
_INCLUDE = re.compile(r"^(\s*)\.\. include::\s*(\S+)\s*$")
_ONLY = re.compile(r"^(\s*)\.\. only::\s*(.+?)\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


# the tags of the demos' own notebook test build (wscript: ``-M jupyter … -D jupyter_drop_tests=0
# -t exclude_nmpi -t Solution``)
TAGS = frozenset({"jupyter", "Solution", "html", "exclude_nmpi"})


def only_active(expression: str, tags=TAGS) -> bool:
    """Whether an ``.. only::`` expression (tags joined by not/and/or) holds for ``tags``."""
    words = re.findall(r"[A-Za-z_][\w-]*|[()]", expression)
    py = " ".join(w if w in ("not", "and", "or", "(", ")") else str(w in tags) for w in words)
    try:
        return bool(eval(py, {"__builtins__": {}}))  # noqa: S307 - only True/False/not/and/or/()
    except SyntaxError:
        return True


def rst_cells(path: Path, seen: frozenset = frozenset()) -> list[str]:
    """The ``ipython3`` code cells of an rst tutorial, includes inlined, latex-only parts skipped."""
    if path in seen or not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").expandtabs(8).splitlines()  # docutils: tabs to 8
    cells: list[str] = []
    skip_below: int | None = None  # indentation of an active ``.. only:: latex``
    i = 0
    while i < len(lines):
        line = lines[i]
        if skip_below is not None and line.strip() and _indent(line) <= skip_below:
            skip_below = None
        if skip_below is not None:
            i += 1
            continue
        m = _ONLY.match(line)
        if m and not only_active(m.group(2)):
            skip_below = len(m.group(1))
            i += 1
            continue
        m = _INCLUDE.match(line)
        if m:
            cells += rst_cells((path.parent / m.group(2)).resolve(), seen | {path})
            i += 1
            continue
        m = _CODE.match(line)
        if m:
            base = len(m.group(1))
            body = []
            i += 1
            while i < len(lines) and _OPTION.match(lines[i]) and _indent(lines[i]) > base:
                i += 1  # the directive's options (``:class: test, html-display-none``): the test build keeps
                # ``test`` cells (``jupyter_drop_tests=0``), which put test-sized settings over the long ones
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                body.append(lines[i])
                i += 1
            cells.append(textwrap.dedent("\n".join(body)).strip("\n"))
            continue
        i += 1
    return cells


def notebook_cells(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb.get("cells", []) if c.get("cell_type") == "code"]


PRELUDE = """\
import matplotlib
matplotlib.use("Agg")
from IPython.display import display, HTML, Image
import builtins as _builtins
_builtins.display = display  # as in a notebook, where IPython puts display() among the builtins
try:  # progress bars without a notebook front end
    import tqdm.auto, tqdm.notebook, tqdm.std
    tqdm.notebook.tqdm = tqdm.notebook.tqdm_notebook = tqdm.auto.tqdm = tqdm.std.tqdm
    tqdm.notebook.trange = tqdm.auto.trange = tqdm.std.trange
except ImportError:
    pass
import os as _os
if _os.environ.get("BSS2_TUTORIAL_FIGDIR"):  # --keep: every figure shown is saved for a look
    import atexit as _atexit
    import matplotlib.pyplot as _plt
    _shown = [0]

    def _save_figures(*args, **kwargs):
        for num in _plt.get_fignums():
            _shown[0] += 1
            _plt.figure(num).savefig(_os.path.join(_os.environ["BSS2_TUTORIAL_FIGDIR"], f"fig{_shown[0]:02d}.png"),
                                     dpi=50)
        _plt.close("all")

    _plt.show = _save_figures
    _atexit.register(_save_figures)
"""

IPYCANVAS = '''\
"""Shim of ipycanvas for running notebooks as scripts: drawing does nothing."""
import contextlib


class Canvas:
    \"\"\"Anything: attributes read give another one (or what was set), calls give another one.\"\"\"

    def __init__(self, *a, **k):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = Canvas()
        object.__setattr__(self, name, value)
        return value

    def __call__(self, *a, **k):
        return Canvas()

    def __getitem__(self, key):  # MultiCanvas layers
        return Canvas()


MultiCanvas = RoughCanvas = Canvas


@contextlib.contextmanager
def hold_canvas(*a, **k):
    yield
'''


def to_script(cells: list[str]) -> str:
    """One script from the cells: IPython magics and shell lines dropped."""
    future, body = [], []
    for cell in cells:
        kept = [ln for ln in cell.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        future += [ln for ln in kept if ln.startswith("from __future__ import")]  # must open the file
        body.append("\n".join(ln for ln in kept if not ln.startswith("from __future__ import")))
    return "\n".join(dict.fromkeys(future)) + "\n" + PRELUDE + "\n\n".join(body) + "\n"


def tutorials(directory: Path) -> list[tuple[str, list[str]]]:
    found = []
    notebooks = sorted(directory.glob("*.ipynb"))
    if notebooks:
        return [(p.stem, notebook_cells(p)) for p in notebooks]
    for p in sorted(directory.glob("*.rst")):
        if p.name.startswith("common_"):
            continue  # included by others
        cells = rst_cells(p)
        if cells:
            found.append((p.stem, cells))
    return found


def first_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", ln) or ln.startswith("bss2emu."):
            return ln.strip()
    return lines[-1].strip() if lines else "(no output)"


def run_one(name: str, cells: list[str], directory: Path, timeout_s: float, keep: Path | None) -> tuple[str, str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bss2tut-{name}-") as tmp:
        work = Path(tmp) / "demos"
        shutil.copytree(directory, work, ignore=shutil.ignore_patterns(".git"))
        (work / "_static" / "common" / "helpers.py").write_text(HELPERS)
        if (work / "matplotlibrc").exists():  # the docs build puts the style next to the figures
            shutil.copy(work / "matplotlibrc", work / "_static" / "matplotlibrc")
        shims = Path(tmp) / "shims"
        shims.mkdir()
        (shims / "ipywidgets.py").write_text(IPYWIDGETS)
        (shims / "ipycanvas.py").write_text(IPYCANVAS)
        script = work / f"{name}.py"
        script.write_text(to_script(cells))
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(script, keep / script.name)
        figures = {}
        if keep is not None:
            (keep / name).mkdir(parents=True, exist_ok=True)
            figures = {"BSS2_TUTORIAL_FIGDIR": str((keep / name).resolve())}
        env = dict(os.environ, MPLBACKEND="Agg", **figures,
                   PYTHONPATH=os.pathsep.join([str(shims), str(work)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "bss2emu.exec", str(script)], cwd=work, env=env,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return "timeout", f"no result within {timeout_s:g} s", time.perf_counter() - t0
        wall = time.perf_counter() - t0
        if keep is not None:
            (keep / f"{name}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
        widget_errors = [ln[len("WIDGET-ERROR "):] for ln in proc.stderr.splitlines() if ln.startswith("WIDGET-ERROR ")]
        if proc.returncode == 0:
            return ("runs", "", wall) if not widget_errors else \
                ("runs*", f"{len(widget_errors)} widget cell(s) failed, first: {widget_errors[0]}", wall)
        return "fails", first_error_line(proc.stderr), wall


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path, metavar="TUTORIAL_DIR")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these tutorials (file stems)")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S", help="time limit per tutorial (default 600)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the extracted scripts, their output and the figures they show (DIR/NAME/figNN.png) here")
    args = p.parse_args(argv)
    todo = tutorials(args.directory)
    if args.only:
        todo = [t for t in todo if t[0] in set(args.only)]
    if not todo:
        print(f"no tutorials found in {args.directory}", file=sys.stderr)
        return 2
    rows = []
    width = max(len(n) for n, _ in todo)
    print(f"{'tutorial':<{width}}  outcome  wall s  first error line")
    for name, cells in todo:
        outcome, error, wall = run_one(name, cells, args.directory, args.timeout, args.keep)
        rows.append((name, outcome, error, wall))
        print(f"{name:<{width}}  {outcome:<7}  {wall:6.1f}  {error[:160]}", flush=True)
    ok = sum(r[1] == "runs" for r in rows)
    print(f"\n{ok} of {len(rows)} tutorials run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
