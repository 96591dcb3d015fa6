"""``bss2emu exec script.py [args]`` (or ``python -m bss2emu.exec script.py``): run a script
written for the real BrainScaleS-2 stack with the stack's module names bound to bss2emu.

For the run only, a finder first on ``sys.meta_path`` resolves the names of ``BINDINGS``
(and their submodules) to bss2emu's modules; afterwards the finder and every aliased
entry of ``sys.modules`` are gone again. Nothing is installed under those names.

>>> import sys
>>> with bound_names():
...     import pyhalco_hicann_dls_vx_v3 as halco
...     halco.AtomicNeuronOnDLS.size, halco.__name__
(512, 'bss2emu.stack.halco')
>>> "pyhalco_hicann_dls_vx_v3" in sys.modules
False
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import traceback
import types
from contextlib import contextmanager
from typing import Iterator, Sequence

# real module name -> bss2emu module (None: an empty package that only holds the names
# below it). A name's submodules follow it (calix.spiking -> bss2emu.stack.calix.spiking)
# unless a longer name is listed. To bind another front end, add one line.
BINDINGS: dict[str, str | None] = {
    "pynn_brainscales": None,
    "pynn_brainscales.brainscales2": "bss2emu.brainscales2",
    "dlens_vx_v3": "bss2emu.stack.dlens",
    "dlens_vx_v3.halco": "bss2emu.stack.halco",
    "dlens_vx_v3.lola": "bss2emu.stack.lola",
    "dlens_vx_v3.haldls": "bss2emu.stack.haldls",
    "dlens_vx_v3.hal": "bss2emu.stack.haldls",
    "dlens_vx_v3.sta": "bss2emu.stack.stadls",
    "dlens_vx_v3.hxcomm": "bss2emu.stack.hxcomm",
    "dlens_vx_v3.logger": "bss2emu.stack.logger",
    "pyhalco_hicann_dls_vx_v3": "bss2emu.stack.halco",
    "pylola_vx_v3": "bss2emu.stack.lola",
    "pyhaldls_vx_v3": "bss2emu.stack.haldls",
    "pystadls_vx_v3": "bss2emu.stack.stadls",
    "pyhxcomm_vx": "bss2emu.stack.hxcomm",
    "calix": "bss2emu.stack.calix",
    "pylogging": "bss2emu.stack.logger",
    "hxtorch": "bss2emu.stack.hxtorch",
    "hxtorch.snn": "bss2emu.stack.hxtorch_snn",
    "hxtorch.snn.parameter": "bss2emu.snn.parameter",
    "hxtorch.snn.functional": "bss2emu.snn.functional",
    "hxtorch.snn.handle": "bss2emu.snn.handle",
    "hxtorch.snn.transforms": None,
    "hxtorch.snn.transforms.encode": "bss2emu.stack.hxtorch_coding",
    "hxtorch.snn.transforms.decode": "bss2emu.stack.hxtorch_coding",
    "hxtorch.snn.morphology": "bss2emu.stack.hxtorch_morphology",
    "hxtorch.snn.transforms.weight_transforms": "bss2emu.snn.transforms",
    "hxtorch.snn.datasets": None,
    "hxtorch.snn.datasets.yinyang": "bss2emu.snn.datasets",
    "hxtorch.spiking": "bss2emu.stack.hxtorch_snn",  # hxtorch's newer name of hxtorch.snn
    "hxtorch.spiking.parameter": "bss2emu.snn.parameter",
    "hxtorch.spiking.functional": "bss2emu.snn.functional",
    "hxtorch.spiking.handle": "bss2emu.snn.handle",
    "hxtorch.spiking.transforms": None,
    "hxtorch.spiking.transforms.encode": "bss2emu.stack.hxtorch_coding",
    "hxtorch.spiking.transforms.decode": "bss2emu.stack.hxtorch_coding",
    "hxtorch.spiking.morphology": "bss2emu.stack.hxtorch_morphology",
    "hxtorch.spiking.transforms.weight_transforms": "bss2emu.snn.transforms",
    "hxtorch.spiking.datasets": None,
    "hxtorch.spiking.datasets.yinyang": "bss2emu.snn.datasets",
    "hxtorch.perceptron": "bss2emu.ann",
    "hxtorch.nn": "bss2emu.ann.nn",
}

# what to say when a bound bss2emu module is missing from this installation
MISSING_HINTS = {
    "bss2emu.brainscales2": "that is the BSS-2-style PyNN view, not in this installation yet: use bss2emu.pynn "
                            "(NEST-style, biological units) meanwhile",
}
EXIT_SCRIPT_FAILED = 1


def resolve(fullname: str) -> tuple[str, str | None] | None:
    """(bound name, bss2emu module or None for an empty package) for a real module name,
    or None if the name is not bound."""
    if fullname in BINDINGS:
        return fullname, BINDINGS[fullname]
    parts = fullname.split(".")
    for i in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in BINDINGS and BINDINGS[prefix] is not None:
            return prefix, BINDINGS[prefix] + fullname[len(prefix):]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, fullname: str, bound: str, target: str | None) -> None:
        self.fullname, self.bound, self.target = fullname, bound, target

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []  # an (empty) package: the names below it are bound too
        return module

    def exec_module(self, module) -> None:
        if self.target is None:
            return  # the empty package itself
        try:
            target = importlib.import_module(self.target)
        except ModuleNotFoundError as err:
            missing = err.name or ""
            if not (self.target == missing or self.target.startswith(missing + ".")):
                raise  # the bss2emu module exists but needs something that is missing
            children = sorted(n for n in BINDINGS if n.startswith(self.bound + "."))
            hint = next((h for m, h in MISSING_HINTS.items() if self.target.startswith(m)), "")
            raise ModuleNotFoundError(
                f"No module named {self.fullname!r}: bss2emu binds it to {self.target!r}, which does not exist"
                + (f" (bound below {self.bound}: {', '.join(children)})" if children else "")
                + (f"; {hint}" if hint else ""), name=self.fullname) from None
        sys.modules[self.fullname] = target


class AliasFinder(importlib.abc.MetaPathFinder):
    """Resolves the names of ``BINDINGS`` to bss2emu's modules."""

    def find_spec(self, fullname, path=None, target=None):
        hit = resolve(fullname)
        if hit is None:
            return None
        bound, module = hit
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname, bound, module), is_package=True)


