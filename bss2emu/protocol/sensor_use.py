"""Which plasticity kernels read the correlation sensors: the sensors run only for those.

The causal/acausal sensors cost the emulation about half of a plain run (an ``exp`` per
synaptic event), so a chip runs them only when its experiment records them
(``recordings.correlation``) or one of its rules reads them. A kernel says so itself with a
``reads_correlation`` attribute (a PyNN rule's class attribute, a function's attribute, a C++
kernel's property from its source); otherwise its code is read: the kernel's code, its
class's methods and the Python functions they call, followed through their globals, mention
an observable of the sensors by name (``correlation``, ``causal``, …). A kernel that reads
them in a way this cannot see (``getattr(ctx, name)`` with a computed name) gets an error
naming the fix, never zeros (``chip_actor.ppu``).

>>> def stdp(ctx):
...     causal, acausal = ctx.projections[0].correlation(reset=True)
>>> def homeostasis(ctx):
...     ctx.populations[0].set_parameter("i_bias", 0)
>>> reads_correlation(stdp), reads_correlation(homeostasis)
(True, False)
"""

from __future__ import annotations

import types
from typing import Any

CORRELATION_NAMES = frozenset({"correlation", "correlation_codes", "correlation_codes_into", "causal", "acausal",
                               "get_causal_correlation", "get_acausal_correlation", "get_correlation",
                               "update_weights_by_correlation"})
"""The names through which a kernel reaches the sensors (``PpuContext``, ``SynapseView``,
``ChipSnapshot``; libnux's for C++)."""

_DEPTH = 6  # calls followed from the kernel (a helper's helper's …)


def reads_correlation(kernel: Any) -> bool:
    """Whether ``kernel`` (a callable, or a dotted path not yet imported: True) reads the
    correlation sensors: its ``reads_correlation`` attribute where it has one (a bool), else
    whether its code mentions them (see the module docstring)."""
    if isinstance(kernel, str):
        return True  # not imported here (the service's models): assume it does
    declared = getattr(kernel, "reads_correlation", None)
    if isinstance(declared, bool):
        return declared
    seen: set[int] = set()
    return any(_mentions(code, glb, seen, 0) for code, glb in _code_of(kernel))


def _code_of(obj: Any, depth: int = 0) -> list[tuple[types.CodeType, dict]]:
    """The code objects (with their globals) of a function (and of the callables its closure
    holds: a wrapper's wrapped kernel), method, numba dispatcher, or an object's class: its
    methods (the class's own, not the libraries' it derives from)."""
    obj = getattr(obj, "py_func", obj)  # a numba dispatcher: its Python function
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        out = [(obj.__code__, obj.__globals__)]
        for cell in obj.__closure__ or ():
            try:
                held = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if depth < _DEPTH and callable(held) and not _is_library(held) and not isinstance(held, type):
                out.extend(_code_of(held, depth + 1))
        return out
    if isinstance(obj, staticmethod | classmethod):
        return _code_of(obj.__func__, depth)
    if isinstance(obj, property):
        return [c for f in (obj.fget, obj.fset) if f is not None for c in _code_of(f, depth)]
    cls = obj if isinstance(obj, type) else type(obj)
    out = []
    for klass in cls.__mro__:
        if _is_library(klass):  # (the front ends' base classes: what the user's class adds is read)
            continue
        for value in vars(klass).values():
            if isinstance(value, types.FunctionType | staticmethod | classmethod | property):
                out.extend(_code_of(value))
    return out


def _mentions(code: types.CodeType, glb: dict, seen: set[int], depth: int) -> bool:
    if id(code) in seen:
        return False
    seen.add(id(code))
    if CORRELATION_NAMES.intersection(code.co_names):
        return True
    for const in code.co_consts:  # nested functions, lambdas, comprehensions
        if isinstance(const, types.CodeType) and _mentions(const, glb, seen, depth):
            return True
    if depth >= _DEPTH:
        return False
    for name in code.co_names:  # Python functions and classes it reaches through its globals
        target = glb.get(name)
        if target is None or isinstance(target, types.ModuleType) or _is_library(target):
            continue
        if isinstance(target, types.FunctionType | type) or hasattr(target, "py_func"):
            if any(_mentions(c, g, seen, depth + 1) for c, g in _code_of(target)):
                return True
    return False


def _is_library(obj: Any) -> bool:
    """bss2emu's, PyNN's, numpy's, numba's and the standard library's objects: no kernel code
    of the user's (what a kernel reads of bss2emu, it reads by the names above)."""
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in {"bss2emu", "pyNN", "numpy", "numba", "builtins", "math", "functools", "typing",
                                    "collections", "abc", "copy"}
