"""The compiled per-window path of one host: every chip of the host advances a run of
windows in one numba call, and (when the host holds the whole system) the inter-chip
network routes each window's spikes in the same call.

Per window, in this order (``run_windows``):

0. each chip's PPU kernel that runs in compiled code (a ``ppu.CorrelationTableRule`` alone on
   its chip: ``_run_rule``), if due at the window's start — where the Python PPU would run it,
   after the writes the host applied before the call — and, with a period of a step or more,
   at every step inside the window it is due at (``_advance_chip``: no window is cut for it);
1. each chip's FPGA input for the window — playback events and network arrivals with
   ``t0 <= t < t1``, merged in the order (time, label), playback first on ties, as
   ``Fpga.events_for_window`` does — is integrated by ``chip_actor.kernels.integrate_steps``
   (``_integrate_chip``): the chips one after another, or side by side on numba's threads
   (``parallel``: each chip with scratch and an output buffer of its own; nothing crosses
   chips inside a window). Then what each chip sent to its FPGA is appended to the host's
   spike record in chip order (``time_ticks``, ``chip``, ``neuron``, ``label``: the columns
   of ``schemas.SPIKES``, so the record becomes the result's Arrow table without a copy) —
   the same record for any number of threads;
2. with ``route`` set, the window's neuron spikes of all chips go through
   ``routing.interconnect.route_window`` and the arrivals join their destination chips'
   pending queues (kept in the order (time, label)).

The chips' arrays stay owned by their ``Chip`` objects: the host hands the kernel a table
of their addresses (``chip_table``), and the kernel views them with ``numba.carray`` — one
call for any number of chips, no Python object per window, and no copy of a chip's state.
Every array's dtype, shape and contiguity is checked when the table is built.

numba's on-disk cache keys a compiled function to its own file only, and this module's
holds ``kernels.integrate_steps`` compiled in: the package drops its caches on import when a
compiled source changed (``bss2emu._jit_cache``).
"""

from __future__ import annotations

import os

import numpy as np
from numba import carray, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..chip_actor import kernels as K
from ..chip_actor.ppu_passes import stdp_sweep, stdp_sweep_listed
from ..protocol import coordinates as C
from ..routing.interconnect import route_window
from ..units import NS_PER_TICK

# numba's ``omp`` threading layer (GNU OpenMP) lets its threads spin between parallel calls
# unless told otherwise, read once when it loads (this module's first kernel call loads it).
# A host makes a parallel call per window: beside other busy processes the spinning threads
# took the cores from the working ones (4 chips, 2 cores, load 5: 3 to 7 times slower than
# one thread); waiting passively costs a wake-up per window instead. A value the user set
# stays.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_N = C.NEURONS_PER_CHIP
_H, _D, _R, _COL = C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE
_XB = (C.CROSSBAR_INPUTS, C.CROSSBAR_OUTPUTS)
_ROW = K.neuron_row_length(_N)  # per-neuron rows (coef, flags, nstate) lie this far apart
_N_SYN_KEYS = _H * _D * 64
_N_DRV_KEYS = _H * 4 * 32

