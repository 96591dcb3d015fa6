"""Frozen arrays: read-only numpy arrays that own their data, and values computed from them.

A run derives much from arrays that do not change from one run to the next (a mapped chip's
synapse addresses, its weights while they stay, a stimulus's playback times). Such arrays
are made read-only where they are made; an array that is read-only and owns its data (no
writable array shares its memory) can only change if someone unlocks it on purpose, which
nothing in bss2emu does to an array it did not make itself (a ``Chip`` unlocks only its own
copy of its weights, ``Chip.own_weights``, to write weights it checked). So what is computed
from frozen arrays can be kept as long as they live and shared by every chip and run that
gets the same arrays (``FrozenMemo``).

>>> a = np.arange(3)
>>> a.flags.writeable = False
>>> is_frozen(a), is_frozen(a[1:]), is_frozen(np.arange(3))
(True, False, False)
>>> memo = FrozenMemo()
>>> memo.get((a,), lambda: int(a.sum())), memo.get((a,), lambda: -1)
(3, 3)
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Hashable

import numpy as np


def is_frozen(a: np.ndarray) -> bool:
    """Whether ``a`` is read-only and owns its data (no writable array shares it)."""
    return not a.flags.writeable and a.base is None


def freeze(*arrays: np.ndarray) -> None:
    """Make arrays read-only (that own their data: then ``is_frozen``)."""
    for a in arrays:
        a.flags.writeable = False


class FrozenMemo:
    """Values computed from frozen arrays, kept while the arrays live (by their identity: a
    frozen array's values cannot change). Arrays that are not frozen are computed for anew."""

    def __init__(self) -> None:
        self._kept: dict[tuple, tuple[tuple, Any]] = {}

    def get(self, arrays: tuple[np.ndarray, ...], compute: Callable[[], Any], extra: Hashable = ()) -> Any:
        """``compute()``, kept for ``arrays`` (all frozen) and ``extra`` (what else it depends on)."""
        if not all(map(is_frozen, arrays)):
            return compute()
        key = (tuple(map(id, arrays)), extra)
        hit = self._kept.get(key)
        if hit is not None and all(ref() is a for ref, a in zip(hit[0], arrays)):
            return hit[1]
        value = compute()
        drop = (lambda _, key=key, kept=self._kept: kept.pop(key, None))  # (before the id can be reused)
        self._kept[key] = (tuple(weakref.ref(a, drop) for a in arrays), value)
        return value

    def __len__(self) -> int:
        return len(self._kept)


class FrozenList(list):
    """A list that refuses to change (``TypeError``): validated from-list connections
    (``experiment.FromList``), which read like lists and compare equal to them.

    >>> rows = FrozenList([FrozenList([0, 1])])
    >>> rows == [[0, 1]], rows[0][1]
    (True, 1)
    >>> rows[0].append(5)
    Traceback (most recent call last):
    TypeError: this list cannot change (validated connections): assign a new list instead
    """

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("this list cannot change (validated connections): assign a new list instead")

    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __reduce__(self):  # (pickle and copy would fill a new one with ``extend``)
        return type(self), (list(self),)