def _is_bound(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BINDINGS)


@contextmanager
def bound_names() -> Iterator[AliasFinder]:
    """Bind the real stack's module names to bss2emu inside the ``with`` block."""
    before = {n: m for n, m in sys.modules.items() if _is_bound(n)}
    finder = AliasFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield finder
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if _is_bound(n)]:
            del sys.modules[name]
        sys.modules.update(before)


def run_script(script: str, args: Sequence[str] = (), serial: int | None = None, ideal: bool = False) -> int:
    """Run ``script`` as ``__main__`` with ``args`` and the real stack's names bound; return
    its exit status (a traceback and 1 for an uncaught exception)."""
    from .stack.hxcomm import ENV_IDEAL, ENV_SERIAL

    if not os.path.isfile(script):
        print(f"bss2emu exec: error: no script {script!r}", file=sys.stderr)
        return 2
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    saved_env = {k: os.environ.get(k) for k in (ENV_SERIAL, ENV_IDEAL)}
    if serial is not None:
        os.environ[ENV_SERIAL] = str(int(serial))
    if ideal:
        os.environ[ENV_IDEAL] = "1"
    sys.argv = [script, *args]
    script_dir = os.path.dirname(os.path.abspath(script))
    if sys.path:
        sys.path[0] = script_dir
    else:
        sys.path.insert(0, script_dir)
    try:
        with bound_names():
            runpy.run_path(script, run_name="__main__")
        return 0
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return EXIT_SCRIPT_FAILED
    except Exception as exc:  # the script's own error: report it as python would, from the script on
        tb = exc.__traceback__
        while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, runpy.__file__)
                                  or tb.tb_frame.f_code.co_filename.startswith("<frozen")):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        return EXIT_SCRIPT_FAILED
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``exec`` to the top-level command line."""
    p = subparsers.add_parser(
        "exec", help="run a script written for the real BSS-2 stack on bss2emu",
        description="Run SCRIPT with the real stack's module names (pynn_brainscales.brainscales2, dlens_vx_v3, "
                    "pyhalco_*/pylola_*/pyhaldls_*/pystadls_*, pyhxcomm_vx, calix, pylogging) bound to bss2emu "
                    "for this run only.",
        epilog="Exit status: the script's.")
    _add_arguments(p)
    p.set_defaults(func=lambda args: run_script(args.script, args.args, args.serial, args.ideal))
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--serial", type=int, metavar="N", help="the emulated chip's serial number (default 0)")
    p.add_argument("--ideal", action="store_true", help="an ideal chip without fixed-pattern mismatch")
    p.add_argument("script", metavar="SCRIPT", help="the Python script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments passed to the script")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bss2emu.exec [--serial N] [--ideal] script.py [args]``."""
    p = argparse.ArgumentParser(prog="python -m bss2emu.exec", description="Run a script written for the real "
                                "BSS-2 stack with its module names bound to bss2emu.")
    _add_arguments(p)
    args = p.parse_args(argv)
    return run_script(args.script, args.args, args.serial, args.ideal)


if __name__ == "__main__":
    sys.exit(main())
