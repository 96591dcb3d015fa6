"""The analog core's numba kernels: one call integrates a whole window of one chip.

Neuron model (AdEx, per circuit; units mV, µs, pF, µS, nA)::

    C dv/dt   = -g_L (v - E_L) + g_L Δ_T exp((v - V_T)/Δ_T) - w + I_const + I_syn
    τ_w dw/dt = a (v - E_L) - w
    spike when v ≥ V_th:  v ← V_reset, w ← w + b, v held at V_reset for τ_ref
    current-based input:      I_syn = i_exc - i_inh,  τ_s di/dt = -i
    conductance-based input:  I_syn = g_exc (E_exc - v) + g_inh (E_inh - v),  τ_s dg/dt = -g

Integration uses a fixed step ``h``. Linear parts are integrated exactly (exponential
integration). ``w`` relaxes exactly towards ``a (v - E_L)`` at the step's starting voltage,
and enters the membrane as the mean of its values at the step's start and end; the
exponential term enters as its value extrapolated to the step's middle from this and the
last step's start (Adams–Bashforth 2; held at the start value in the first step after a
release, and where ``h`` > 0.69 τ_m, see ``AB2_MIN_DECAY``): both second order. With current-
based inputs the synaptic current's exact convolution with the membrane is used; with
conductance-based inputs the conductances' step averages form an effective leak. Spike
times are interpolated linearly within the step and rounded to the nearest ns.

Reset and refractoriness act at their own times, not on the step grid: a neuron that
spikes at ``t_s`` is held at ``V_reset`` until ``t_r = t_s + τ_ref``; in the step that
holds ``t_r`` (the spike's own step when ``τ_ref`` is short) it integrates freely over
``[t_r, t_1]`` from ``V_reset`` (``after_release``: one exponential-Euler step with ``w``
and the synaptic inputs at their values at ``t_1``), and in every step after that as
above. The error of that partial step is made once per spike, so whole spike trains stay
second order in the step (a release on the grid, up to one step late per spike, made them
first order). A membrane that the partial step carries over the threshold fires at the
next step's start. The exponential term restarts first order (no extrapolation) after a
release.

Events (external, background, recurrent) carry integer-ns times. All events whose time
falls into step ``k`` are merged in the total order (time, source) and delivered in that
order at the step's end ``t_1``, after the step's neuron update. An event at ``t_e`` that
reaches a synapse with amplitude ``I0 = weight · efficacy · gain`` (nA, or µS when
conductance-based) adds ``I0 e^{-(t_1 - t_e)/τ_s}`` to the synaptic input and, unless the
neuron is refractory at ``t_e`` (``t_e < t_r``, held at reset), the membrane's response to
that input over ``[t_e, t_1]`` (``psp_response``), with ``τ_m = C/g_L`` and ``s = t_1 -
t_e``::

    R(s) = 1/C ∫_0^s e^{-(s - y)/τ_m} e^{-y/τ_s} dy
    current-based:      v ← v ± I0 R(s)          (+ excitatory, - inhibitory)
    conductance-based:  v ← E_rev + (v - E_rev) e^{-I0 R(s)}

So a current-based PSP is exact at every step boundary wherever in the step its event
falls (a delivery without ``R`` would lose about ``s/τ_s`` of its area). The conductance-
based response is first order, like that input's step update: it takes the driving force at
the step's end (after the update and the step's earlier deliveries) and the leak alone for
``τ_m``; in that exponential form it is exact for an isolated event without leak and never
carries ``v`` past ``E_rev``. A membrane that a response carries over the threshold fires at
the next step's start. Nothing of this depends on how a run is cut into windows.

Structured neurons (``structure``): circuits joined to a compartment follow its lead
circuit's membrane (their synapses feed it), and each step is split — half a step of the
exact coupling between compartments, the step above, half a step of coupling (Strang:
second order; merging the two halves of consecutive steps into one full step of coupling
would halve its cost, but events and thresholds sit between them and the membranes seen
would lack half a step of coupling: 0.4-1.5 % off the exact EPSPs of a 4-compartment chain,
against < 0.3 % now). A chip without structure switches takes none of these branches: its
results are bit for bit those of point neurons.

An event passes the crossbar (mask/target per node), reaches PADI buses, selects synapse
drivers by its 5 row-select bits (with each driver's compare mask), is modulated by the
driver's short-term plasticity, and reaches every synapse of the driver's two rows whose
6-bit address equals the label's low 6 bits; the row's mode gives the sign. Tsodyks–Markram STP per driver with utilisation U and time constant τ::

    depression:   R⁻ₙ = 1 - (1 - R⁺ₙ₋₁) e^(-Δ/τ),  efficacy Uₙ·R⁻ₙ,  R⁺ₙ = R⁻ₙ (1 - U)
    facilitation: u⁻ₙ = u⁺ₙ₋₁ e^(-Δ/τ),  u⁺ₙ = u⁻ₙ + U (1 - u⁻ₙ),  efficacy u⁺ₙ

How it is computed (none of this changes a result, bit for bit, nor depends on the
window cut): the neuron update runs formula by formula over all neurons, along the
contiguous per-parameter rows ``coef[K, :]`` and ``nstate[S, :]`` (not 4 KiB long:
``NEURON_ROW_PAD``), so the compiler uses SIMD; libm's ``exp`` is called only for neurons with the exponential term and not
refractory, and the conductance-based update runs only for neurons that use it. Every
floating-point expression keeps its order of operations (no ``fastmath``: no
reassociation, no fused multiply-add), so each neuron's arithmetic is the scalar one.
Delivery looks up the drivers an event selects (``driver_table``) and the synapses with
the event's address in those drivers' rows (``synapse_table``, weights included, in the
order the rows were scanned before) instead of scanning 2 × 256 synapses per driver; an
event widens the range of neurons updated (rest, below) once, to hold the lowest and the
highest membrane its synapses reach, and on a chip without structure, sensors, conductance-
based neurons or a second PSP class its synapses take a loop of their own, without the
branches and loads for those (``plain``), after the keys of all the step's events are
gathered (``event_keys``, ``deliver_keys``: so that the table rows of many keys can load side
by side; timed alone, the 2048-neuron reference network's delivery went from 30.5 to 28 ms
per emulated second, but the whole window loop measured the same as before, within the
machine's ±3 %). A step's events are put in order by insertion sort, or by merge sort when
there are many.
The correlation sensors (``exp(-Δt/τ_corr)`` added per pre/post pair) cost memory traffic
more than arithmetic, so their state is kept to be touched little: a synapse's last pre time
is its row's last event with its address (``pre_times``: one time per hemisphere, address and
row, and a time of its own only for a synapse that its row's events skipped — disabled — or
that was set from outside), so an event stores one time per row it reaches, not one per
synapse. A post spike's causal update gathers its column's pre times through a by-column copy
of the addresses, keeps the rows that pair, then loads their sensors, computes their ``exp``
as SIMD and adds — in loops without a branch on what the scattered loads bring, so that the
loads overlap. (On the reference network the gather of all 256 rows costs 2-3 ms per emulated
second of the sensors' ~12, the exps and additions of the rows that pair 3.5-5: a per-neuron
bitmap of the rows that pair, set where an event gives a synapse its first pre time since its
neuron's last spike, spent in the delivery loop and in its indirect gather what it saved, and
measured no faster.)
An event's acausal updates are gathered along the synapses it reached (also
without a branch on the pairing test) and added in that order in batches of many events
(``add_acausal``: nothing reads them in between), with ``exp`` as SIMD over the batch. The
sensors themselves stay by row, as the PPU and Python rules read them. Every addition marks
its synapse in a bitmap (``mark_sensed``: whatever the sensor read before, so the mark waits
for no load, and a synapse added to twice is marked once), so that a compiled STDP rule
reads only those, in the order of their index (``ppu_passes``). Every sensor gets the same
additions in the same order with the same arguments as by the definition
(``tests/chip_actor/test_pre_times.py``).
The exponential term's ``exp`` is glibc's algorithm written out (``libm_exp``: the same
bits, as SIMD); a synapse's decay and membrane response are looked up per class of neurons
with equal synaptic coefficients and the event's offset in the step (``psp_table``, filled
from the same expressions); the branches of the AB2 extrapolation and of the threshold test
are selects, so only neurons that spike or leave their refractory time in a step take the
scalar path; and a long call skips neurons at rest — a state that one step leaves bit for
bit as it is, outside refractoriness, is a fixed point until an event reaches the neuron (``REST_PROBE_MIN_STEPS``,
looked for again every ``REST_PROBE_EVERY`` steps). Where all other neurons are at *decaying
rest* (``rest_probe``: only their synaptic inputs still change, by too little to move the
membrane), a step only multiplies those inputs by their decay factors, and with no readout,
background generator or input event due the call jumps ahead (``decay_inputs``): idle phases
cost almost nothing, with the same bits as stepping through them. On a chip with structured
neurons the range of neurons updated holds whole logical neurons (``close_range``): one
rests only where all its compartments are at a fixed point, and an event for any of them
updates all again (no decaying rest there: the coupling's sums are not the point update's).
The coupling itself is stored by diagonals (``structure.coupling_diagonals``): each is one
contiguous multiply-add, and the 7 diagonals of logical neurons of up to 4 compartments side
by side are one pass with the terms in registers (``couple_half_step``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .libm_exp import bits_of, exp_array, float_of, in_fast_range
from .pre_times import OWN_NONE

# rows of the per-neuron coefficient array ``coef[ROW, neuron]``
(
    K_EL, K_VRESET, K_VTH, K_VT, K_EEXC, K_EINH, K_GL, K_DT, K_A, K_B,
    K_EW, K_EM, K_LSCALE, K_ES_E, K_ES_I, K_KE, K_KI, K_AVG_E, K_AVG_I,
    K_TAU_E_NS, K_TAU_I_NS, K_GAIN_E, K_GAIN_I, K_ICONST, K_C, K_H_OVER_C,
    K_RDIFF_E_NS, K_RDIFF_I_NS, K_PSP_E, K_PSP_I,
) = range(30)
N_COEF = 30
# rows of ``flags[ROW, neuron]``
F_COBA_E, F_COBA_I, F_FIRE, F_TAU_REF_NS, F_LABEL, F_BYPASS_E, F_BYPASS_I = range(7)
N_FLAGS = 7
# rows of ``nstate[ROW, neuron]``
S_V, S_W, S_IE, S_II, S_EPREV = range(5)
N_STATE = 5
"""``S_EPREV``: the exponential term at the last step's start (nA), -1 after a reset."""
# rows of ``drv[ROW, hemisphere, driver]``
D_ENABLE, D_RSMASK, D_STP, D_STP_MODE, D_SET = range(5)
# rows of ``bg[ROW, generator]``
B_ENABLE, B_MODE, B_PERIOD, B_RATE, B_LABEL, B_MASK, B_START_NS, B_STOP_NS = range(8)