# the chip arrays the kernel reads and writes, in the order of ``chip_table``'s columns:
# (name, dtype, shape; None for a 1-d array of any length)
FIELDS = (
    ("coef", np.float64, (K.N_COEF, _ROW)), ("flags", np.int64, (K.N_FLAGS, _ROW)),
    ("nstate", np.float64, (K.N_STATE, _ROW)),
    ("ref_end", np.int64, (_N,)), ("spike_count", np.int64, (_N,)),
    ("syn_ptr", np.int64, (_N_SYN_KEYS + 1,)), ("syn_entry", np.int32, None), ("syn_weighted", np.int64, (_N_SYN_KEYS,)),
    ("drv_ptr", np.int64, (_N_DRV_KEYS + 1,)), ("drv_list", np.int64, None), ("drv", np.int64, (5, _H, _D)),
    ("stp_u_param", np.float64, (_H, _D)), ("stp_tau_ns", np.float64, (_H, _D)), ("set_scale", np.float64, (_H, 2)),
    ("stp_last", np.int64, (_H, _D)), ("stp_r", np.float64, (_H, _D)), ("stp_u", np.float64, (_H, _D)),
    ("xb_en", np.int64, _XB), ("xb_mask", np.int64, _XB), ("xb_target", np.int64, _XB),
    ("bg", np.int64, (8, C.BACKGROUND_GENERATORS)), ("bg_next_ns", np.int64, (C.BACKGROUND_GENERATORS,)),
    ("bg_rng", np.int64, (C.BACKGROUND_GENERATORS,)),
    # the synapses' last pre times (``chip_actor.pre_times.PreTimes``) and the neurons' last spikes
    ("t_row", np.int64, (_H, C.ADDRESS_MAX + 1, _R)), ("t_own", np.int64, (_H, _R, _COL)),
    ("own_count", np.int64, (2, _H, _R)), ("addr_col", np.uint8, (_H, _COL, _R)), ("t_post", np.int64, (_N,)),
    ("causal", np.float64, (_H, _R, _COL)), ("acausal", np.float64, (_H, _R, _COL)),
    ("play_t_ns", np.int64, None), ("play_label", np.int64, None),
    # structured neurons (``chip_actor.structure.Structure``)
    ("syn_target", np.int64, (_N,)), ("mc_follow", np.int64, None), ("mc_follow_lead", np.int64, None),
    ("cp_rows", np.int64, None), ("cp_block", np.int64, None), ("cp_offset", np.int64, None),
    ("cp_val", np.float64, None),
    # the delivery table (``kernels.psp_table``: ``I_PSP_CLASSES`` classes of ``I_PSP_ROWS`` rows)
    ("psp_tab", np.float64, None), ("psp_ok", np.int8, None), ("psp_class", np.int64, (2, _N)),
    # the synapses whose sensors were added to, a bitmap (``kernels.mark_sensed``)
    ("sensed_bits", np.uint64, (_H * _R * _COL // 64,)),
)
(A_COEF, A_FLAGS, A_NSTATE, A_REF_END, A_SPIKE_COUNT, A_SYN_PTR, A_SYN_ENTRY, A_SYN_WEIGHTED, A_DRV_PTR,
 A_DRV_LIST, A_DRV, A_STP_U_PARAM, A_STP_TAU, A_SET_SCALE, A_STP_LAST, A_STP_R, A_STP_U, A_XB_EN, A_XB_MASK,
 A_XB_TARGET, A_BG, A_BG_NEXT, A_BG_RNG, A_T_ROW, A_T_OWN, A_OWN_COUNT, A_ADDR_COL, A_T_POST, A_CAUSAL, A_ACAUSAL,
 A_PLAY_T, A_PLAY_LABEL, A_SYN_TARGET, A_FOLLOW, A_FOLLOW_LEAD, A_CP_ROWS, A_CP_BLOCK, A_CP_OFFSET, A_CP_VAL, A_PSP_TAB,
 A_PSP_OK, A_PSP_CLASS, A_SENSED_LIST) = range(43)
N_FIELDS = len(FIELDS)
# per-chip integers: the lengths of the 1-d fields of any length, and readout settings (the
# MADC's neuron and state row per channel: two entries each, ``Chip.madc_kernel_channels``)
(I_SYN_ENTRY_LEN, I_DRV_LIST_LEN, I_PLAY_LEN, I_CORR_ON, I_MADC_NEURON, I_MADC_NEURON_2, I_MADC_ROW, I_MADC_ROW_2,
 I_MADC_EVERY, I_CADC_PERIOD, I_SYSTEM_CHIP, I_FOLLOW_LEN, I_CP_ROWS, I_CP_BLOCKS, I_CP_VALUES, I_PSP_ROWS,
 I_PSP_CLASSES) = range(17)
N_INTS = 17
# per chip, its PPU kernel run in the compiled loop (``ppu.CorrelationTableRule``, the host's
# ``_Unit.rule_row``): on, next due time, period, runs left (-1: no end), reset, its synapses
# ``rule_flat[lo:hi]``, the addresses of the chip's weights and synapse-table positions; out:
# runs done and weights changed; the address of its synapses as a bitmap (``ppu_passes.view_bits``)
(R_ON, R_NEXT_NS, R_PERIOD_NS, R_LEFT, R_RESET, R_FLAT_LO, R_FLAT_HI, R_WEIGHTS, R_POSITION, R_RUNS,
 R_CHANGED, R_IN_VIEW) = range(12)
N_RULE = 12


def no_rules(n_chips: int) -> tuple:
    """``run_windows``' last four arguments for chips without a compiled PPU kernel."""
    return (np.zeros((n_chips, N_RULE), np.int64), np.ones(n_chips), np.zeros(0, np.int64),
            np.zeros((n_chips, 1, 1), np.int64))


# status codes of ``run_windows``
OK, EVENT_IN_THE_PAST, ARRIVAL_ELSEWHERE = 0, 1, 2
_JIT = dict(cache=True, boundscheck=False, error_model="numpy")
# run_windows' one parallel loop is its explicit ``prange`` over the chips of a window: numba
# turns no array expression of it into a parallel loop of its own
_PRANGE_ONLY = dict(prange=True, comprehension=False, reduction=False, inplace_binop=False, setitem=False,
                    numpy=False, stencil=False, fusion=False)


@intrinsic
def _voidptr(typingctx, address):
    """An integer address as a ``void*`` (for ``numba.carray``)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


@njit(**_JIT)
def _insert_arrivals(q_t, q_lab, q_n, c, t, lab):
    """Insert one event into chip c's pending queue, kept in the order (time, label);
    returns the queues (reallocated when full)."""
    n = q_n[c]
    if n == q_t.shape[1]:
        q_t, q_lab = _wider(q_t, 2 * n), _wider(q_lab, 2 * n)
    j = n
    while j > 0 and (q_t[c, j - 1] > t or (q_t[c, j - 1] == t and q_lab[c, j - 1] > lab)):
        q_t[c, j] = q_t[c, j - 1]
        q_lab[c, j] = q_lab[c, j - 1]
        j -= 1
    q_t[c, j] = t
    q_lab[c, j] = lab
    q_n[c] = n + 1
    return q_t, q_lab


@njit(parallel=_PRANGE_ONLY, **_JIT)
def run_windows(bounds, h_ns, addr, ints, tau_corr_ns, play_pos, q_t, q_lab, q_n,
                route, host_of, route_key, routes, pair_path, path_links, path_len, hop_ns, service_ns, depth,
                free_ns, sent, delivered, dropped, maxq, min_hold_ns, net_counts, hold, hold_n,
                rec_ticks, rec_chip, rec_neuron, rec_label, n_rec,
                madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events, parallel,
                rules, rule_per_lsb, rule_flat, rule_dw):
    """Run the windows ``[bounds[w], bounds[w + 1])`` (steps) on every chip of the host.

    ``addr[c]``/``ints[c]``/``tau_corr_ns[c]``: chip c's ``chip_table``; ``play_pos[c]``
    its playback cursor; ``q_*``: the pending network arrivals per chip (``q_n[c]`` of
    them, in the order (time, label)). With ``route``, each window's neuron spikes are
    routed (``route_window``'s tables follow; ``host_of[system chip]`` is the chip's row
    here, -1 if on no host) and the arrivals queued; ``hold``/``hold_n``: the events held for
    a later window's end (``route_window``). ``rec_*``: the spike record, ``n_rec``
    rows used; ``madc_*``/``cadc_*``: per-chip readout buffers with ``n_madc``/``n_cadc``
    rows used (sized by the caller for these windows); ``syn_events[c]`` counts synaptic
    events. With ``parallel`` the chips of a window are integrated on numba's threads
    (``numba.set_num_threads`` of the calling thread: ``host_threads.parallel_section``; no
    two chips may share an array the kernel writes): within a window the chips are independent, each has scratch and an
    output buffer of its own, and their outputs join the record in chip order afterwards,
    so the results do not depend on ``parallel`` or the thread count.
    Returns ``(status, windows done, n_rec, rec_*, q_t, q_lab, hold)``; a status other
    than ``OK`` stops at the window that met it, before any chip integrates it
    (``EVENT_IN_THE_PAST``: an arrival before its window; ``ARRIVAL_ELSEWHERE``: an arrival
    for a chip this host does not hold). ``rules`` (``R_*``), ``rule_per_lsb``, ``rule_flat``,
    ``rule_dw``: per chip the PPU kernel run at the start of every window it is due at
    (``_run_rule``), after the writes the host applied before the call, and at the steps
    inside a window it is due at (``_advance_chip``)."""
    n_chips = addr.shape[0]
    h = h_ns
    # per chip: a window's input events and what it sends out (grown on demand)
    ev_t = np.empty((n_chips, 64), np.int64)
    ev_in = np.empty((n_chips, 64), np.int64)
    ev_lab = np.empty((n_chips, 64), np.int64)
    n_ev = np.zeros(n_chips, np.int64)
    play_end = np.zeros(n_chips, np.int64)  # the playback events due in the window: play_pos .. play_end
    n_due = np.zeros(n_chips, np.int64)  # the arrivals due in the window: the first n_due of the queue
    out_t = np.empty((n_chips, 0), np.int64)
    out_l = np.empty((n_chips, 0), np.int64)
    out_n = np.empty((n_chips, 0), np.int64)
    n_out = np.zeros(n_chips, np.int64)
    cap = np.zeros(n_chips, np.int64)
    k_at = np.zeros(n_chips, np.int64)
    # each chip's neurons by kind (``K.count_neuron_kinds``), counted once: coefficients and
    # flags change only between calls (the compiled PPU rule writes weights)
    kinds = np.empty((n_chips, 3), np.int64)
    for c in range(n_chips):
        K.count_neuron_kinds(_N, carray(_voidptr(addr[c, A_COEF]), (K.N_COEF, _ROW), np.float64),
                             carray(_voidptr(addr[c, A_FLAGS]), (K.N_FLAGS, _ROW), np.int64), kinds[c])
    # the kernel's scratch, a set per chip (grown with the events)
    sbuf, fbuf, bbuf, ibuf = _scratch_rows(n_chips, K.window_buffer_cap(64, h, _N))
    for w in range(bounds.shape[0] - 1):
        k0 = bounds[w]
        n_steps = bounds[w + 1] - k0
        t0 = k0 * h
        t1 = t0 + n_steps * h
        # --- each chip's FPGA input for the window: playback and arrivals, (time, label) ---
        for c in range(n_chips):
            p1 = play_pos[c]
            play_t = carray(_voidptr(addr[c, A_PLAY_T]), ints[c, I_PLAY_LEN], np.int64)
            while p1 < play_t.shape[0] and play_t[p1] < t1:
                p1 += 1
            nq = 0
            while nq < q_n[c] and q_t[c, nq] < t1:
                nq += 1
            if nq and q_t[c, 0] < t0:
                return EVENT_IN_THE_PAST, w, n_rec, rec_ticks, rec_chip, rec_neuron, rec_label, q_t, q_lab, hold
            play_end[c], n_due[c] = p1, nq
            n_ev[c] = (p1 - play_pos[c]) + nq
        if n_ev.max() > ev_t.shape[1]:
            ev_t = np.empty((n_chips, 2 * n_ev.max()), np.int64)
            ev_in = np.empty((n_chips, 2 * n_ev.max()), np.int64)
            ev_lab = np.empty((n_chips, 2 * n_ev.max()), np.int64)
        for c in range(n_chips):
            _merge_input(c, play_end[c], n_due[c], addr, ints, play_pos, q_t, q_lab, q_n, ev_t, ev_in, ev_lab)
            # an output buffer holding a part (``integrate_steps`` stops early when it could
            # overflow) of the size ``Chip.run_window`` gives it: the parts are the same
            cap[c] = 4 * (n_ev[c] + 8 * (h // 4 + 1) + _N) + 4096
        need = K.window_buffer_cap(n_ev.max(), h, _N)
        if need > sbuf.shape[2]:
            sbuf = np.empty((n_chips, sbuf.shape[1], 2 * need), np.int64)
        if cap.max() > out_t.shape[1]:
            out_t = np.empty((n_chips, 2 * cap.max()), np.int64)
            out_l = np.empty((n_chips, 2 * cap.max()), np.int64)
            out_n = np.empty((n_chips, 2 * cap.max()), np.int64)
        # --- the PPU kernels due at the window's start -----------------------------------
        for c in range(n_chips):
            if rules[c, R_ON] and rules[c, R_LEFT] != 0 and rules[c, R_NEXT_NS] <= t0:
                _run_rule(c, addr, ints, rules, rule_per_lsb, rule_flat, rule_dw)
        # --- integrate the window on every chip, each chip's compiled PPU kernel also at the
        # steps inside it that it is due at (``_advance_chip``); grow a buffer a chip filled,
        # and go on --------------------------------------------------------------------------
        n_out[:] = 0
        k_at[:] = k0
        while True:
            if parallel:
                for c in prange(n_chips):
                    # (prange counts in uint64: as int64 the serial loop's compiled chip step serves)
                    _advance_chip(np.int64(c), k0, k0 + n_steps, h, addr, ints, tau_corr_ns, kinds, ev_t, ev_in, ev_lab,
                                  n_ev, madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events,
                                  out_t, out_l, out_n, n_out, cap, k_at, np.int64(c), sbuf, fbuf, bbuf, ibuf,
                                  rules, rule_per_lsb, rule_flat, rule_dw)
            else:
                for c in range(n_chips):
                    # one after another: one set of scratch serves them all (it stays in the cache)
                    _advance_chip(c, k0, k0 + n_steps, h, addr, ints, tau_corr_ns, kinds, ev_t, ev_in, ev_lab, n_ev,
                                  madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events,
                                  out_t, out_l, out_n, n_out, cap, k_at, 0, sbuf, fbuf, bbuf, ibuf,
                                  rules, rule_per_lsb, rule_flat, rule_dw)
            if k_at.min() == k0 + n_steps:
                break
            width = 2 * out_t.shape[1]
            out_t, out_l, out_n = _wider(out_t, width), _wider(out_l, width), _wider(out_n, width)
        # --- record what the chips sent to their FPGAs, in chip order ----------------------
        win_start = n_rec
        total = n_out.sum()
        if n_rec + total > rec_ticks.shape[0]:
            size = max(2 * rec_ticks.shape[0], n_rec + total)
            rec_ticks = _grown(rec_ticks, size, n_rec)
            rec_chip = _grown(rec_chip, size, n_rec)
            rec_neuron = _grown(rec_neuron, size, n_rec)
            rec_label = _grown(rec_label, size, n_rec)
        for c in range(n_chips):
            for e in range(n_out[c]):
                rec_ticks[n_rec] = out_t[c, e] // NS_PER_TICK
                rec_chip[n_rec] = ints[c, I_SYSTEM_CHIP]
                rec_neuron[n_rec] = out_n[c, e]
                rec_label[n_rec] = out_l[c, e]
                n_rec += 1
        if not route:
            continue
        # --- the window's neuron spikes through the network, arrivals queued --------------
        n_spk = 0
        for e in range(win_start, n_rec):
            if rec_neuron[e] >= 0:
                n_spk += 1
        if routes.shape[0] == 0 or (n_spk == 0 and hold_n[0] == 0):
            continue
        src = np.empty(n_spk, np.int64)
        ticks = np.empty(n_spk, np.int64)
        labels = np.empty(n_spk, np.int64)
        i = 0
        for e in range(win_start, n_rec):
            if rec_neuron[e] >= 0:
                src[i] = rec_chip[e]
                ticks[i] = rec_ticks[e]
                labels[i] = rec_label[e]
                i += 1
        dst, t_arr, lab, hold = route_window(src, ticks, labels, t1, route_key, routes, pair_path, path_links,
                                             path_len, hop_ns, service_ns, depth, free_ns, sent, delivered, dropped,
                                             maxq, min_hold_ns, net_counts, hold, hold_n)
        for e in range(dst.shape[0]):
            c = host_of[dst[e]]
            if c < 0:
                return ARRIVAL_ELSEWHERE, w, n_rec, rec_ticks, rec_chip, rec_neuron, rec_label, q_t, q_lab, hold
            q_t, q_lab = _insert_arrivals(q_t, q_lab, q_n, c, t_arr[e], lab[e])
    return OK, bounds.shape[0] - 1, n_rec, rec_ticks, rec_chip, rec_neuron, rec_label, q_t, q_lab, hold


@njit(**_JIT)
def _advance_chip(c, k_start, k_end, h, addr, ints, tau_corr_ns, kinds, ev_t, ev_in, ev_lab, n_ev,
                  madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events,
                  out_t, out_l, out_n, n_out, cap, k_at, sc, sbuf, fbuf, bbuf, ibuf,
                  rules, rule_per_lsb, rule_flat, rule_dw):
    """``_integrate_chip`` of the window ``[k_start, k_end)`` (steps), with chip c's compiled
    PPU kernel, if its period is a step or longer, also run at the start of every step
    ``k_start < k`` it is due at (its next time ``<= k h``) — where a window cut at its time
    would run it (``run_windows``, at the window's start): the coordinator cuts no window at
    the times of such a kernel (``coordinator.cut_steps``), and the part between two runs is
    one call. (A shorter period falls behind its times, one run per window start, as in
    Python: its windows stay cut.) Returns early where ``_integrate_chip`` does (a full
    buffer; a run at the step it stopped at is not repeated: its time is past then)."""
    while k_at[c] < k_end:
        k = k_at[c]
        stop = k_end
        if rules[c, R_ON] and rules[c, R_LEFT] != 0 and rules[c, R_PERIOD_NS] >= h:
            if k > k_start and rules[c, R_NEXT_NS] <= k * h:
                _run_rule(c, addr, ints, rules, rule_per_lsb, rule_flat, rule_dw)
            if rules[c, R_LEFT] != 0:  # (the step its next time falls in, or the one after it)
                stop = min(k_end, max(k + 1, -(-rules[c, R_NEXT_NS] // h)))
        _integrate_chip(c, stop, h, addr, ints, tau_corr_ns, kinds, ev_t, ev_in, ev_lab, n_ev,
                        madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events,
                        out_t, out_l, out_n, n_out, cap, k_at, sc, sbuf, fbuf, bbuf, ibuf)
        if k_at[c] < stop:
            return


@njit(**_JIT)
def _run_rule(c, addr, ints, rules, rule_per_lsb, rule_flat, rule_dw):
    """Chip c's compiled PPU kernel, once (``ppu_passes.stdp_sweep``), and its timer."""
    a = addr[c]
    n_syn = _H * _R * _COL
    dw = rule_dw[c]
    sensed = carray(_voidptr(a[A_SENSED_LIST]), n_syn // 64, np.uint64)
    if dw[0, 0] == 0 and rules[c, R_RESET] != 0:
        # only the synapses whose sensors were added to can change
        rules[c, R_CHANGED] += stdp_sweep_listed(
            carray(_voidptr(a[A_CAUSAL]), n_syn, np.float64), carray(_voidptr(a[A_ACAUSAL]), n_syn, np.float64),
            carray(_voidptr(rules[c, R_WEIGHTS]), n_syn, np.int64), carray(_voidptr(rules[c, R_IN_VIEW]), n_syn // 64, np.uint64),
            sensed, rule_per_lsb[c], dw,
            carray(_voidptr(a[A_SYN_PTR]), _N_SYN_KEYS + 1, np.int64),
            carray(_voidptr(a[A_SYN_ENTRY]), ints[c, I_SYN_ENTRY_LEN], np.int32),
            carray(_voidptr(a[A_SYN_WEIGHTED]), _N_SYN_KEYS, np.int64),
            carray(_voidptr(rules[c, R_POSITION]), n_syn, np.int64))
    else:
        rules[c, R_CHANGED] += stdp_sweep(
            carray(_voidptr(a[A_CAUSAL]), n_syn, np.float64), carray(_voidptr(a[A_ACAUSAL]), n_syn, np.float64),
            carray(_voidptr(rules[c, R_WEIGHTS]), n_syn, np.int64), rule_flat[rules[c, R_FLAT_LO]:rules[c, R_FLAT_HI]],
            rule_per_lsb[c], rules[c, R_RESET] != 0, dw,
            carray(_voidptr(a[A_SYN_PTR]), _N_SYN_KEYS + 1, np.int64),
            carray(_voidptr(a[A_SYN_ENTRY]), ints[c, I_SYN_ENTRY_LEN], np.int32),
            carray(_voidptr(a[A_SYN_WEIGHTED]), _N_SYN_KEYS, np.int64),
            carray(_voidptr(rules[c, R_POSITION]), n_syn, np.int64))
        if rules[c, R_RESET] != 0:  # (every sensor of the view reads 0 now: none marked)
            sensed[:] = 0
    rules[c, R_RUNS] += 1
    rules[c, R_NEXT_NS] += rules[c, R_PERIOD_NS]
    if rules[c, R_LEFT] > 0:
        rules[c, R_LEFT] -= 1


@njit(**_JIT)
def _scratch_rows(n_chips, buf_cap):
    """``kernels.window_scratch`` for each of ``n_chips`` chips: its arrays with a leading
    chip axis."""
    sb, fb, bb, ib = K.window_scratch(_N, buf_cap)
    return (np.empty((n_chips, sb.shape[0], sb.shape[1]), sb.dtype), np.empty((n_chips, fb.shape[0], fb.shape[1]), fb.dtype),
            np.empty((n_chips, bb.shape[0], bb.shape[1]), bb.dtype), np.empty((n_chips, ib.shape[0], ib.shape[1]), ib.dtype))


@njit(**_JIT)
def _merge_input(c, p1, nq, addr, ints, play_pos, q_t, q_lab, q_n, ev_t, ev_in, ev_lab):
    """Chip c's FPGA input for a window — its playback events up to ``p1`` and its first
    ``nq`` pending arrivals, merged in the order (time, label), playback first on ties, as
    ``Fpga.events_for_window`` does — into row c of ``ev_*``; the playback cursor and the
    queue move past them."""
    play_t = carray(_voidptr(addr[c, A_PLAY_T]), ints[c, I_PLAY_LEN], np.int64)
    play_l = carray(_voidptr(addr[c, A_PLAY_LABEL]), ints[c, I_PLAY_LEN], np.int64)
    i, j = play_pos[c], 0
    for e in range(p1 - play_pos[c] + nq):
        if j >= nq or (i < p1 and (play_t[i] < q_t[c, j] or (play_t[i] == q_t[c, j] and play_l[i] <= q_lab[c, j]))):
            ev_t[c, e] = play_t[i]
            ev_lab[c, e] = play_l[i]
            i += 1
        else:
            ev_t[c, e] = q_t[c, j]
            ev_lab[c, e] = q_lab[c, j]
            j += 1
        ev_in[c, e] = C.CROSSBAR_INPUT_FPGA + ((ev_lab[c, e] >> C.LABEL_BUS_SHIFT) & 3)
    play_pos[c] = p1
    for e in range(q_n[c] - nq):
        q_t[c, e] = q_t[c, e + nq]
        q_lab[c, e] = q_lab[c, e + nq]
    q_n[c] -= nq


@njit(**_JIT)
def _integrate_chip(c, k_end, h, addr, ints, tau_corr_ns, kinds, ev_t, ev_in, ev_lab, n_ev,
                    madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn_events,
                    out_t, out_l, out_n, n_out, cap, k_at, sc, sbuf, fbuf, bbuf, ibuf):
    """Chip c's window from its step ``k_at[c]`` on, in parts of ``cap[c]`` output events
    appended to row c of ``out_*`` (``n_out[c]`` used), until ``k_end`` or no room is left
    for another part, with row ``sc`` of the scratch ``sbuf`` … ``ibuf``. Touches row c of
    every other per-chip array only."""
    a = addr[c]
    ne = n_ev[c]
    while k_at[c] < k_end and n_out[c] + cap[c] <= out_t.shape[1]:
        k = k_at[c]
        lo = np.searchsorted(ev_t[c, :ne], k * h)
        o0, o1 = n_out[c], n_out[c] + cap[c]
        steps, n_o, nm, nc, n_syn = K.integrate_steps(
            k, k_end - k, h,
            carray(_voidptr(a[A_COEF]), (K.N_COEF, _ROW), np.float64),
            carray(_voidptr(a[A_FLAGS]), (K.N_FLAGS, _ROW), np.int64),
            kinds[c],
            carray(_voidptr(a[A_NSTATE]), (K.N_STATE, _ROW), np.float64),
            carray(_voidptr(a[A_REF_END]), _N, np.int64),
            carray(_voidptr(a[A_SPIKE_COUNT]), _N, np.int64),
            carray(_voidptr(a[A_SYN_PTR]), _N_SYN_KEYS + 1, np.int64),
            carray(_voidptr(a[A_SYN_ENTRY]), ints[c, I_SYN_ENTRY_LEN], np.int32),
            carray(_voidptr(a[A_DRV_PTR]), _N_DRV_KEYS + 1, np.int64),
            carray(_voidptr(a[A_DRV_LIST]), ints[c, I_DRV_LIST_LEN], np.int64),
            carray(_voidptr(a[A_DRV]), (5, _H, _D), np.int64),
            carray(_voidptr(a[A_STP_U_PARAM]), (_H, _D), np.float64),
            carray(_voidptr(a[A_STP_TAU]), (_H, _D), np.float64),
            carray(_voidptr(a[A_SET_SCALE]), (_H, 2), np.float64),
            carray(_voidptr(a[A_STP_LAST]), (_H, _D), np.int64),
            carray(_voidptr(a[A_STP_R]), (_H, _D), np.float64),
            carray(_voidptr(a[A_STP_U]), (_H, _D), np.float64),
            carray(_voidptr(a[A_XB_EN]), _XB, np.int64),
            carray(_voidptr(a[A_XB_MASK]), _XB, np.int64),
            carray(_voidptr(a[A_XB_TARGET]), _XB, np.int64),
            carray(_voidptr(a[A_BG]), (8, C.BACKGROUND_GENERATORS), np.int64),
            carray(_voidptr(a[A_BG_NEXT]), C.BACKGROUND_GENERATORS, np.int64),
            carray(_voidptr(a[A_BG_RNG]), C.BACKGROUND_GENERATORS, np.int64),
            ev_t[c, lo:ne], ev_in[c, lo:ne], ev_lab[c, lo:ne],
            ints[c, I_CORR_ON] != 0, tau_corr_ns[c],
            carray(_voidptr(a[A_T_ROW]), (_H, C.ADDRESS_MAX + 1, _R), np.int64),
            carray(_voidptr(a[A_T_OWN]), (_H, _R, _COL), np.int64),
            carray(_voidptr(a[A_OWN_COUNT]), (2, _H, _R), np.int64),
            carray(_voidptr(a[A_ADDR_COL]), (_H, _COL, _R), np.uint8),
            carray(_voidptr(a[A_T_POST]), _N, np.int64),
            carray(_voidptr(a[A_CAUSAL]), (_H, _R, _COL), np.float64),
            carray(_voidptr(a[A_ACAUSAL]), (_H, _R, _COL), np.float64),
            carray(_voidptr(a[A_SENSED_LIST]), _H * _R * _COL // 64, np.uint64),
            ints[c, I_MADC_NEURON:I_MADC_NEURON + 2], ints[c, I_MADC_ROW:I_MADC_ROW + 2], ints[c, I_MADC_EVERY],
            madc_t[c, n_madc[c]:], madc_x[c, n_madc[c]:],
            ints[c, I_CADC_PERIOD], cadc_t[c, n_cadc[c]:], cadc_v[c, n_cadc[c]:],
            out_t[c, o0:o1], out_l[c, o0:o1], out_n[c, o0:o1],
            carray(_voidptr(a[A_SYN_TARGET]), _N, np.int64),
            carray(_voidptr(a[A_FOLLOW]), ints[c, I_FOLLOW_LEN], np.int64),
            carray(_voidptr(a[A_FOLLOW_LEAD]), ints[c, I_FOLLOW_LEN], np.int64),
            carray(_voidptr(a[A_CP_ROWS]), ints[c, I_CP_ROWS], np.int64),
            carray(_voidptr(a[A_CP_BLOCK]), ints[c, I_CP_BLOCKS] + 1, np.int64),
            carray(_voidptr(a[A_CP_OFFSET]), ints[c, I_CP_BLOCKS] + 1, np.int64),
            carray(_voidptr(a[A_CP_VAL]), ints[c, I_CP_VALUES], np.float64),
            carray(_voidptr(a[A_PSP_TAB]), (2, ints[c, I_PSP_CLASSES], ints[c, I_PSP_ROWS], 2), np.float64),
            carray(_voidptr(a[A_PSP_OK]), (2, ints[c, I_PSP_CLASSES]), np.int8),
            carray(_voidptr(a[A_PSP_CLASS]), (2, _N), np.int64),
            sbuf[sc], fbuf[sc], bbuf[sc], ibuf[sc],
        )
        n_madc[c] += nm
        n_cadc[c] += nc
        syn_events[c] += n_syn
        n_out[c] += n_o
        k_at[c] += steps


@njit(**_JIT)
def _wider(a, width):
    """A copy of the 2-d ``a`` with ``width`` columns (the first ones ``a``'s). Element by
    element: a slice assignment compiles numba's shape-mismatch message (8 s here)."""
    out = np.empty((a.shape[0], width), a.dtype)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j]
    return out


@njit(**_JIT)
def _grown(a, size, n):
    out = np.empty(size, a.dtype)
    for i in range(n):  # (see _wider)
        out[i] = a[i]
    return out


@njit(**_JIT)
def route_to_queues(src, ticks, labels, t_end_ns, route_key, routes, pair_path, path_links, path_len, hop_ns,
                    service_ns, depth, free_ns, sent, delivered, dropped, maxq, min_hold_ns, net_counts, hold, hold_n,
                    row_of,
                    q_t, q_lab, q_n):
    """A Ray host's share of one window's network (``peer_exchange``): every host's spikes
    ``(chip, time_ticks, label)`` (any integer types, source chips ascending) through the
    host's replica of the network (``route_window``; every host routes all of them, so the
    link states stay equal), and the arrivals for this host's chips (``row_of[system chip]``
    its row here, -1 for another host's) into their pending queues, in the order (time,
    label) — what ``ChipHost.inject`` does, in one call; the window ends at ``t_end_ns``
    (``route_window``: ``hold``, ``hold_n``). Returns ``(q_t, q_lab, hold)`` (reallocated
    when full)."""
    n = src.shape[0]
    if routes.shape[0] == 0 or (n == 0 and hold_n[0] == 0):
        return q_t, q_lab, hold
    s64 = np.empty(n, np.int64)
    t64 = np.empty(n, np.int64)
    l64 = np.empty(n, np.int64)
    for i in range(n):
        s64[i] = src[i]
        t64[i] = ticks[i]
        l64[i] = labels[i]
    dst, t_arr, lab, hold = route_window(s64, t64, l64, t_end_ns, route_key, routes, pair_path, path_links, path_len,
                                         hop_ns, service_ns, depth, free_ns, sent, delivered, dropped, maxq, min_hold_ns,
                                         net_counts, hold, hold_n)
    for e in range(dst.shape[0]):
        c = row_of[dst[e]]
        if c >= 0:
            q_t, q_lab = _insert_arrivals(q_t, q_lab, q_n, c, t_arr[e], lab[e])
    return q_t, q_lab, hold
