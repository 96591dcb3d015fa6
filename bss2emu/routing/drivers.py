"""Synapse-driver, row and address allocation on one chip (first fit).

Every presynaptic unit that has targets on a chip gets one synapse driver index ``d`` (the
same in both hemispheres) and a 6-bit address on it; its 16-bit label is
``make_label(d % 4, d // 4, address)``. Each of its connections takes a synapse in one of
the driver's two rows whose mode matches the receptor, in the post neuron's column. Units
that share a driver share its short-term-plasticity setting. A block of 2**k units (one
background generator with a label mask) spreads over 2**k2 drivers with consecutive row
selects and 2**(k-k2) addresses each, fewer drivers first.

A unit whose connections need more than a driver's two rows in one column (weights above
2 × 63 spread over rows, as pynn.brainscales2 splits them) gets an aligned group of 2**m
drivers on one PADI bus that share a row-select compare mask of m bits: one label then
activates all of them, so the unit reaches up to 2**(m+1) rows of each column. Such a group
takes only units of its own kind.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..protocol import coordinates as C

# a unit's targets: list of (receptor, circuits) — one entry per projection
UnitTargets = list[tuple[int, np.ndarray]]


class DriverAllocator:
    """Occupancy of one chip's drivers, rows and synapses."""

    def __init__(self) -> None:
        shape = (C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
        self.occupied = np.zeros(shape, bool)
        self.addresses = np.zeros(shape, np.int64)
        self.row_modes = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE), np.int64)
        self.n_addr = np.zeros(C.DRIVERS_PER_HEMISPHERE, np.int64)
        self.masks = np.zeros(C.DRIVERS_PER_HEMISPHERE, np.int64)  # row-select compare mask per driver
        self.stp: dict[int, str] = {}
        self._stp_ids: dict[str, int] = {}
        self._drv_stp: np.ndarray | None = None  # stp id per driver, kept in step with self.stp

    def _try_unit(self, d: int, address: int, targets: UnitTargets):
        """Rows for each target's connections on driver d, or None (nothing changed)."""
        if not targets:
            return []
        rec = np.concatenate([np.full(len(circ), r, np.int64) for r, circ in targets])
        circ = np.concatenate([c for _, c in targets]).astype(np.int64)
        rows = np.empty(len(circ), np.int64)
        if not _place_unit(self.occupied, self.addresses, self.row_modes, d, 1, address, rec,
                           circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE, rows):
            return None
        return np.split(rows, np.cumsum([len(c) for _, c in targets])[:-1])

    def place_block(self, units: list[UnitTargets], stp_key: str):
        """Place ``len(units)`` units (a power of two) as one label block.

        Returns ``(labels, rows)`` — a label per unit and, per unit and target, the rows of
        its connections — or None if no drivers can take them."""
        block = len(units)
        if block == 1:
            if _rows_needed(units[0]) > C.ROWS_PER_DRIVER:
                return self._place_wide(units[0], stp_key)
            return self._place_single(units[0], stp_key)
        k = block.bit_length() - 1
        for k2 in range(0, min(k, C.LABEL_ROW_SELECT_BITS) + 1):
            n_drv, n_addr = 1 << k2, 1 << (k - k2)
            if n_addr > C.ADDRESS_MAX + 1:
                continue
            for j0 in range(0, C.DRIVERS_PER_PADI_BUS, n_drv):
                for bus in range(C.PADI_BUSES_PER_HEMISPHERE):
                    drivers = [C.driver_of(bus, j0 + i) for i in range(n_drv)]
                    if any(self.stp.get(d, stp_key) != stp_key or self.masks[d] for d in drivers):
                        continue
                    addr0 = max(-(-int(self.n_addr[d]) // n_addr) * n_addr for d in drivers)
                    if addr0 + n_addr > C.ADDRESS_MAX + 1:
                        continue
                    rows = self._try_block(drivers, addr0, n_addr, units)
                    if rows is None:
                        continue
                    for d in drivers:
                        self.n_addr[d] = addr0 + n_addr
                        self.stp[d] = stp_key
                    self._drv_stp = None
                    u = np.arange(block)
                    labels = C.make_label(bus, j0, addr0) + ((u // n_addr) << C.LABEL_ROW_SELECT_SHIFT) + u % n_addr
                    return labels, rows
        return None

    def _place_single(self, targets: UnitTargets, stp_key: str):
        """First fit of one unit over drivers 0..127, the whole search in one numba call."""
        ids = self._stp_ids.setdefault(stp_key, len(self._stp_ids))
        # a masked driver (of a wide group) shows an STP id no unit has: single units skip it
        drv_stp = np.array([-2 if self.masks[d] else self._stp_ids.setdefault(self.stp[d], len(self._stp_ids))
                            if d in self.stp else -1 for d in range(C.DRIVERS_PER_HEMISPHERE)], np.int64) \
            if self._drv_stp is None else self._drv_stp
        if targets:
            rec = np.concatenate([np.full(len(circ), r, np.int64) for r, circ in targets])
            circ = np.concatenate([c for _, c in targets]).astype(np.int64)
        else:
            rec = circ = np.zeros(0, np.int64)
        rows = np.empty(len(circ), np.int64)
        d = _first_fit(self.occupied, self.addresses, self.row_modes, self.n_addr, drv_stp, ids, rec,
                       circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE, rows)
        if d < 0:
            return None
        address = int(self.n_addr[d])
        self.n_addr[d] += 1
        self.stp[d] = stp_key
        drv_stp[d] = ids
        self._drv_stp = drv_stp
        label = C.make_label(d % C.PADI_BUSES_PER_HEMISPHERE, d // C.PADI_BUSES_PER_HEMISPHERE, address)
        return np.array([label]), [np.split(rows, np.cumsum([len(c) for _, c in targets])[:-1]) if targets else []]

    def _place_wide(self, targets: UnitTargets, stp_key: str):
        """One unit on the smallest aligned, masked group of drivers on one PADI bus whose rows
        take all its connections (see the module's text), or None."""
        rec = np.concatenate([np.full(len(circ), r, np.int64) for r, circ in targets])
        circ = np.concatenate([c for _, c in targets]).astype(np.int64)
        rows = np.empty(len(circ), np.int64)
        g = 1
        while g * C.ROWS_PER_DRIVER < _rows_needed(targets):
            g *= 2
        while g <= C.DRIVERS_PER_PADI_BUS:
            for j0 in range(0, C.DRIVERS_PER_PADI_BUS, g):
                for bus in range(C.PADI_BUSES_PER_HEMISPHERE):
                    drivers = [C.driver_of(bus, j0 + i) for i in range(g)]
                    fresh = all(self.n_addr[d] == 0 and d not in self.stp for d in drivers)
                    ours = all(self.masks[d] == g - 1 and self.stp.get(d) == stp_key for d in drivers)
                    address = max(int(self.n_addr[d]) for d in drivers)
                    if not (fresh or ours) or address > C.ADDRESS_MAX:
                        continue
                    if not _place_unit(self.occupied, self.addresses, self.row_modes, drivers[0], g, address, rec,
                                       circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE, rows):
                        continue
                    for d in drivers:
                        self.n_addr[d], self.masks[d], self.stp[d] = address + 1, g - 1, stp_key
                    self._drv_stp = None
                    label = C.make_label(bus, j0, address)
                    return np.array([label]), [np.split(rows, np.cumsum([len(c) for _, c in targets])[:-1])]
            g *= 2
        return None

    def _try_block(self, drivers, addr0, n_addr, units):
        modes_before = self.row_modes.copy()
        placed = []
        for u, targets in enumerate(units):
            rows = self._try_unit(drivers[u // n_addr], addr0 + u % n_addr, targets)
            if rows is None:
                for tg, rws in placed:  # roll back the units placed so far
                    for (_, circ), r in zip(tg, rws):
                        h, c = circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE
                        self.occupied[h, r, c] = False
                        self.addresses[h, r, c] = 0
                self.row_modes[:] = modes_before
                return None
            placed.append((targets, rows))
        return [rows for _, rows in placed]

    def stats(self) -> dict[str, int]:
        return {"drivers_used": len(self.stp), "rows_used": int((self.row_modes != 0).sum()),
                "synapses_used": int(self.occupied.sum())}


def _rows_needed(targets: UnitTargets) -> int:
    """The most connections a unit makes onto one column: the synapse rows it needs."""
    circ = np.concatenate([c for _, c in targets]) if targets else np.zeros(0, np.int64)
    return int(np.bincount(circ.astype(np.int64)).max()) if len(circ) else 0


@njit(cache=True)
def _place_unit(occupied, addresses, row_modes, d0, n_drv, address, receptor, hemi, col, rows_out):
    """Give each connection a free synapse of matching row mode in the rows of the drivers
    d0, d0 + 4, … (``n_drv`` of them, one PADI bus), in order (a second connection to the
    same column takes the next row). On failure undo everything and return False."""
    n = len(col)
    stride = 4  # the drivers of one PADI bus (coordinates.driver_of)
    old_modes = np.empty((row_modes.shape[0], 2 * n_drv), np.int64)
    for k in range(2 * n_drv):
        old_modes[:, k] = row_modes[:, 2 * (d0 + stride * (k // 2)) + k % 2]
    for j in range(n):
        h, c, rec = hemi[j], col[j], receptor[j]
        rows_out[j] = -1
        for k in range(2 * n_drv):
            r = 2 * (d0 + stride * (k // 2)) + k % 2
            m = row_modes[h, r]
            if (m == 0 or m == rec) and not occupied[h, r, c]:
                occupied[h, r, c] = True
                addresses[h, r, c] = address
                row_modes[h, r] = rec
                rows_out[j] = r
                break
        if rows_out[j] < 0:
            for i in range(j):
                occupied[hemi[i], rows_out[i], col[i]] = False
                addresses[hemi[i], rows_out[i], col[i]] = 0
            for k in range(2 * n_drv):
                row_modes[:, 2 * (d0 + stride * (k // 2)) + k % 2] = old_modes[:, k]
            return False
    return True


@njit(cache=True)
def _first_fit(occupied, addresses, row_modes, n_addr, drv_stp, stp_id, receptor, hemi, col, rows_out):
    """The first driver (0..127) with a free address and matching STP that takes the unit."""
    for d in range(n_addr.shape[0]):
        if n_addr[d] > 63 or (drv_stp[d] != -1 and drv_stp[d] != stp_id):
            continue
        if _place_unit(occupied, addresses, row_modes, d, 1, n_addr[d], receptor, hemi, col, rows_out):
            return d
    return -1