ADC_FULL_SCALE_MV = 1200.0
EXP_ARG_MAX = 30.0  # keeps exp() finite; the threshold is crossed long before
AB2_MIN_DECAY = 0.5
"""The exponential term is extrapolated (second order) only where a step is shorter than
0.69 τ_m (membrane decay per step e^(-h/τ_m) above this): for faster membranes the
explicit extrapolation would destabilise resting points near the spike onset."""

# layout of the lookup tables (HICANN-X sizes, see protocol.coordinates)
_HEMISPHERES, _COLUMNS, _ROWS, _DRIVERS, _BUSES, _ROW_SELECTS, _ADDRESSES = 2, 256, 256, 128, 4, 32, 64
REST_PROBE_MIN_STEPS = 32  # calls this long look for neurons at rest (the look costs about a step)
REST_PROBE_EVERY = 64  # ... and look again this often (steps) while some neurons are not at rest
SORT_INSERTION_MAX = 48  # a step with more events than this is sorted by merge sort
CP_ROW_BITS = 10  # a coupling diagonal's first row in the low bits of ``cp_block`` (rows < 1024)
CP_ROW_MASK = (1 << CP_ROW_BITS) - 1
COUPLING_BAND = 3  # couple_half_step's own path: diagonals -3..3 (4 compartments side by side)
# the compiler's options for every kernel: no bounds checks, IEEE results for x/0 instead of
# Python exceptions (no valid configuration divides by zero), and never fastmath.
_JIT = dict(cache=True, boundscheck=False, error_model="numpy")
NEURON_ROW_PAD = 8
"""Per-neuron rows (``coef``, ``flags``, ``nstate`` and the scratch) are this many elements
longer than the neurons (``neuron_row_length``): 512 neurons of 8 bytes are exactly 4 KiB,
and rows 4 KiB apart put element n of every row at the same offset in its page, where the
CPU's store-to-load check (12 address bits) takes a load of one row for a load of the store
to another just before it and waits: up to 1-3 ns per neuron-step (of 6), depending on how
the arrays fall (``benchmarks/neuron_rows.py``)."""


@njit(**_JIT)
def neuron_row_length(n_neurons):
    """The length of a per-neuron row for ``n_neurons`` neurons (``NEURON_ROW_PAD``)."""
    return (n_neurons + 7) // 8 * 8 + NEURON_ROW_PAD


@njit(**_JIT)
def xorshift32(x):
    """One step of Marsaglia's 32-bit xorshift; state and result in [1, 2**32)."""
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


@njit(**_JIT)
def adc_code(v_mv, bits):
    """Digitise a membrane voltage over 0..1200 mV into an unsigned ``bits``-bit code."""
    top = (1 << bits) - 1
    c = np.rint(v_mv / ADC_FULL_SCALE_MV * top)
    if c < 0:
        return 0
    if c > top:
        return top
    return int(c)


def adc_codes(v_mv: np.ndarray, bits: int) -> np.ndarray:
    """``adc_code`` over an array, in numpy (bit for bit the same codes), as int64."""
    top = (1 << bits) - 1
    return np.clip(np.rint(np.asarray(v_mv) / ADC_FULL_SCALE_MV * top), 0, top).astype(np.int64)


@njit(inline="always", **_JIT)
def psp_response(x_ns, es, tau_s_ns, rate_diff_ns, scale):
    """``R(x)`` of the module docstring in mV per nA (per µS: dimensionless): the membrane's
    response ``x_ns`` after the onset of a unit synaptic input that decays with ``τ_s``::

        R(x) = 1/C ∫_0^x e^{-(x - y)/τ_m} e^{-y/τ_s} dy = (e^{-x/τ_m} - e^{-x/τ_s}) / (C r)
             = e^{-x/τ_s} expm1(x r) / (C r),    r = 1/τ_s - 1/τ_m

    given ``es = e^{-x/τ_s}``, ``tau_s_ns``, ``rate_diff_ns = r`` (1/ns) and ``scale =
    1e-3/(C r)`` (``1e-3/C`` where ``r = 0``; C in pF, 1e-3 from ns to µs). The last form
    has no cancellation: it tends to ``x e^{-x/τ_s}/C`` as ``r → 0`` (τ_m = τ_s) and stays
    finite for ``τ_m = ∞`` (no leak) and ``τ_s = ∞``. Only where ``expm1(x r)`` could
    overflow (``x r > 700``, so ``e^{-x/τ_s} < 1e-304``, far beyond any valid step and τ_s)
    is ``e^{-x/τ_m}/(C r)`` used. Inlined (numba IR) into the kernel's delivery loop, which
    calls it per synapse."""
    d = x_ns * rate_diff_ns
    if d == 0.0:
        return es * x_ns * scale
    if d > 700.0:
        return np.exp(-x_ns * (1.0 / tau_s_ns - rate_diff_ns)) * scale
    return es * np.expm1(d) * scale


PSP_TABLE_MAX_STEP_NS = 400
"""Chips with steps up to this long look each synapse's decay and membrane response up in a
table per neuron and event offset (``psp_table``); longer steps compute them per synapse."""


def psp_table(h_ns: int, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An empty ``(psp_tab, psp_ok, psp_class)`` for a chip with steps of ``h_ns`` and
    coefficients ``coef``: neurons whose receptor has the same τ_s, rate difference and
    scale share a class (``psp_class[receptor, neuron]``; on an ideal chip one per receptor),
    and ``psp_tab[receptor, class, s]`` holds ``(e^{-s/τ_s}, R(s))`` of ``psp_response`` for an
    event ``s`` ns before the step's end (receptor 0 excitatory, 1 inhibitory), filled on the
    class's first event (``psp_ok[receptor, class]`` 1 then). No row (``psp_tab.shape[2] ==
    0``) for steps over ``PSP_TABLE_MAX_STEP_NS``. The values are those delivery computed per
    synapse (the same expressions), so looking them up changes no result; it saves two
    divisions, ``exp`` and ``expm1`` per synapse, and few classes keep the table in cache."""
    return empty_psp_table(h_ns, *psp_classes(coef))


def empty_psp_table(h_ns: int, psp_class: np.ndarray, n_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``psp_table`` of the classes ``psp_classes`` gave (``psp_class`` itself is returned)."""
    rows = int(h_ns) + 1 if h_ns <= PSP_TABLE_MAX_STEP_NS else 0
    return np.empty((2, n_class, rows, 2)), np.zeros((2, n_class), np.int8), psp_class


def psp_classes(coef: np.ndarray) -> tuple[np.ndarray, int]:
    """``psp_table``'s ``psp_class[receptor, neuron]`` and the number of classes (at least 1):
    per receptor, the neurons by the bits of their three coefficients (NaN-safe, -0.0 apart
    from 0.0), numbered in the order of those bits as int64 (the numbering of ``np.unique(bits,
    axis=0)``, in a fraction of its time: one ``lexsort`` of the three columns).

    >>> coef = np.zeros((N_COEF, 3)); coef[K_TAU_E_NS] = [5.0, 2.0, 5.0]
    >>> cls, n = psp_classes(coef); cls.tolist(), n
    ([[1, 0, 1], [0, 0, 0]], 2)
    """
    n = coef.shape[1]
    psp_class = np.zeros((2, n), np.int64)
    n_class = 1
    for r, keys in enumerate(((K_TAU_E_NS, K_RDIFF_E_NS, K_PSP_E), (K_TAU_I_NS, K_RDIFF_I_NS, K_PSP_I))):
        bits = np.ascontiguousarray(coef[list(keys)]).view(np.int64)  # [coefficient, neuron]
        if n == 0 or (bits == bits[:, :1]).all():  # (an ideal chip: one class)
            continue
        order = np.lexsort(bits[::-1])  # by the first coefficient's bits, then the second's, the third's
        ranked = bits[:, order]
        new = np.empty(n, bool)
        new[0] = False
        np.any(ranked[:, 1:] != ranked[:, :-1], axis=0, out=new[1:])
        psp_class[r, order] = np.cumsum(new)
        n_class = max(n_class, int(psp_class[r, order[-1]]) + 1)
    return psp_class, n_class


@njit(**_JIT)
def fill_psp_row(psp_tab, psp_ok, receptor, k, tau_s_ns, rate_diff_ns, scale):
    """Tabulate class ``k``'s decay and response (``psp_table``) for one receptor."""
    for s in range(1, psp_tab.shape[2]):
        es = np.exp(-s / tau_s_ns)
        psp_tab[receptor, k, s, 0] = es
        psp_tab[receptor, k, s, 1] = psp_response(s, es, tau_s_ns, rate_diff_ns, scale)
    psp_ok[receptor, k] = 1


# a synapse in ``synapse_table``: column bits 0-7, row 8-15, weight 16-21, row mode 22-23
ENTRY_ROW_SHIFT, ENTRY_WEIGHT_SHIFT, ENTRY_MODE_SHIFT = 8, 16, 22
ENTRY_SPAN_SHIFT = 40  # ``deliver_keys``: a key's hemisphere above its first entry's index
ENTRY_SPAN_MASK = (1 << ENTRY_SPAN_SHIFT) - 1


