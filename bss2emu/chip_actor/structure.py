"""Structured neurons on the emulated chip: compartments from the circuits' switches.

The switches (``hardware.STRUCTURE_SWITCHES``) join neighbouring circuits' membranes
(``connect_right``, ``connect_vertical`` set on both circuits of a column) and connect a
membrane to its circuit's piece of the somatic line, directly (``connect_soma``) or
through the inter-compartment conductance g_icc (``enable_conductance``);
``connect_soma_right`` joins pieces of line. So, electrically:

* a **compartment** is a set of circuits whose membranes are joined (through membrane
  switches and direct line connections): one membrane whose capacitance, leak conductance
  and constant currents add, E_L the conductance-weighted mean; each circuit's synapses
  feed it (with that circuit's gain; the time constants are the lead's). Its **lead** is its
  first circuit with the threshold on (else its first circuit): the lead's threshold,
  reset, refractory time, exponential term and adaptation act for the compartment, and its
  spikes carry the lead's label and number. Other circuits follow the lead's membrane;
* compartments are coupled by g_icc between a membrane and a piece of line. A piece of
  line no membrane connects to directly carries no charge (a node without capacitance):
  it is eliminated (Kron reduction), leaving the conductance matrix ``G`` between the
  compartments of a logical neuron::

      C_i dv_i/dt = (local AdEx terms of compartment i) - Σ_j G_ij v_j      (G: a Laplacian)

The kernel splits each step (Strang): half a step of coupling alone, exactly
(``v ← P v``, ``P = exp(-C⁻¹ G h/2)``), the compartments' own step as for point neurons,
half a step of coupling; ``P`` is stored by diagonals over the chip's circuits
(``coupling_diagonals``), so the kernel sweeps contiguous memory. A compartment held at reset (refractory) keeps its reset value; so
a dendritic spike with a reset above rest and a long refractory time holds a **plateau**
that drives its neighbours for that time, as the hardware realises plateau potentials.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX as IDX
from .analog import NeuronPhysics
from .kernels import CP_ROW_BITS

_N = C.NEURONS_PER_CHIP
_COLS = C.COLUMNS_PER_HEMISPHERE


class LogicalNeuronCoupling(NamedTuple):
    """One group of coupled compartments: their leads, capacitances (pF) and the
    conductance matrix between them (µS, after eliminating line pieces without capacitance)."""

    leads: np.ndarray
    c_pf: np.ndarray
    g_us: np.ndarray


class Structure(NamedTuple):
    """What the kernel needs for a chip with structured neurons (``compartment_structure``)."""

    lead: np.ndarray  # int64[512]: the circuit whose membrane each circuit's membrane is
    follow: np.ndarray  # circuits that follow another's membrane
    follow_lead: np.ndarray  # their leads
    cp_rows: np.ndarray  # the coupled leads, ascending
    cp_block: np.ndarray  # the half-step propagator P by diagonals (``coupling_diagonals``)
    cp_offset: np.ndarray
    cp_val: np.ndarray
    couplings: tuple  # LogicalNeuronCoupling per group of coupled compartments
    physics: NeuronPhysics  # per circuit, the compartments' sums on their leads


def coupling_diagonals(props: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """The chip-wide half-step propagator ``P`` (``P[leads[i], leads[j]] = prop[i, j]`` for
    each logical neuron's ``(leads, prop)``, the identity elsewhere) stored by diagonals, as
    ``kernels.couple_half_step`` applies it: ``(cp_rows, cp_block, cp_offset, cp_val)``.

    ``cp_rows`` are the coupled leads, ascending. Diagonal ``q`` holds the entries ``P[r, r +
    d]`` for rows ``r`` in ``[lo, lo + L)``, ``L = cp_offset[q + 1] - cp_offset[q]``, at
    ``cp_val[cp_offset[q] + r - lo]`` (0.0 where a row of that range has no such entry; on
    the main diagonal, 1.0 for the rows between the first and the last coupled lead that
    are none: they keep their membranes, and the kernel copies the whole main diagonal's rows);
    ``cp_block[q] = d · 2**CP_ROW_BITS + lo`` (``kernels.CP_ROW_BITS``), diagonals by
    ascending ``d`` — so a row's terms are summed in ascending column order, and the kernel
    sweeps contiguous memory (SIMD) instead of gathering each neuron's compartments. The
    last entries of ``cp_block`` (0) and ``cp_offset`` (the length of ``cp_val``) close the
    list; a logical neuron of compartments in neighbouring columns makes few, short
    diagonals (4 adjacent compartments: offsets -3..3)."""
    diagonals: dict[int, dict[int, float]] = {}
    rows = []
    for leads, prop in props:
        rows.extend(int(x) for x in leads)
        for i, r in enumerate(leads):
            for j, c in enumerate(leads):
                diagonals.setdefault(int(c - r), {})[int(r)] = float(prop[i, j])
    # rows between coupled leads (joined circuits, point neurons) keep their membranes: 1 on
    # the main diagonal (exact for finite membranes: the other terms add zeros)
    if rows:
        main = diagonals[0]
        for r in range(min(rows), max(rows) + 1):
            main.setdefault(r, 1.0)
    block, offset, vals = [], [0], []
    for d in sorted(diagonals):
        entries = diagonals[d]
        lo, hi = min(entries), max(entries) + 1
        row = np.zeros(hi - lo)
        row[np.array(list(entries)) - lo] = list(entries.values())
        block.append(d * (1 << CP_ROW_BITS) + lo)
        vals.append(row)
        offset.append(offset[-1] + len(row))
    block.append(0)
    return (np.array(sorted(rows), np.int64), np.array(block, np.int64), np.array(offset, np.int64),
            np.concatenate(vals) if vals else np.zeros(0))


def point_structure() -> Structure:
    """No structure: every circuit its own neuron (the arrays the kernel takes then)."""
    e = np.zeros(0, np.int64)
    z = np.zeros(1, np.int64)
    return Structure(np.arange(_N, dtype=np.int64), e, e, e, z, z, np.zeros(0), (), None)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, a: int) -> int:
        p = self.parent
        while p[a] != a:
            p[a] = p[p[a]]
            a = p[a]
        return int(a)

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def has_structure(values: np.ndarray) -> bool:
    """Whether any circuit of a neuron configuration (``values[neuron, parameter]``) has a
    structure switch on."""
    cols = [IDX[s] for s in ("connect_right", "connect_vertical", "connect_soma", "connect_soma_right",
                             "enable_conductance")]
    return bool(np.any(values[:, cols] != 0))


def compartment_structure(values: np.ndarray, physics: NeuronPhysics, h_us: float) -> Structure:
    """The compartments and couplings that the switches in ``values`` make, for a step of
    ``h_us``; ``physics`` per circuit (``analog.neuron_physics``)."""
    sw = {s: values[:, IDX[s]] != 0 for s in ("connect_right", "connect_vertical", "connect_soma",
                                            "connect_soma_right", "enable_conductance")}
    col = np.arange(_N) % _COLS
    u = _Union(2 * _N)  # membranes 0..511, pieces of somatic line 512..1023
    for n in np.nonzero(sw["connect_right"] & (col < _COLS - 1))[0]:
        u.join(n, n + 1)
    for n in np.nonzero(sw["connect_vertical"][:_COLS] & sw["connect_vertical"][_COLS:])[0]:
        u.join(n, n + _COLS)
    for n in np.nonzero(sw["connect_soma"])[0]:
        u.join(n, _N + n)
    for n in np.nonzero(sw["connect_soma_right"] & (col < _COLS - 1))[0]:
        u.join(_N + n, _N + n + 1)
    root = np.array([u.find(i) for i in range(2 * _N)])
    # compartments: circuits by the root of their membrane; lead = first firing circuit
    members: dict[int, list[int]] = {}
    for n in range(_N):
        members.setdefault(int(root[n]), []).append(n)
    lead = np.arange(_N, dtype=np.int64)
    fields = {f: np.array(getattr(physics, f), copy=True) for f in physics._fields}
    for circuits in members.values():
        if len(circuits) == 1:
            continue
        cs = np.array(circuits)
        firing = cs[physics.fire[cs]]
        ld = int(firing[0]) if len(firing) else int(cs[0])
        lead[cs] = ld
        g_sum = physics.g_l[cs].sum()
        fields["c_m"][ld] = physics.c_m[cs].sum()
        fields["g_l"][ld] = g_sum
        fields["e_l"][ld] = (physics.g_l[cs] * physics.e_l[cs]).sum() / g_sum if g_sum > 0 else physics.e_l[cs].mean()
        fields["i_const"][ld] = physics.i_const[cs].sum()
        fields["fire"][ld] = bool(len(firing))
        rest = cs[cs != ld]
        fields["fire"][rest] = False
    agg = NeuronPhysics(**fields)
    # conductance edges membrane group — line group; groups of line without a membrane have no charge
    edges: dict[tuple[int, int], float] = {}
    for n in np.nonzero(sw["enable_conductance"])[0]:
        a, b = int(root[n]), int(root[_N + n])
        if a != b and physics.g_icc[n] > 0:
            edges[(a, b)] = edges.get((a, b), 0.0) + float(physics.g_icc[n])
    u2 = _Union(2 * _N)
    for a, b in edges:
        u2.join(a, b)
    groups: dict[int, list[tuple[int, int]]] = {}
    for e in edges:
        groups.setdefault(u2.find(e[0]), []).append(e)
    couplings = []
    props: list[tuple[np.ndarray, np.ndarray]] = []
    for group in groups.values():
        nodes = sorted({x for e in group for x in e})
        charged = [x for x in nodes if x < _N]  # a node with a membrane has a circuit root
        massless = [x for x in nodes if x >= _N]
        index = {x: i for i, x in enumerate(charged + massless)}
        lap = np.zeros((len(nodes), len(nodes)))
        for (a, b) in group:
            g = edges[(a, b)]
            i, j = index[a], index[b]
            lap[i, i] += g
            lap[j, j] += g
            lap[i, j] -= g
            lap[j, i] -= g
        k = len(charged)
        g_cc = lap[:k, :k] - lap[:k, k:] @ np.linalg.solve(lap[k:, k:], lap[k:, :k]) if len(massless) else lap
        leads = np.array([lead[x] for x in charged], dtype=np.int64)
        c_pf = fields["c_m"][leads]
        if k < 2 or not np.any(g_cc):
            continue
        couplings.append(LogicalNeuronCoupling(leads, c_pf, g_cc))
        d = 1.0 / np.sqrt(c_pf)
        lam, vec = np.linalg.eigh(d[:, None] * g_cc * d[None, :])
        prop = (d[:, None] * (vec * np.exp(-lam * h_us / 2.0)) @ vec.T) / d[None, :]
        props.append((leads, prop))
    cp_rows, cp_block, cp_offset, cp_val = coupling_diagonals(props)
    follow = np.nonzero(lead != np.arange(_N))[0].astype(np.int64)
    return Structure(lead, follow, lead[follow].astype(np.int64), cp_rows, cp_block, cp_offset, cp_val,
                     tuple(couplings), agg)