@njit(**_JIT)
def synapse_table(weights, addresses, row_modes):
    """The synapses of enabled rows by (hemisphere, driver, address), in CSR form.

    Returns ``(ptr, entry, n_weighted, position)``: the synapses of key
    ``(h * 128 + d) * 64 + address`` are ``entry[ptr[key]:ptr[key + 1]]`` (int32, see
    ``ENTRY_*_SHIFT``), row ``2d`` before ``2d + 1``, columns ascending — the order delivery
    adds them in; ``n_weighted[key]`` of them have a non-zero weight. ``position[h, r, c]``
    is the index of synapse ``(h, r, c)`` in ``entry`` (-1: its row is disabled), for
    ``set_entry_weights``. Weights live in the entries so delivery reads one compact array."""
    n_keys = _HEMISPHERES * _DRIVERS * _ADDRESSES
    ptr = np.zeros(n_keys + 1, np.int64)
    for h in range(_HEMISPHERES):
        for r in range(_ROWS):
            if row_modes[h, r] == 0:
                continue
            base = (h * _DRIVERS + r // 2) * _ADDRESSES + 1
            for c in range(_COLUMNS):
                ptr[base + addresses[h, r, c]] += 1
    for k in range(n_keys):
        ptr[k + 1] += ptr[k]
    fill = ptr[:-1].copy()
    entry = np.empty(ptr[n_keys], np.int32)
    n_weighted = np.zeros(n_keys, np.int64)
    position = np.full((_HEMISPHERES, _ROWS, _COLUMNS), -1, np.int64)
    for h in range(_HEMISPHERES):
        for r in range(_ROWS):
            mode = row_modes[h, r]
            if mode == 0:
                continue
            base = (h * _DRIVERS + r // 2) * _ADDRESSES
            for c in range(_COLUMNS):
                k = base + addresses[h, r, c]
                entry[fill[k]] = ((mode << ENTRY_MODE_SHIFT) | (weights[h, r, c] << ENTRY_WEIGHT_SHIFT)
                                  | (r << ENTRY_ROW_SHIFT) | c)
                position[h, r, c] = fill[k]
                fill[k] += 1
                if weights[h, r, c] > 0:
                    n_weighted[k] += 1
    return ptr, entry, n_weighted, position


@njit(**_JIT)
def set_entry_weights(ptr, entry, n_weighted, position, hemisphere, row, column, weight):
    """Write weights (6 bit) into the ``synapse_table`` ``(ptr, entry, n_weighted,
    position)``; ``hemisphere``, ``row``, ``column``, ``weight`` are equally long 1-d
    arrays."""
    n = weight.shape[0]
    at = np.empty(n, np.int64)
    for i in range(n):
        at[i] = position[hemisphere[i], row[i], column[i]]
    set_entry_weights_at(ptr, entry, n_weighted, at, weight, n)


@njit(**_JIT)
def set_entry_weights_at(ptr, entry, n_weighted, at, weight, n):
    """``set_entry_weights`` for the first ``n`` synapses at ``at``, their positions in the
    table (-1: none), with the weights ``weight``: each entry's weight bits, and its key's
    count of weighted synapses where a weight goes to or from 0. In one loop (a call per
    synapse inlined into a compiled caller passes its arrays with numba's reference counting:
    atomic, several per call, ~8 times the loop's time)."""
    for q in range(n):
        p = at[q]
        if p < 0:
            continue
        e = entry[p]
        if (((e >> ENTRY_WEIGHT_SHIFT) & 63) > 0) != (weight[q] > 0):
            k = np.searchsorted(ptr, p, side="right") - 1
            n_weighted[k] += 1 if weight[q] > 0 else -1
        entry[p] = (e & ~np.int32(63 << ENTRY_WEIGHT_SHIFT)) | np.int32(weight[q] << ENTRY_WEIGHT_SHIFT)


@njit(**_JIT)
def driver_table(drv):
    """The enabled drivers an event on PADI bus ``bus`` with row select ``j`` reaches, in CSR
    form: key ``(h * 4 + bus) * 32 + j``; drivers ``d = 4 i + bus`` with i ascending whose
    row select ``i`` equals ``j`` in every bit not set in the driver's compare mask."""
    n_keys = _HEMISPHERES * _BUSES * _ROW_SELECTS
    ptr = np.zeros(n_keys + 1, np.int64)
    out = np.empty(n_keys * _ROW_SELECTS, np.int64)
    n = 0
    for h in range(_HEMISPHERES):
        for bus in range(_BUSES):
            for j in range(_ROW_SELECTS):
                for i in range(_ROW_SELECTS):
                    d = i * _BUSES + bus
                    if drv[D_ENABLE, h, d] != 0 and ((j ^ i) & ~drv[D_RSMASK, h, d] & 31) == 0:
                        out[n] = d
                        n += 1
                ptr[(h * _BUSES + bus) * _ROW_SELECTS + j + 1] = n
    return ptr, out[:n].copy()


@njit(**_JIT)
def count_neuron_kinds(n_neurons, coef, flags, kinds):
    """Into ``kinds`` (int64, 3): how many of the first ``n_neurons`` neurons have the
    exponential term on (Δ_T > 0), how many a conductance-based input, and how many a
    circuit in bypass mode — one SIMD pass over their coefficients and flags, which a host
    makes per chip and call of its window loop (they change only between its calls) and
    ``integrate_steps`` otherwise per window."""
    ne = 0
    nc = 0
    nb = 0
    for n in range(np.uint64(n_neurons)):
        ne += coef[K_DT, n] > 0.0
        nc += (flags[F_COBA_E, n] != 0) | (flags[F_COBA_I, n] != 0)
        nb += (flags[F_BYPASS_E, n] != 0) | (flags[F_BYPASS_I, n] != 0)
    kinds[0] = ne
    kinds[1] = nc
    kinds[2] = nb


@njit(**_JIT)
def neuron_lists_into(n_neurons, coef, flags, ibuf, kinds):
    """Per-window neuron data of the first ``n_neurons`` neurons: ``(n_exp_on, coba,
    any_bypass)`` — how many have the exponential term on (Δ_T > 0), the indices of those
    with a conductance-based input (row ``IS_COBA`` of ``ibuf``, a view), and whether any
    circuit is in bypass mode — from ``kinds`` as ``count_neuron_kinds`` counts them
    (empty: counted here). The list is built neuron by neuron only where some but not all
    are in it (all: ``arange``)."""
    if kinds.shape[0] != 3:
        kinds = ibuf[IS_MISC, 5:8]
        count_neuron_kinds(n_neurons, coef, flags, kinds)
    nc = kinds[1]
    coba = ibuf[IS_COBA, :nc]
    if nc == n_neurons:
        for n in range(np.uint64(n_neurons)):
            coba[n] = n
    elif nc:
        q = 0
        for n in range(n_neurons):
            if flags[F_COBA_E, n] != 0 or flags[F_COBA_I, n] != 0:
                coba[q] = n
                q += 1
    return kinds[0], coba, kinds[2] > 0


@njit(**_JIT)
def after_release(n, v_r, dt_us, coef, flags, nstate):
    """The membrane (mV) of neuron ``n`` ``dt_us`` after it left ``v_r`` (the end of its
    refractory time inside a step): one exponential-Euler step of the conductance-based
    update, with ``w`` and the synaptic inputs held at their values at the step's end
    (``nstate``: w after the step, b included; inputs decayed to the step's end) and the
    exponential term at ``v_r``::

        g     = g_L (+ g_exc + g_inh where conductance-based)
        drive = g_L E_L + I_const - w + g_L Δ_T exp((v_r - V_T)/Δ_T) ± current-based inputs
                (+ g_exc E_exc + g_inh E_inh)
        v     = v_r + (drive - g v_r) (1 - e^{-g dt/C}) / g     (v_r + drive dt/C if g = 0)

    Called once per spike and per release, so its first-order error over the part of a
    step is made once per spike, not per step: whole trains become second order."""
    g = coef[K_GL, n]
    drive = coef[K_GL, n] * coef[K_EL, n] + coef[K_ICONST, n] - nstate[S_W, n]
    if coef[K_DT, n] > 0.0:
        a = (v_r - coef[K_VT, n]) / coef[K_DT, n]
        if a > EXP_ARG_MAX:
            a = EXP_ARG_MAX
        drive += coef[K_GL, n] * coef[K_DT, n] * np.exp(a)
    ie = nstate[S_IE, n]
    ii = nstate[S_II, n]
    if flags[F_COBA_E, n] != 0:
        g += ie
        drive += ie * coef[K_EEXC, n]
    else:
        drive += ie
    if flags[F_COBA_I, n] != 0:
        g += ii
        drive += ii * coef[K_EINH, n]
    else:
        drive -= ii
    if g > 0.0:
        return v_r + (drive - g * v_r) * (-np.expm1(-g * dt_us / coef[K_C, n])) / g
    return v_r + drive * dt_us / coef[K_C, n]


@njit(**_JIT)  # a call of its own: inlined, the compiler did not vectorise its loops
def couple_half_step(v, cp_block, cp_offset, cp_val, acc, lo, hi):
    """``v ← P v`` on rows ``[lo, hi)``, with the half-step
    propagator ``P`` stored by diagonals (``structure.coupling_diagonals``); a row's terms are
    summed in ascending column order. ``[lo, hi)`` must hold every compartment of a logical
    neuron it touches (``close_range``). ``acc``: scratch at least as long as ``v``.

    Where ``P`` is a band of the 7 diagonals -3..3 (logical neurons of up to 4 compartments
    in neighbouring columns), the rows that all 7 cover are one pass over contiguous memory
    with the 7 terms in registers; other rows (and other layouts) go diagonal by diagonal
    (``_couple_rows``). Both are SIMD and give the same bits."""
    n_diag = cp_block.shape[0] - 1
    a = lo
    b = lo
    if n_diag == 2 * COUPLING_BAND + 1:
        a = hi
        b = lo
        for q in range(n_diag):  # the rows every diagonal covers
            if (cp_block[q] >> CP_ROW_BITS) != q - COUPLING_BAND:
                a = lo
                b = lo
                break
            r0 = cp_block[q] & CP_ROW_MASK
            a = max(a, r0)
            b = min(b, r0 + cp_offset[q + 1] - cp_offset[q])
        a = max(a, lo)
        b = min(b, hi)
        if a >= b:
            a = lo
            b = lo
    if b > a:
        m = np.uint64(b - a)
        out = acc[a:b]
        p0 = _diagonal(cp_block, cp_offset, cp_val, 0, a)
        p1 = _diagonal(cp_block, cp_offset, cp_val, 1, a)
        p2 = _diagonal(cp_block, cp_offset, cp_val, 2, a)
        p3 = _diagonal(cp_block, cp_offset, cp_val, 3, a)
        p4 = _diagonal(cp_block, cp_offset, cp_val, 4, a)
        p5 = _diagonal(cp_block, cp_offset, cp_val, 5, a)
        p6 = _diagonal(cp_block, cp_offset, cp_val, 6, a)
        s0 = v[a - 3:b - 3]
        s1 = v[a - 2:b - 2]
        s2 = v[a - 1:b - 1]
        s3 = v[a:b]
        s4 = v[a + 1:b + 1]
        s5 = v[a + 2:b + 2]
        s6 = v[a + 3:b + 3]
        for i in range(m):
            out[i] = ((((((0.0 + p0[i] * s0[i]) + p1[i] * s1[i]) + p2[i] * s2[i]) + p3[i] * s3[i])
                       + p4[i] * s4[i]) + p5[i] * s5[i]) + p6[i] * s6[i]
        _couple_rows(v, cp_block, cp_offset, cp_val, acc, lo, a)
        _couple_rows(v, cp_block, cp_offset, cp_val, acc, b, hi)
    else:
        _couple_rows(v, cp_block, cp_offset, cp_val, acc, lo, hi)
    for q in range(n_diag):  # the rows of the main diagonal: every coupled lead, and between
        if (cp_block[q] >> CP_ROW_BITS) == 0:
            r0 = cp_block[q] & CP_ROW_MASK
            for n in range(np.uint64(max(lo, r0)), np.uint64(min(hi, r0 + cp_offset[q + 1] - cp_offset[q]))):
                v[n] = acc[n]


@njit(inline="always", **_JIT)
def _diagonal(cp_block, cp_offset, cp_val, q, a):
    """Diagonal ``q``'s values from row ``a`` on (``structure.coupling_diagonals``)."""
    return cp_val[cp_offset[q] + a - (cp_block[q] & CP_ROW_MASK):cp_offset[q + 1]]


@njit(**_JIT)
def _couple_rows(v, cp_block, cp_offset, cp_val, acc, lo, hi):
    """``acc = P v`` on rows ``[lo, hi)``, diagonal by diagonal (each a contiguous
    multiply-add, SIMD; ``couple_half_step``)."""
    if lo >= hi:
        return
    for n in range(np.uint64(lo), np.uint64(hi)):
        acc[n] = 0.0
    for q in range(cp_block.shape[0] - 1):
        d = cp_block[q] >> CP_ROW_BITS
        r0 = cp_block[q] & CP_ROW_MASK
        off = cp_offset[q]
        a = max(r0, lo)
        b = min(r0 + cp_offset[q + 1] - off, hi)
        if a >= b:
            continue
        val = cp_val[off + a - r0:off + b - r0]
        src = v[a + d:b + d]
        dst = acc[a:b]
        for i in range(np.uint64(b - a)):
            dst[i] += val[i] * src[i]


@njit(**_JIT)
def coupling_spans(n_neurons, cp_block, cp_offset, cp_val, mc_follow, mc_follow_lead):
    """``(span_lo, span_hi)``: per circuit, the circuits one step of its own depends on or
    that depend on it through the coupling (non-zero entries of ``P``) or a joined membrane,
    as a range ``[span_lo, span_hi)``; ``close_range`` takes their transitive closure."""
    span_lo = np.arange(n_neurons)
    span_hi = span_lo + 1
    if n_neurons == 0:
        return span_lo, span_hi
    for q in range(cp_block.shape[0] - 1):
        d = cp_block[q] >> CP_ROW_BITS
        r0 = cp_block[q] & CP_ROW_MASK
        off = cp_offset[q]
        for i in range(cp_offset[q + 1] - off):
            if cp_val[off + i] != 0.0:
                r = r0 + i
                span_lo[r] = min(span_lo[r], r + d)
                span_hi[r] = max(span_hi[r], r + d + 1)
                span_lo[r + d] = min(span_lo[r + d], r)
                span_hi[r + d] = max(span_hi[r + d], r + 1)
    for q in range(mc_follow.shape[0]):
        f = mc_follow[q]
        ld = mc_follow_lead[q]
        span_lo[ld] = min(span_lo[ld], f)
        span_hi[ld] = max(span_hi[ld], f + 1)
        span_lo[f] = min(span_lo[f], ld)
        span_hi[f] = max(span_hi[f], ld + 1)
    return span_lo, span_hi


@njit(**_JIT)
def close_range(act, span_lo, span_hi):
    """Widen the range ``[act[0], act[1])`` until it holds the whole span (``coupling_spans``)
    of every circuit in it: every logical neuron it touches, with all its circuits."""
    lo = act[0]
    hi = act[1]
    while lo < hi:
        new_lo = lo
        new_hi = hi
        for n in range(lo, hi):
            new_lo = min(new_lo, span_lo[n])
            new_hi = max(new_hi, span_hi[n])
        if new_lo == lo and new_hi == hi:
            break
        lo = new_lo
        hi = new_hi
    act[0] = lo
    act[1] = hi


@njit(**_JIT)
def bypass_spikes(s, m, sb_t, sb_in, sb_label, sb_neuron, sb_key, flags, spike_count, bypassed,
                  syn_ptr, syn_entry, drv_ptr, drv_list, drv, xb_en, xb_mask, xb_target):
    """Neuron bypass mode: every event of this step that reaches a synapse of non-zero weight
    on a circuit in bypass mode for the synapse's receptor makes that circuit spike at the
    event's time (once per step; its own spike may trigger another bypassed circuit in the
    same step). The spikes join the step's events ``sb_*`` (returns their new count) and the
    circuit's spike counter; the membrane is left to its input."""
    i = 0
    while i < m:
        label = sb_label[i]
        inp = sb_in[i]
        addr = label & 63
        rowsel = (label >> 6) & 31
        for o in range(8):  # crossbar outputs to the PADI buses
            if xb_en[inp, o] == 0 or (label & xb_mask[inp, o]) != xb_target[inp, o]:
                continue
            h = o // 4
            dk = (h * _BUSES + o % 4) * _ROW_SELECTS + rowsel
            for dq in range(drv_ptr[dk], drv_ptr[dk + 1]):
                d = drv_list[dq]
                sk = (h * _DRIVERS + d) * _ADDRESSES + addr
                for e in range(syn_ptr[sk], syn_ptr[sk + 1]):
                    ent = np.int64(syn_entry[e])
                    if (ent >> ENTRY_WEIGHT_SHIFT) & 63 == 0:
                        continue
                    nc = h * 256 + (ent & 255)
                    flag = F_BYPASS_E if (ent >> ENTRY_MODE_SHIFT) == 1 else F_BYPASS_I
                    if flags[flag, nc] == 0 or bypassed[nc] == s:
                        continue
                    bypassed[nc] = s
                    spike_count[nc] += 1
                    sb_t[m] = sb_t[i]
                    sb_in[m] = nc // 64
                    sb_label[m] = flags[F_LABEL, nc]
                    sb_neuron[m] = nc
                    sb_key[m] = 2 * 65536 + nc
                    m += 1
        i += 1
    return m


@njit(**_JIT)
def interior_spacing(v):
    """The distance from ``v`` to either neighbouring double where both are equally far (v
    finite, normal and not a power of two), else 0.0."""
    b = bits_of(v) & np.uint64(0x7FFFFFFFFFFFFFFF)
    exponent = b >> np.uint64(52)
    if exponent == 0 or exponent >= 0x7FE or (b & np.uint64(0xFFFFFFFFFFFFF)) == 0:
        return 0.0
    return float_of(b + np.uint64(1)) - float_of(b)


@njit(**_JIT)
def rest_probe(nstate, before, ref_end, ref_before, t0, coef, flags, quiet):
    """Which neurons one step (from ``before``/``ref_before`` to now, starting at ``t0``)
    left at rest: ``(lo, hi, decaying)``, ``[lo, hi)`` the range of those that are not at a
    fixed point (bit for bit unchanged, not refractory), and ``decaying`` whether each of
    these is at *decaying rest*: everything but its synaptic inputs unchanged, inputs so
    small that they moved nothing (``quiet``: no event arrived in the step), current-based.

    At decaying rest every later step, until an event arrives, only multiplies the inputs
    by their decay factors (in [0, 1]): with ``u`` the spacing of doubles at ``v`` (``v``
    not a power of two) and ``|i_exc K_E|, |i_inh K_I| < u/4`` in the probed step, the
    membrane's sum ``((S + i_exc K_E) - i_inh K_I)`` rounded to ``v`` forces ``S = v`` (S,
    its part without the inputs, a double within 3u/4 of v), and smaller inputs leave it
    there; ``w`` and the exponential term depend on ``v`` and ``w`` alone."""
    n_neurons = ref_end.shape[0]
    lo, hi = n_neurons, 0
    decaying = True
    for n in range(n_neurons):
        same_ref = ref_end[n] == ref_before[n] and t0 >= ref_end[n]
        rest = same_ref
        for row in range(N_STATE):
            rest = rest and bits_of(nstate[row, n]) == bits_of(before[row, n])
        if rest:
            continue
        lo = min(lo, n)
        hi = n + 1
        if not decaying:
            continue
        dec = (quiet and same_ref and flags[F_COBA_E, n] == 0 and flags[F_COBA_I, n] == 0
               and 0.0 <= coef[K_ES_E, n] <= 1.0 and 0.0 <= coef[K_ES_I, n] <= 1.0)
        for row in (S_V, S_W, S_EPREV):
            dec = dec and bits_of(nstate[row, n]) == bits_of(before[row, n])
        if dec:
            u = interior_spacing(nstate[S_V, n])
            dec = (u > 0.0 and abs(before[S_IE, n] * coef[K_KE, n]) < 0.25 * u
                   and abs(before[S_II, n] * coef[K_KI, n]) < 0.25 * u)
        decaying = dec
    if lo >= hi:
        return 0, 0, False
    return lo, hi, decaying


@njit(**_JIT)
def decay_inputs(nstate, coef, lo, hi, n_steps):
    """``n_steps`` steps of neurons ``[lo, hi)`` at decaying rest (``rest_probe``): their
    synaptic inputs times their decay factors, step by step (the same products as the full
    update), stopping early once all are zero."""
    ulo = np.uint64(lo)
    uhi = np.uint64(hi)
    for j in range(n_steps):
        for n in range(ulo, uhi):
            nstate[S_IE, n] = nstate[S_IE, n] * coef[K_ES_E, n]
            nstate[S_II, n] = nstate[S_II, n] * coef[K_ES_I, n]
        if j % 64 == 63:
            live = False
            for n in range(ulo, uhi):
                live = live or nstate[S_IE, n] != 0.0 or nstate[S_II, n] != 0.0
            if not live:  # (a zero stays zero)
                return


# rows of the scratch arrays of ``integrate_steps`` (``window_scratch``)
SB_T, SB_IN, SB_LABEL, SB_NEURON, SB_KEY, SB_ORDER = range(6)
FS_I_DC, FS_ARG, FS_EX, FS_V_NEW, FS_V_ACC, FS_CX, FS_CEX, FS_CW = range(8)
BS_SPECIAL = 0
IS_COBA, IS_BYPASSED, IS_CT, IS_CROW, IS_MISC = range(5)


@njit(**_JIT)
def window_buffer_cap(n_ev, h_ns, n_neurons):
    """The most events one step of a window with ``n_ev`` input events can hold (a neuron
    spikes at most once per step at threshold and once in bypass mode)."""
    return n_ev + 8 * (h_ns // 4 + 1) + 2 * n_neurons


@njit(**_JIT)
def window_scratch(n_neurons, buf_cap):
    """Scratch arrays for ``integrate_steps``: ``(sbuf, fbuf, bbuf, ibuf)`` — the
    step's events (rows ``SB_*``, ``buf_cap`` columns) and per-neuron temporaries (rows
    ``FS_*``, ``BS_*``, ``IS_*``). Their contents on entry do not matter: one set serves
    every chip of a host and every window (no allocation per call, and the set stays in
    cache while the host steps its chips in turn)."""
    row = neuron_row_length(n_neurons)
    wide = max(row, _COLUMNS + 8)  # rows a column's causal walk uses too (FS_CX, IS_CROW, ...)
    return (np.empty((6, buf_cap), np.int64), np.empty((8, wide)), np.empty((1, row), np.bool_),
            np.empty((5, wide), np.int64))


ACAUSAL_BATCH = 2048
"""Acausal sensor updates gathered (in delivery order) before they are added: one SIMD
``exp`` and one pass of additions per batch instead of per event."""
_KEY_SYNAPSES_MAX = 2 * _COLUMNS  # the synapses one (driver, address) reaches: its two rows


@njit(inline="always", **_JIT)
def mark_sensed(sensed, at):
    """Mark synapse ``at`` (flat ``[hemisphere, row, column]``) as one whose sensors were added
    to: bit ``at & 63`` of ``sensed[at >> 6]`` (``ppu_passes.stdp_sweep_listed`` takes the marks
    off). Unconditional: a mark that depended on the sensor's value would wait for its load."""
    sensed[at >> 6] |= np.uint64(1) << np.uint64(at & 63)


@njit(**_JIT)
def add_acausal(acausal, ac_at, ac_dt, ac_x, ac_ex, n, tau_corr_ns, sensed):
    """Add the first ``n`` gathered acausal updates, in their order: ``acausal[at] +=
    exp(-dt/τ)`` for ``at = ac_at[q]`` (flat ``[hemisphere, row, column]``) and ``dt =
    ac_dt[q]`` (ns from the post spike to the pre spike), ``exp`` as SIMD (libm's bits;
    ``ac_x``, ``ac_ex`` scratch); each synapse ``mark_sensed``."""
    for q in range(n):
        ac_x[q] = -ac_dt[q] / tau_corr_ns
    exp_array(ac_x, ac_ex, 0, n)
    for q in range(n):
        x = ac_x[q]
        e = ac_ex[q] if in_fast_range(x) else np.exp(x)
        at = ac_at[q]
        acausal[at >> 16, (at >> 8) & 255, at & 255] += e
        mark_sensed(sensed, at)


@njit(**_JIT)
def integrate_window(
    k0, n_steps, h_ns, coef, flags, nstate, ref_end, spike_count,
    syn_ptr, syn_entry, drv_ptr, drv_list, drv, stp_u_param, stp_tau_ns, set_scale,
    stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target,
    bg, bg_next_ns, bg_rng,
    ev_t, ev_in, ev_label,
    corr_on, tau_corr_ns, t_row, t_own, own_count, addr_col, t_post, causal, acausal, sensed_bits,
    madc_neuron, madc_row, madc_every, madc_t, madc_x,
    cadc_period_ns, cadc_t, cadc_v,
    out_t, out_label, out_neuron,
    syn_target, mc_follow, mc_follow_lead, cp_rows, cp_block, cp_offset, cp_val,
    psp_tab, psp_ok, psp_class,
):
    """Integrate steps ``k0 .. k0+n_steps-1`` of one chip: ``integrate_steps`` with scratch
    of its own (``window_scratch``). Returns ``(steps_done, n_out, n_madc, n_cadc, n_syn)``."""
    n_neurons = ref_end.shape[0]
    sbuf, fbuf, bbuf, ibuf = window_scratch(n_neurons, window_buffer_cap(ev_t.shape[0], h_ns, n_neurons))
    return integrate_steps(
        k0, n_steps, h_ns, coef, flags, np.empty(0, np.int64), nstate, ref_end, spike_count,
        syn_ptr, syn_entry, drv_ptr, drv_list, drv, stp_u_param, stp_tau_ns, set_scale,
        stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target, bg, bg_next_ns, bg_rng, ev_t, ev_in, ev_label,
        corr_on, tau_corr_ns, t_row, t_own, own_count, addr_col, t_post, causal, acausal, sensed_bits, madc_neuron, madc_row, madc_every, madc_t, madc_x,
        cadc_period_ns, cadc_t, cadc_v, out_t, out_label, out_neuron,
        syn_target, mc_follow, mc_follow_lead, cp_rows, cp_block, cp_offset, cp_val, psp_tab, psp_ok, psp_class,
        sbuf, fbuf, bbuf, ibuf)


@njit(inline="always", **_JIT)
def stp_efficacy(h, d, t_ns, drv, stp_u_param, stp_tau_ns, set_scale, stp_last, stp_r, stp_u):
    """The efficacy of driver ``(h, d)``'s short-term plasticity (Tsodyks–Markram, the module's
    formulas) for an event at ``t_ns``, its state updated."""
    big_u = stp_u_param[h, d]
    last = stp_last[h, d]
    decay = 0.0 if last < 0 else np.exp(-(t_ns - last) / stp_tau_ns[h, d])
    stp_last[h, d] = t_ns
    if drv[D_STP_MODE, h, d] == 0:  # depression
        r_before = 1.0 - (1.0 - stp_r[h, d]) * decay
        eff = big_u * r_before
        stp_r[h, d] = r_before * (1.0 - big_u)
    else:  # facilitation
        u_before = stp_u[h, d] * decay
        eff = u_before + big_u * (1.0 - u_before)
        stp_u[h, d] = eff
    return eff * set_scale[h, drv[D_SET, h, d]] / 511.0


EVENT_KEYS_MAX = 2 * _DRIVERS
"""The (driver, address) keys one event can reach: every driver of both hemispheres once
(an event reaches each PADI bus once, and a driver listens to one bus)."""


@njit(inline="always", **_JIT)
def event_keys(inp, label, t_ns, nk, k_lo, k_hi, k_eff, xb_en, xb_mask, xb_target, drv_ptr, drv_list, drv,
               stp_u_param, stp_tau_ns, set_scale, stp_last, stp_r, stp_u, syn_ptr):
    """The keys an event (crossbar input ``inp``, ``label``, at ``t_ns``) reaches through the
    crossbar, the PADI buses and the drivers its row-select bits select, appended from
    ``nk`` on: the table entries ``[k_lo & ENTRY_SPAN_MASK, k_hi)`` of hemisphere ``k_lo >>
    ENTRY_SPAN_SHIFT`` with the driver's efficacy ``k_eff`` (its short-term plasticity
    updated, in the order the drivers are reached). Returns ``(nk, to_fpga)``: the keys now
    gathered (at most ``EVENT_KEYS_MAX`` more), and whether the event goes to the FPGA too."""
    to_fpga = False
    addr = label & 63
    rowsel = (label >> 6) & 31
    for o in range(12):  # crossbar
        if xb_en[inp, o] == 0 or (label & xb_mask[inp, o]) != xb_target[inp, o]:
            continue
        if o >= 8:
            to_fpga = True
            continue
        h = o // 4
        dk = (h * _BUSES + o % 4) * _ROW_SELECTS + rowsel
        for dq in range(drv_ptr[dk], drv_ptr[dk + 1]):  # drivers on the PADI bus
            d = drv_list[dq]
            eff = 1.0
            if drv[D_STP, h, d] != 0:
                eff = stp_efficacy(h, d, t_ns, drv, stp_u_param, stp_tau_ns, set_scale, stp_last, stp_r, stp_u)
            sk = (h * _DRIVERS + d) * _ADDRESSES + addr
            k_lo[nk] = syn_ptr[sk] | (h << ENTRY_SPAN_SHIFT)
            k_hi[nk] = syn_ptr[sk + 1]
            k_eff[nk] = eff
            nk += 1
    return nk, to_fpga


@njit(inline="always", **_JIT)
def deliver_keys(nk, k_lo, k_hi, k_q, k_eff, order, sb_t, t1, syn_entry, coef, nstate, ref_end, psp_tab, psp_ok,
                 lohi):
    """The synapse loop of a plain chip (``integrate_steps``: no structure, no sensors, the
    table lookup, one class, no conductance-based input) over the (driver, address) keys
    gathered from a step's events, in their order: key ``kq`` of event ``order[k_q[kq]]``
    reaches the table entries ``[k_lo[kq] & ENTRY_SPAN_MASK, k_hi[kq])`` of hemisphere
    ``k_lo[kq] >> ENTRY_SPAN_SHIFT`` with the efficacy ``k_eff[kq]``. Widens ``lohi`` (the
    lowest and highest membrane reached) and returns how many synapses of non-zero weight
    the events reached."""
    q_at = -1
    t_ns = 0
    pk_e = pk_i = -1  # the psp_table row of the event (and its decay and response at t1 - t_ns) looked up
    es_e = resp_e = es_i = resp_i = 0.0
    lo_n = lohi[0]
    hi_n = lohi[1]
    n_w = 0
    for kq in range(nk):
        if k_q[kq] != q_at:
            q_at = k_q[kq]
            t_ns = sb_t[order[q_at]]
            pk_e = pk_i = -1
        eff = k_eff[kq]
        h_first = (k_lo[kq] >> ENTRY_SPAN_SHIFT) * _COLUMNS
        # (unsigned indices: a signed one is checked for wrap-around at every access)
        for e in range(np.uint64(k_lo[kq] & ENTRY_SPAN_MASK), np.uint64(k_hi[kq])):
            ent = np.int64(syn_entry[e])
            wgt = (ent >> ENTRY_WEIGHT_SHIFT) & 63
            n = h_first + (ent & 255)
            un = np.uint64(n)
            lo_n = min(lo_n, n)
            hi_n = max(hi_n, n)
            n_w += wgt > 0
            if wgt > 0:
                if (ent >> ENTRY_MODE_SHIFT) == 1:
                    i0 = wgt * eff * coef[K_GAIN_E, un]
                    if pk_e != 0:
                        if psp_ok[0, 0] == 0:
                            fill_psp_row(psp_tab, psp_ok, 0, 0, coef[K_TAU_E_NS, n], coef[K_RDIFF_E_NS, n],
                                         coef[K_PSP_E, n])
                        es_e = psp_tab[0, 0, t1 - t_ns, 0]
                        resp_e = psp_tab[0, 0, t1 - t_ns, 1]
                        pk_e = 0
                    nstate[S_IE, un] += i0 * es_e
                    if t_ns >= ref_end[un]:
                        nstate[S_V, un] += i0 * resp_e
                else:
                    i0 = wgt * eff * coef[K_GAIN_I, un]
                    if pk_i != 0:
                        if psp_ok[1, 0] == 0:
                            fill_psp_row(psp_tab, psp_ok, 1, 0, coef[K_TAU_I_NS, n], coef[K_RDIFF_I_NS, n],
                                         coef[K_PSP_I, n])
                        es_i = psp_tab[1, 0, t1 - t_ns, 0]
                        resp_i = psp_tab[1, 0, t1 - t_ns, 1]
                        pk_i = 0
                    nstate[S_II, un] += i0 * es_i
                    if t_ns >= ref_end[un]:
                        nstate[S_V, un] -= i0 * resp_i
    lohi[0] = lo_n
    lohi[1] = hi_n
    return n_w


# ``integrate_steps`` is one function on purpose: a call numba does not inline passes each
# array as its ~9 words and counts references to it — per chip and window its own call costs
# ~0.4 µs (host_kernel) — so its per-step and per-event code is written out here, in the order
# of the module docstring, with helpers numba inlines (``inline="always"``: ``stp_efficacy``,
# ``event_keys``, ``deliver_keys``, measured no slower than written out).
@njit(**_JIT)
def integrate_steps(
    k0, n_steps, h_ns, coef, flags, kinds, nstate, ref_end, spike_count,
    syn_ptr, syn_entry, drv_ptr, drv_list, drv, stp_u_param, stp_tau_ns, set_scale,
    stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target,
    bg, bg_next_ns, bg_rng,
    ev_t, ev_in, ev_label,
    corr_on, tau_corr_ns, t_row, t_own, own_count, addr_col, t_post, causal, acausal, sensed_bits,
    madc_neuron, madc_row, madc_every, madc_t, madc_x,
    cadc_period_ns, cadc_t, cadc_v,
    out_t, out_label, out_neuron,
    syn_target, mc_follow, mc_follow_lead, cp_rows, cp_block, cp_offset, cp_val,
    psp_tab, psp_ok, psp_class,
    sbuf, fbuf, bbuf, ibuf,
):
    """Integrate steps ``k0 .. k0+n_steps-1`` of one chip.

    ``ev_*`` are the window's input events sorted by time (ns), on crossbar inputs
    ``ev_in``. ``syn_ptr`` and ``syn_entry`` are ``synapse_table``'s (weights included), ``kinds``
    the neurons as ``count_neuron_kinds`` counts them (empty: counted here), and ``drv_*`` is
    ``driver_table`` of the chip's configuration. Records go into the preallocated
    ``madc_*``, ``cadc_*`` and ``out_*`` buffers; the MADC records ``nstate[madc_row[ch],
    madc_neuron[ch]]`` as it is (the caller digitises it, ``madc.madc_columns``), channel
    ``ch`` alternating when ``madc_neuron[1]`` ≥ 0 (``madc_neuron``/``madc_row``: 2 entries,
    -1: off; ``protocol.hardware.ReadoutConfig``). Stops
    early, at a step boundary, when ``out_*`` could overflow. The last arguments describe
    structured neurons (``structure.Structure``; ``structure.point_structure()`` for none):
    ``syn_target[n]`` is the circuit whose membrane circuit ``n``'s synapses feed (read only
    on a chip with structure: without followers every circuit feeds its own), followers
    take their lead's membrane, and ``cp_*`` is the half-step coupling propagator; ``psp_tab``,
    ``psp_ok``, ``psp_class``: the chip's ``psp_table`` (filled as events arrive; ``psp_class``
    read only with more than one class);
    ``sbuf`` … ``ibuf``: ``window_scratch`` for at least ``window_buffer_cap`` events.
    The correlation sensors (``corr_on``): ``t_row``, ``t_own``, ``own_count``, ``addr_col``
    are the synapses' last pre times (``pre_times.PreTimes``), ``t_post`` the neurons' last
    spike times (ns), ``causal`` and ``acausal`` are ``[hemisphere, row, column]``;
    ``sensed_bits``: a bitmap (uint64 words) of the synapses whose sensors were added to
    (``mark_sensed``).
    The neurons are those of ``ref_end``; the rows of ``coef``, ``flags``, ``nstate`` and the
    scratch may be longer (``neuron_row_length``: ``Chip`` pads them), the rest unused.
    Returns ``(steps_done, n_out, n_madc, n_cadc, n_syn)``; ``n_syn`` counts synaptic
    events: an event reaching a synapse of non-zero weight."""
    n_neurons = ref_end.shape[0]
    if fbuf.shape[0] < 8 or ibuf.shape[0] < 5 or min(fbuf.shape[1], ibuf.shape[1]) < max(n_neurons, _COLUMNS + 1):
        raise ValueError("integrate_steps: scratch smaller than window_scratch makes it")
    n_ev = ev_t.shape[0]
    cap_out = out_t.shape[0]
    bg_per_step = 8 * (h_ns // 4 + 1)
    # per-window neuron data (coef and flags may change between windows; a host counts them
    # per call of its window loop: ``kinds``)
    n_exp_on, coba, any_bypass = neuron_lists_into(n_neurons, coef, flags, ibuf, kinds)
    # a neuron spikes at most once per step at threshold and once in bypass mode
    buf_cap = n_ev + bg_per_step + n_neurons * (2 if any_bypass else 1)
    bypassed = ibuf[IS_BYPASSED, :n_neurons if any_bypass else 0]  # the step of a neuron's bypass spike
    bypassed[:] = -1
    sb_t = sbuf[SB_T]
    sb_in = sbuf[SB_IN]
    sb_label = sbuf[SB_LABEL]
    sb_neuron = sbuf[SB_NEURON]
    sb_key = sbuf[SB_KEY]
    order = sbuf[SB_ORDER]
    i_dc = fbuf[FS_I_DC]
    arg = fbuf[FS_ARG]
    ex = fbuf[FS_EX]
    special = bbuf[BS_SPECIAL]
    v_new = fbuf[FS_V_NEW]
    mc_on = mc_follow.shape[0] > 0 or cp_rows.shape[0] > 0
    n_coba = coba.shape[0]
    psp_tab_on = psp_tab.shape[2] > h_ns
    psp_classes = psp_tab.shape[1]  # (one: every neuron in class 0)
    # the chip most networks make (no structure, sensors off, table lookup, one class, no
    # conductance-based neuron) takes a synapse loop of its own, without the branches for others
    plain = not mc_on and not corr_on and psp_tab_on and psp_classes == 1 and n_coba == 0
    v_acc = fbuf[FS_V_ACC, :n_neurons if mc_on else 0]
    # correlation sensors: a column's causal arguments and exps (scratch rows: no allocation
    # per call); an event's acausal updates (an event reaches a synapse at most once, so at
    # most every entry of the table), allocated only where the sensors are on
    c_t = ibuf[IS_CT, :256]
    c_row = ibuf[IS_CROW, :257]  # (+1: the branch-free compaction writes one past the last)
    c_w = fbuf[FS_CW, :256]
    cx = fbuf[FS_CX, :256]
    cex = fbuf[FS_CEX, :256]
    n_acb = ACAUSAL_BATCH if corr_on else 0
    misc = ibuf[IS_MISC]
    # the (driver, address) keys gathered (``event_keys``): a plain chip's of a whole step
    # (``deliver_keys``), another's of one event at a time — in rows used only between events
    # (the causal walk's), and the conductance-based list's (empty on a plain chip)
    k_lo = ibuf[IS_CT]
    k_hi = ibuf[IS_CROW]
    k_q = ibuf[IS_COBA]
    k_eff = fbuf[FS_CX]
    n_keys = min(k_lo.shape[0], k_eff.shape[0])
    lohi = misc[3:5]
    ac_at = ac_dt = misc[:0]  # (empty views of the scratch: no allocation per call without sensors)
    ac_x = ac_ex = cx[:0]
    if corr_on:
        ac_i = np.empty((2, n_acb), np.int64)
        ac_at = ac_i[0]
        ac_dt = ac_i[1]
        ac_f = np.empty((2, n_acb))
        ac_x = ac_f[0]
        ac_ex = ac_f[1]
    n_ac = 0
    any_bg = False
    for g in range(8):
        if bg[B_ENABLE, g] != 0:
            any_bg = True
    ei = 0
    n_out = 0
    n_madc = 0
    n_cadc = 0
    n_syn = misc[0:1]  # in memory: as a local it slowed the whole loop by 7 %
    n_syn[0] = 0
    # neurons at rest skip their updates: after a long call's first step, the neurons whose
    # state came out bit for bit as it went in (not refractory, no spike, no input) are at a
    # fixed point of the step — which does not depend on time outside refractoriness — so
    # every later step leaves them as they are until an event reaches them. The rest form
    # the range [lo, hi) that the neuron update runs over (contiguous: still SIMD); an event
    # for a neuron outside widens it. With structured neurons the range holds whole logical
    # neurons (``close_range``): a compartment is at rest only where all of its neuron are.
    act = misc[1:3]  # lo, hi; in memory, as n_syn
    act[0] = 0
    act[1] = n_neurons
    # The look repeats every REST_PROBE_EVERY steps while some neurons are not at rest;
    # when all that are not are at decaying rest (``rest_probe``), a step updates only their
    # synaptic inputs, and without readouts, background generators or events due, the call
    # jumps to the next input event (``decay_inputs``): the same bits as stepping.
    probe = n_steps > REST_PROBE_MIN_STEPS
    next_probe = 1 if probe else n_steps + 1
    decaying = False  # the neurons in [lo, hi) are at decaying rest
    quiet = True  # no event since the probe's snapshot
    can_jump = not any_bg and madc_neuron[0] < 0 and cadc_period_ns <= 0
    skip_to = 0
    if probe:
        before = nstate.copy()
        ref_before = ref_end.copy()
    span_lo = span_hi = misc[:0]  # (read only where both hold)
    if probe and mc_on:
        span_lo, span_hi = coupling_spans(n_neurons, cp_block, cp_offset, cp_val, mc_follow, mc_follow_lead)
    for s in range(n_steps):
        if s < skip_to:
            continue
        if n_out + buf_cap > cap_out:
            if n_ac:
                add_acausal(acausal, ac_at, ac_dt, ac_x, ac_ex, n_ac, tau_corr_ns, sensed_bits)
            return s, n_out, n_madc, n_cadc, n_syn[0]
        k = k0 + s
        t0 = k * h_ns
        t1 = t0 + h_ns
        if s == next_probe:
            # (coupled membranes: no decaying rest, the coupling's sums are not the point update's)
            # the probed step is the one before this: it started at t0 - h_ns (a neuron released
            # at t0 was clamped through it, unchanged but not at rest)
            act[0], act[1], decaying = rest_probe(nstate, before, ref_end, ref_before, t0 - h_ns, coef, flags,
                                                  quiet and not mc_on)
            if mc_on:
                close_range(act, span_lo, span_hi)
            if act[1] > act[0] and not decaying:
                next_probe = s + REST_PROBE_EVERY
        if probe and s == next_probe - 1:
            before[:, :] = nstate
            ref_before[:] = ref_end
            quiet = True
        lo = act[0]
        hi = act[1]
        if can_jump and (decaying or lo >= hi) and (ei >= n_ev or ev_t[ei] >= t1):
            # nothing due before the step of the next input event: go there
            target = n_steps if ei >= n_ev else min(n_steps, ev_t[ei] // h_ns - k0)
            if target > s + 1:
                if decaying:
                    decay_inputs(nstate, coef, lo, hi, target - s)
                if next_probe > s:  # a look was due in between: after the jump instead
                    next_probe = target + REST_PROBE_EVERY
                skip_to = target
                continue
        # the SIMD loops index with unsigned integers: a signed index that the compiler cannot
        # prove non-negative is checked for wrap-around, and such loops do not vectorise
        ulo = np.uint64(lo)
        uhi = np.uint64(hi)
        if mc_on:  # circuits joined to a lead's membrane show it
            for q in range(mc_follow.shape[0]):
                nstate[S_V, mc_follow[q]] = nstate[S_V, mc_follow_lead[q]]
        # --- readouts see the state at the start of the step ---------------------------
        if madc_neuron[0] >= 0 and k % madc_every == 0:
            # two channels alternate sample by sample: the sample's index in the run picks one
            ch = (k // madc_every) % 2 if madc_neuron[1] >= 0 else 0
            madc_t[n_madc] = t0
            madc_x[n_madc] = nstate[madc_row[ch], madc_neuron[ch]]
            n_madc += 1
        if cadc_period_ns > 0 and (t0 // cadc_period_ns) != ((t0 - 1) // cadc_period_ns):
            cadc_t[n_cadc] = t0
            for n in range(n_neurons):
                cadc_v[n_cadc, n] = adc_code(nstate[S_V, n], 8)
            n_cadc += 1
        m = 0
        # --- external events of this step ------------------------------------------------
        while ei < n_ev and ev_t[ei] < t1:
            sb_t[m] = ev_t[ei]
            sb_in[m] = ev_in[ei]
            sb_label[m] = ev_label[ei]
            sb_neuron[m] = -1
            sb_key[m] = ev_label[ei]
            m += 1
            ei += 1
        # --- background generators -------------------------------------------------------
        if any_bg:
            for g in range(8):
                if bg[B_ENABLE, g] == 0:
                    continue
                while bg_next_ns[g] < t1 and bg_next_ns[g] < bg[B_STOP_NS, g]:
                    tg = bg_next_ns[g]
                    bg_next_ns[g] += 4 * bg[B_PERIOD, g]
                    emit = True
                    if bg[B_MODE, g] == 1:
                        bg_rng[g] = xorshift32(bg_rng[g])
                        emit = (bg_rng[g] & 0xFF) < bg[B_RATE, g]
                    if emit:
                        lab = bg[B_LABEL, g]
                        if bg[B_MASK, g] != 0:
                            bg_rng[g] = xorshift32(bg_rng[g])
                            lab = (lab & ~bg[B_MASK, g]) | (bg_rng[g] & bg[B_MASK, g])
                        sb_t[m] = tg
                        sb_in[m] = 12 + g
                        sb_label[m] = lab & 0xFFFF
                        sb_neuron[m] = -1
                        sb_key[m] = 65536 + g
                        m += 1
        if m > 0:  # events change inputs: no more decaying rest after this step
            decaying = False
        elif decaying:  # nothing but the inputs' decay this step
            for n in range(ulo, uhi):
                nstate[S_IE, n] = nstate[S_IE, n] * coef[K_ES_E, n]
                nstate[S_II, n] = nstate[S_II, n] * coef[K_ES_I, n]
            continue
        # --- structured neurons: half a step of coupling between compartments -----------
        if mc_on:
            couple_half_step(nstate[S_V], cp_block, cp_offset, cp_val, v_acc, lo, hi)
        # --- neurons, formula by formula over all of them (SIMD) ------------------------
        # constant input minus adaptation, plus the exponential term where it is on
        # (second order: w as the mean of its values at the step's start and end — the end
        # depends on the start voltage only — and the exponential term extrapolated to the
        # step's middle from this and the last step's start, Adams–Bashforth 2, unless the
        # membrane was reset in between)
        n_slow = 0  # arguments exp_array leaves to libm, where the term is on (counted here: no pass of its own)
        for n in range(ulo, uhi):
            w_inf = coef[K_A, n] * (nstate[S_V, n] - coef[K_EL, n])
            w_end = w_inf + (nstate[S_W, n] - w_inf) * coef[K_EW, n]
            i_dc[n] = coef[K_ICONST, n] - 0.5 * (nstate[S_W, n] + w_end)
            nstate[S_W, n] = w_end
            dt = coef[K_DT, n]
            a = (nstate[S_V, n] - coef[K_VT, n]) / dt  # used where Δ_T > 0 only
            if a > EXP_ARG_MAX:
                a = EXP_ARG_MAX
            arg[n] = a
            n_slow += (dt > 0.0) & (not in_fast_range(a))
        if n_exp_on > 0 and hi > lo:
            # libm's exp, bit for bit, as SIMD over all neurons; libm itself for arguments
            # outside its fast range (rare: a membrane 512 Δ_T below V_T)
            exp_array(arg, ex, ulo, uhi)
            if n_slow:
                for n in range(lo, hi):
                    if coef[K_DT, n] > 0.0 and not in_fast_range(arg[n]):
                        ex[n] = np.exp(arg[n])
            # where the term is on (Δ_T > 0) and the neuron not refractory: the term,
            # extrapolated (AB2, where e^(-h/τ_m) > AB2_MIN_DECAY) unless restarted; the
            # branches as selects and the masks from the coefficients themselves, so that
            # this loop is SIMD as well (with the masks in arrays of bools it stayed scalar)
            for n in range(ulo, uhi):
                dt = coef[K_DT, n]
                on = dt > 0.0
                e = (coef[K_GL, n] * dt) * ex[n]
                e_prev = nstate[S_EPREV, n]
                e2 = e + 0.5 * (e - e_prev)
                e2 = 0.0 if e2 < 0.0 else e2
                add = e2 if (e_prev >= 0.0) & (coef[K_EM, n] > AB2_MIN_DECAY) else e
                free = on & (t0 >= ref_end[n])
                i_dc[n] = i_dc[n] + add if free else i_dc[n]
                nstate[S_EPREV, n] = e if free else (-1.0 if on else e_prev)
        # membrane with current-based inputs (exact convolution) for all; the neurons with
        # a conductance-based input overwrite theirs (effective leak from step averages)
        for n in range(ulo, uhi):
            e_l = coef[K_EL, n]
            v_new[n] = (e_l + (nstate[S_V, n] - e_l) * coef[K_EM, n] + i_dc[n] * coef[K_LSCALE, n]
                        + nstate[S_IE, n] * coef[K_KE, n] - nstate[S_II, n] * coef[K_KI, n])
        for q in range(coba.shape[0]):
            n = coba[q]
            if t0 < ref_end[n] or n < lo or n >= hi:
                continue  # held at reset below
            v = nstate[S_V, n]
            ie = nstate[S_IE, n]
            ii = nstate[S_II, n]
            g_tot = coef[K_GL, n]
            drive = coef[K_GL, n] * coef[K_EL, n] + i_dc[n]
            if flags[F_COBA_E, n] != 0:
                ge = ie * coef[K_AVG_E, n]
                g_tot += ge
                drive += ge * coef[K_EEXC, n]
            else:
                drive += ie * coef[K_AVG_E, n]
            if flags[F_COBA_I, n] != 0:
                gi = ii * coef[K_AVG_I, n]
                g_tot += gi
                drive += gi * coef[K_EINH, n]
            else:
                drive -= ii * coef[K_AVG_I, n]
            if g_tot > 0.0:
                # relaxation towards drive/g_tot written without forming drive/g_tot, which
                # loses all precision when g_tot is tiny (a decayed conductance, no leak)
                v_new[n] = v + (drive - g_tot * v) * (-np.expm1(-g_tot * coef[K_H_OVER_C, n])) / g_tot
            else:
                v_new[n] = v + drive * coef[K_H_OVER_C, n]
        if mc_on:  # the second half step of coupling; a compartment held at reset stays there
            # (v_new of a refractory neuron is read by nothing else: all of them, SIMD)
            for n in range(ulo, uhi):
                v_new[n] = coef[K_VRESET, n] if t0 < ref_end[n] else v_new[n]
            couple_half_step(v_new, cp_block, cp_offset, cp_val, v_acc, lo, hi)
        # the synaptic inputs' decay (w was updated above: exact exponential relaxation
        # towards a (v - E_L) at the step's starting voltage), and the new membrane of every
        # neuron that is neither refractory nor at threshold (SIMD), V_reset for those held
        # there through the step; the others ("special": released in the step or at
        # threshold) keep the start's below
        for n in range(ulo, uhi):
            nstate[S_IE, n] = nstate[S_IE, n] * coef[K_ES_E, n]
            nstate[S_II, n] = nstate[S_II, n] * coef[K_ES_I, n]
            v = nstate[S_V, n]
            vn = v_new[n]
            v_th = coef[K_VTH, n]
            ref = t0 < ref_end[n]
            held = ref & (ref_end[n] >= t1)  # refractory through the step: at reset, here
            sp = ref | ((flags[F_FIRE, n] != 0) & ((vn >= v_th) | (v >= v_th)))
            special[n] = sp & (not held)
            nstate[S_V, n] = coef[K_VRESET, n] if held else (v if sp else vn)
        # threshold (spike time interpolated in the step), reset, refractoriness: the
        # membrane is free again from ref_end on, also inside a step (after_release; S_EPREV
        # is -1 then: set at the spike and, for the exponential term, while refractory); a
        # membrane already at threshold at the step's start (carried there by an event's
        # response or a release in the last step) fires at the start, even if it falls back
        # during the step
        # (8 flags at a time: most neurons are not special, and most words are zero)
        special_words = special.view(np.uint64)
        for wi in range(lo // 8, (hi + 7) // 8):
            if special_words[wi] == 0:
                continue
            for n in range(max(lo, 8 * wi), min(hi, 8 * wi + 8)):
                if not special[n]:
                    continue
                if t0 < ref_end[n]:  # released inside this step (held ones are at reset above)
                    nstate[S_V, n] = after_release(n, coef[K_VRESET, n], (t1 - ref_end[n]) / 1000.0,
                                                   coef, flags, nstate)
                    continue
                v = nstate[S_V, n]
                vn = v_new[n]
                v_th = coef[K_VTH, n]
                if flags[F_FIRE, n] != 0 and (vn >= v_th or v >= v_th):
                    frac = 0.0
                    if v < v_th:
                        frac = (v_th - v) / (vn - v)
                    # to the nearest ns: the reset acts at ts, so a truncation would shorten
                    # every interval by half a ns on average
                    ts = t0 + int(frac * h_ns + 0.5)
                    if ts >= t1:
                        ts = t1 - 1
                    vn = coef[K_VRESET, n]
                    ref_end[n] = ts + flags[F_TAU_REF_NS, n]
                    nstate[S_W, n] += coef[K_B, n]
                    nstate[S_EPREV, n] = -1.0
                    if ref_end[n] < t1:  # refractory time over inside this step
                        vn = after_release(n, vn, (t1 - ref_end[n]) / 1000.0, coef, flags, nstate)
                    spike_count[n] += 1
                    sb_t[m] = ts
                    sb_in[m] = n // 64
                    sb_label[m] = flags[F_LABEL, n]
                    sb_neuron[m] = n
                    sb_key[m] = 2 * 65536 + n
                    m += 1
                nstate[S_V, n] = vn
        if any_bypass:
            m = bypass_spikes(s, m, sb_t, sb_in, sb_label, sb_neuron, sb_key, flags, spike_count, bypassed,
                              syn_ptr, syn_entry, drv_ptr, drv_list, drv, xb_en, xb_mask, xb_target)
        if m == 0:
            continue
        quiet = False  # (the inputs the rest probe saw have changed: look again later)
        if probe and next_probe <= s:
            next_probe = s + REST_PROBE_EVERY
        # --- total order of the step's events: time, then source key (stable sort) -------
        for i in range(m):
            sb_key[i] = (sb_t[i] - t0) * 262144 + sb_key[i]
        if m > SORT_INSERTION_MAX:
            order[:m] = np.argsort(sb_key[:m], kind="mergesort")
        else:
            for i in range(m):
                key = sb_key[i]
                j = i - 1
                while j >= 0 and sb_key[order[j]] > key:
                    order[j + 1] = order[j]
                    j -= 1
                order[j + 1] = i
        # --- delivery at the step's end ----------------------------------------------------
        if plain:
            # the (driver, address) keys of all the step's events first, then their synapses
            # (``deliver_keys``; the same additions, in the same order)
            lohi[0] = n_neurons
            lohi[1] = -1
            nk = 0
            for q in range(m):
                i = order[q]
                if nk > n_keys - EVENT_KEYS_MAX:  # (no room for all of this event's keys)
                    n_syn[0] += deliver_keys(nk, k_lo, k_hi, k_q, k_eff, order, sb_t, t1, syn_entry, coef, nstate,
                                             ref_end, psp_tab, psp_ok, lohi)
                    nk = 0
                t_ns = sb_t[i]
                label = sb_label[i]
                nk0 = nk
                nk, to_fpga = event_keys(sb_in[i], label, t_ns, nk, k_lo, k_hi, k_eff, xb_en, xb_mask, xb_target,
                                         drv_ptr, drv_list, drv, stp_u_param, stp_tau_ns, set_scale, stp_last,
                                         stp_r, stp_u, syn_ptr)
                k_q[nk0:nk] = q
                if to_fpga:
                    out_t[n_out] = t_ns
                    out_label[n_out] = label
                    out_neuron[n_out] = sb_neuron[i]
                    n_out += 1
            n_syn[0] += deliver_keys(nk, k_lo, k_hi, k_q, k_eff, order, sb_t, t1, syn_entry, coef, nstate,
                                     ref_end, psp_tab, psp_ok, lohi)
            if lohi[1] >= 0 and (lohi[0] < act[0] or lohi[1] >= act[1]):  # neurons at rest: update them again
                # (the range that holds those of all events, one after another, is the one that
                # holds all of them at once: nothing reads it before the next step)
                if act[0] >= act[1]:
                    act[0] = lohi[0]
                    act[1] = lohi[1] + 1
                else:
                    act[0] = min(act[0], lohi[0])
                    act[1] = max(act[1], lohi[1] + 1)
            continue
        for q in range(m):
            i = order[q]
            t_ns = sb_t[i]
            inp = sb_in[i]
            label = sb_label[i]
            neuron = sb_neuron[i]
            if neuron >= 0 and corr_on:  # causal sensors of the sender's column
                hn = neuron // 256
                cn = neuron % 256
                tp = t_post[neuron]  # nearest neighbour, restricted: only a pre spike since the last post
                # the column's pre times (each synapse's its row's with its address, or its own:
                # ``pre_times``), the rows with one since the last post, their sensors and exps,
                # then the additions: loops without a branch on what a load brings, so that the
                # loads of each (scattered, mostly from outside the L1 cache) overlap
                for r in range(256):
                    c_t[r] = t_row[hn, addr_col[hn, cn, r], r]
                if own_count[1, hn, cn] != 0:
                    for r in range(256):
                        if t_own[hn, r, cn] != OWN_NONE:
                            c_t[r] = t_own[hn, r, cn]
                n_cr = 0
                for r in range(256):
                    c_row[n_cr] = r
                    n_cr += c_t[r] > tp
                for q_r in range(n_cr):
                    cx[q_r] = -(t_ns - c_t[c_row[q_r]]) / tau_corr_ns
                    c_w[q_r] = causal[hn, c_row[q_r], cn]
                if n_cr > 0:  # (hi 0: to the end)
                    exp_array(cx, cex, 0, n_cr)
                for q_r in range(n_cr):
                    r = c_row[q_r]
                    causal[hn, r, cn] = c_w[q_r] + (cex[q_r] if in_fast_range(cx[q_r]) else np.exp(cx[q_r]))
                    mark_sensed(sensed_bits, (hn * 256 + r) * 256 + cn)
                t_post[neuron] = t_ns
            lo_n = n_neurons  # the lowest and highest membrane the event reaches (rest range below)
            hi_n = -1
            pk_e = -1  # the psp_table class (and its decay and response at t1 - t_ns) last looked up
            pk_i = -1
            es_e = resp_e = es_i = resp_i = 0.0
            addr = label & 63
            n_keys_ev, to_fpga = event_keys(inp, label, t_ns, 0, k_lo, k_hi, k_eff, xb_en, xb_mask, xb_target,
                                            drv_ptr, drv_list, drv, stp_u_param, stp_tau_ns, set_scale, stp_last,
                                            stp_r, stp_u, syn_ptr)
            n_w = 0  # synapses of non-zero weight reached
            for kq in range(n_keys_ev):
                h = k_lo[kq] >> ENTRY_SPAN_SHIFT
                eff = k_eff[kq]
                if corr_on and n_ac > n_acb - _KEY_SYNAPSES_MAX:  # room for this key's synapses
                    add_acausal(acausal, ac_at, ac_dt, ac_x, ac_ex, n_ac, tau_corr_ns, sensed_bits)
                    n_ac = 0
                r_at = -1  # the row whose last pre time with the address was last read and stored
                t_was = -1
                own_at = False
                # (unsigned indices: a signed one is checked for wrap-around at every access)
                for e in range(np.uint64(k_lo[kq] & ENTRY_SPAN_MASK), np.uint64(k_hi[kq])):  # synapses with the address
                    ent = np.int64(syn_entry[e])
                    wgt = (ent >> ENTRY_WEIGHT_SHIFT) & 63
                    c = ent & 255
                    nc = h * 256 + c  # the synapse's circuit
                    unc = np.uint64(nc)
                    n = syn_target[unc] if mc_on else nc  # the membrane it feeds (its own without followers)
                    un = np.uint64(n)
                    lo_n = min(lo_n, n)
                    hi_n = max(hi_n, n)
                    if wgt > 0:
                        n_w += 1
                        # the input, decayed to the step's end, and (unless the event
                        # came while the neuron was refractory) the membrane's response
                        # to it over [t_ns, t1]
                        if (ent >> ENTRY_MODE_SHIFT) == 1:
                            i0 = wgt * eff * coef[K_GAIN_E, unc]
                            if psp_tab_on:
                                pk = psp_class[0, un] if psp_classes > 1 else 0
                                if pk != pk_e:  # (the event's last class: its row looked up once)
                                    if psp_ok[0, pk] == 0:
                                        fill_psp_row(psp_tab, psp_ok, 0, pk, coef[K_TAU_E_NS, n],
                                                     coef[K_RDIFF_E_NS, n], coef[K_PSP_E, n])
                                    es_e = psp_tab[0, pk, t1 - t_ns, 0]
                                    resp_e = psp_tab[0, pk, t1 - t_ns, 1]
                                    pk_e = pk
                                es = es_e
                                resp = resp_e
                            else:
                                es = np.exp(-(t1 - t_ns) / coef[K_TAU_E_NS, n])
                                resp = psp_response(t1 - t_ns, es, coef[K_TAU_E_NS, n], coef[K_RDIFF_E_NS, n],
                                                    coef[K_PSP_E, n])
                            nstate[S_IE, un] += i0 * es
                            if t_ns >= ref_end[un]:
                                x = i0 * resp
                                if n_coba == 0 or flags[F_COBA_E, un] == 0:
                                    nstate[S_V, un] += x
                                else:
                                    v = nstate[S_V, un]
                                    nstate[S_V, un] = v - (coef[K_EEXC, un] - v) * np.expm1(-x)
                        else:
                            i0 = wgt * eff * coef[K_GAIN_I, unc]
                            if psp_tab_on:
                                pk = psp_class[1, un] if psp_classes > 1 else 0
                                if pk != pk_i:  # (the event's last class: its row looked up once)
                                    if psp_ok[1, pk] == 0:
                                        fill_psp_row(psp_tab, psp_ok, 1, pk, coef[K_TAU_I_NS, n],
                                                     coef[K_RDIFF_I_NS, n], coef[K_PSP_I, n])
                                    es_i = psp_tab[1, pk, t1 - t_ns, 0]
                                    resp_i = psp_tab[1, pk, t1 - t_ns, 1]
                                    pk_i = pk
                                es = es_i
                                resp = resp_i
                            else:
                                es = np.exp(-(t1 - t_ns) / coef[K_TAU_I_NS, n])
                                resp = psp_response(t1 - t_ns, es, coef[K_TAU_I_NS, n], coef[K_RDIFF_I_NS, n],
                                                    coef[K_PSP_I, n])
                            nstate[S_II, un] += i0 * es
                            if t_ns >= ref_end[un]:
                                x = i0 * resp
                                if n_coba == 0 or flags[F_COBA_I, un] == 0:
                                    nstate[S_V, un] -= x
                                else:
                                    v = nstate[S_V, un]
                                    nstate[S_V, un] = v - (coef[K_EINH, un] - v) * np.expm1(-x)
                    if corr_on:  # acausal sensor (after the event's last synapse) and last pre time
                        r = (ent >> ENTRY_ROW_SHIFT) & 255
                        if r != r_at:  # (the key's synapses: row 2d's, then 2d + 1's) the row's time
                            r_at = r
                            t_was = t_row[h, addr, r]
                            t_row[h, addr, r] = t_ns
                            own_at = own_count[0, h, r] > 0
                        t_last = t_was
                        if own_at and t_own[h, r, c] != OWN_NONE:  # its own time, the row's from now on
                            t_last = t_own[h, r, c]
                            t_own[h, r, c] = OWN_NONE
                            own_count[0, h, r] -= 1
                            own_count[1, h, c] -= 1
                        tq = t_post[nc]
                        ac_at[n_ac] = (h * 256 + r) * 256 + c  # (taken if a post spike came since
                        ac_dt[n_ac] = t_ns - tq                # the synapse's last pre: no branch)
                        n_ac += np.int64(tq > t_last)
            n_syn[0] += n_w
            if hi_n >= 0 and (lo_n < act[0] or hi_n >= act[1]):  # neurons at rest: update them again
                # (once per event: the range that holds those of all its synapses, one after
                # another, is the one that holds all of them at once, closed or not)
                if act[0] >= act[1]:
                    act[0] = lo_n
                    act[1] = hi_n + 1
                else:
                    act[0] = min(act[0], lo_n)
                    act[1] = max(act[1], hi_n + 1)
                if mc_on:  # with their whole logical neurons
                    close_range(act, span_lo, span_hi)
            if to_fpga:
                out_t[n_out] = t_ns
                out_label[n_out] = label
                out_neuron[n_out] = neuron
                n_out += 1
    if n_ac:
        add_acausal(acausal, ac_at, ac_dt, ac_x, ac_ex, n_ac, tau_corr_ns, sensed_bits)
    return n_steps, n_out, n_madc, n_cadc, n_syn[0]
