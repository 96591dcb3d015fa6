"""The analog core's numba kernels: one call integrates a whole window of one chip.

Neuron model (AdEx, per circuit; units mV, µs, pF, µS, nA)::

    C dv/dt   = -g_L (v - E_L) + g_L Δ_T exp((v - V_T)/Δ_T) - w + I_const + I_syn
    τ_w dw/dt = a (v - E_L) - w
    spike when v ≥ V_th:  v ← V_reset, w ← w + b, v held at V_reset for τ_ref
    current-based input:      I_syn = i_exc - i_inh,  τ_s di/dt = -i
    conductance-based input:  I_syn = g_exc (E_exc - v) + g_inh (E_inh - v),  τ_s dg/dt = -g

Integration uses a fixed step ``h``. Linear parts are integrated exactly (exponential
integration); the exponential term and ``w`` are held constant over a step. With current-
based inputs the synaptic current's exact convolution with the membrane is used; with
conductance-based inputs the conductances' step averages form an effective leak. Spike
times are interpolated linearly within the step and time-stamped in integer ns.

Events (external, background, recurrent) carry integer-ns times. All events whose time
falls into step ``k`` are merged in the total order (time, source) and delivered at the
step's end, each decayed by ``exp(-(t_end - t_event)/τ_s)``; so results do not depend on
how a run is cut into windows. An event passes the crossbar (mask/target per node), reaches
PADI buses, selects synapse drivers by its 5 row-select bits (with each driver's compare
mask), is modulated by the driver's short-term plasticity, and reaches every synapse of the
driver's two rows whose 6-bit address equals the label's low 6 bits; the row's mode gives
the sign. Tsodyks–Markram STP per driver with utilisation U and time constant τ::

    depression:   R⁻ₙ = 1 - (1 - R⁺ₙ₋₁) e^(-Δ/τ),  efficacy Uₙ·R⁻ₙ,  R⁺ₙ = R⁻ₙ (1 - U)
    facilitation: u⁻ₙ = u⁺ₙ₋₁ e^(-Δ/τ),  u⁺ₙ = u⁻ₙ + U (1 - u⁻ₙ),  efficacy u⁺ₙ
"""

from __future__ import annotations

import numpy as np
from numba import njit

# rows of the per-neuron coefficient array ``coef[ROW, neuron]``
(
    K_EL, K_VRESET, K_VTH, K_VT, K_EEXC, K_EINH, K_GL, K_DT, K_A, K_B,
    K_EW, K_EM, K_LSCALE, K_ES_E, K_ES_I, K_KE, K_KI, K_AVG_E, K_AVG_I,
    K_TAU_E_NS, K_TAU_I_NS, K_GAIN_E, K_GAIN_I, K_ICONST, K_C, K_H_OVER_C,
) = range(26)
N_COEF = 26
# rows of ``flags[ROW, neuron]``
F_COBA_E, F_COBA_I, F_FIRE, F_TAU_REF_NS, F_LABEL = range(5)
# rows of ``nstate[ROW, neuron]``
S_V, S_W, S_IE, S_II = range(4)
# rows of ``drv[ROW, hemisphere, driver]``
D_ENABLE, D_RSMASK, D_STP, D_STP_MODE, D_SET = range(5)
# rows of ``bg[ROW, generator]``
B_ENABLE, B_MODE, B_PERIOD, B_RATE, B_LABEL, B_MASK, B_START_NS, B_STOP_NS = range(8)

ADC_FULL_SCALE_MV = 1200.0
EXP_ARG_MAX = 30.0  # keeps exp() finite; the threshold is crossed long before


@njit(cache=True)
def xorshift32(x):
    """One step of Marsaglia's 32-bit xorshift; state and result in [1, 2**32)."""
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


@njit(cache=True)
def adc_code(v_mv, bits):
    """Digitise a membrane voltage over 0..1200 mV into an unsigned ``bits``-bit code."""
    top = (1 << bits) - 1
    c = np.rint(v_mv / ADC_FULL_SCALE_MV * top)
    if c < 0:
        return 0
    if c > top:
        return top
    return int(c)


@njit(cache=True)
def stp_efficacy(h, d, t_ns, drv, stp_u_param, stp_tau_ns, set_scale, stp_last, stp_r, stp_u):
    """Efficacy of an event at driver ``(h, d)`` at ``t_ns``; updates the driver's state."""
    if drv[D_STP, h, d] == 0:
        return 1.0
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


@njit(cache=True)
def deliver(t_ns, t_end_ns, inp, label, neuron, coef, flags, nstate,
            weights, addresses, row_modes, drv, stp_u_param, stp_tau_ns, set_scale,
            stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target,
            corr_on, tau_corr_ns, t_pre, t_post, causal, acausal):
    """Route one event through crossbar, drivers and synapses; return True if it reached
    an FPGA output (and so is recorded)."""
    if neuron >= 0 and corr_on:
        hn = neuron // 256
        cn = neuron % 256
        for r in range(256):
            tp = t_pre[hn, r, cn]
            if tp >= 0:
                causal[hn, r, cn] += np.exp(-(t_ns - tp) / tau_corr_ns)
        t_post[neuron] = t_ns
    to_fpga = False
    addr = label & 63
    rowsel = (label >> 6) & 31
    for o in range(12):
        if xb_en[inp, o] == 0 or (label & xb_mask[inp, o]) != xb_target[inp, o]:
            continue
        if o >= 8:
            to_fpga = True
            continue
        h = o // 4
        bus = o % 4
        for j in range(32):
            d = j * 4 + bus
            if drv[D_ENABLE, h, d] == 0 or ((rowsel ^ j) & ~drv[D_RSMASK, h, d] & 31) != 0:
                continue
            eff = stp_efficacy(h, d, t_ns, drv, stp_u_param, stp_tau_ns, set_scale,
                               stp_last, stp_r, stp_u)
            for r in range(2 * d, 2 * d + 2):
                mode = row_modes[h, r]
                if mode == 0:
                    continue
                for c in range(256):
                    if addresses[h, r, c] != addr:
                        continue
                    n = h * 256 + c
                    wgt = weights[h, r, c]
                    if wgt > 0:
                        if mode == 1:
                            nstate[S_IE, n] += wgt * eff * coef[K_GAIN_E, n] * np.exp(
                                -(t_end_ns - t_ns) / coef[K_TAU_E_NS, n])
                        else:
                            nstate[S_II, n] += wgt * eff * coef[K_GAIN_I, n] * np.exp(
                                -(t_end_ns - t_ns) / coef[K_TAU_I_NS, n])
                    if corr_on:
                        tq = t_post[n]
                        if tq >= 0:
                            acausal[h, r, c] += np.exp(-(t_ns - tq) / tau_corr_ns)
                        t_pre[h, r, c] = t_ns
    return to_fpga


@njit(cache=True)
def neuron_step(n, t_ns, h_ns, coef, flags, nstate, ref_end):
    """Advance neuron ``n`` by one step from ``t_ns``; return the spike time (ns) or -1."""
    v = nstate[S_V, n]
    w = nstate[S_W, n]
    ie = nstate[S_IE, n]
    ii = nstate[S_II, n]
    e_l = coef[K_EL, n]
    spike_t = -1
    if t_ns < ref_end[n]:
        v_new = coef[K_VRESET, n]
    else:
        i_dc = coef[K_ICONST, n] - w
        dt_mv = coef[K_DT, n]
        if dt_mv > 0.0:
            arg = (v - coef[K_VT, n]) / dt_mv
            if arg > EXP_ARG_MAX:
                arg = EXP_ARG_MAX
            i_dc += coef[K_GL, n] * dt_mv * np.exp(arg)
        coba_e = flags[F_COBA_E, n] != 0
        coba_i = flags[F_COBA_I, n] != 0
        if not coba_e and not coba_i:
            v_new = (e_l + (v - e_l) * coef[K_EM, n] + i_dc * coef[K_LSCALE, n]
                     + ie * coef[K_KE, n] - ii * coef[K_KI, n])
        else:
            g_tot = coef[K_GL, n]
            drive = coef[K_GL, n] * e_l + i_dc
            if coba_e:
                ge = ie * coef[K_AVG_E, n]
                g_tot += ge
                drive += ge * coef[K_EEXC, n]
            else:
                drive += ie * coef[K_AVG_E, n]
            if coba_i:
                gi = ii * coef[K_AVG_I, n]
                g_tot += gi
                drive += gi * coef[K_EINH, n]
            else:
                drive -= ii * coef[K_AVG_I, n]
            if g_tot > 0.0:
                v_inf = drive / g_tot
                v_new = v_inf + (v - v_inf) * np.exp(-g_tot * coef[K_H_OVER_C, n])
            else:
                v_new = v + drive * coef[K_H_OVER_C, n]
        if flags[F_FIRE, n] != 0 and v_new >= coef[K_VTH, n]:
            frac = 0.0
            if v < coef[K_VTH, n]:
                frac = (coef[K_VTH, n] - v) / (v_new - v)
            spike_t = t_ns + int(frac * h_ns)
            if spike_t >= t_ns + h_ns:
                spike_t = t_ns + h_ns - 1
            v_new = coef[K_VRESET, n]
            ref_end[n] = spike_t + flags[F_TAU_REF_NS, n]
    # adaptation, held at the step's starting voltage (exact exponential relaxation)
    a = coef[K_A, n]
    w_inf = a * (v - e_l)
    w = w_inf + (w - w_inf) * coef[K_EW, n]
    if spike_t >= 0:
        w += coef[K_B, n]
    nstate[S_V, n] = v_new
    nstate[S_W, n] = w
    nstate[S_IE, n] = ie * coef[K_ES_E, n]
    nstate[S_II, n] = ii * coef[K_ES_I, n]
    return spike_t


@njit(cache=True)
def integrate_window(
    k0, n_steps, h_ns, coef, flags, nstate, ref_end, spike_count,
    weights, addresses, row_modes, drv, stp_u_param, stp_tau_ns, set_scale,
    stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target,
    bg, bg_next_ns, bg_rng,
    ev_t, ev_in, ev_label,
    corr_on, tau_corr_ns, t_pre, t_post, causal, acausal,
    madc_neuron, madc_every, madc_t, madc_v,
    cadc_period_ns, cadc_t, cadc_v,
    out_t, out_label, out_neuron,
):
    """Integrate steps ``k0 .. k0+n_steps-1`` of one chip.

    ``ev_*`` are the window's input events sorted by time (ns), on crossbar inputs
    ``ev_in``. Records go into the preallocated ``madc_*``, ``cadc_*`` and ``out_*``
    buffers. Stops early, at a step boundary, when ``out_*`` could overflow. Returns
    ``(steps_done, n_out, n_madc, n_cadc)``."""
    n_neurons = nstate.shape[1]
    n_ev = ev_t.shape[0]
    cap_out = out_t.shape[0]
    bg_per_step = 8 * (h_ns // 4 + 1)
    buf_cap = n_ev + bg_per_step + n_neurons
    sb_t = np.empty(buf_cap, np.int64)
    sb_in = np.empty(buf_cap, np.int64)
    sb_label = np.empty(buf_cap, np.int64)
    sb_neuron = np.empty(buf_cap, np.int64)
    sb_key = np.empty(buf_cap, np.int64)
    ei = 0
    n_out = 0
    n_madc = 0
    n_cadc = 0
    for s in range(n_steps):
        if n_out + buf_cap > cap_out:
            return s, n_out, n_madc, n_cadc
        k = k0 + s
        t0 = k * h_ns
        t1 = t0 + h_ns
        # readouts see the state at the start of the step
        if madc_neuron >= 0 and k % madc_every == 0:
            madc_t[n_madc] = t0
            madc_v[n_madc] = adc_code(nstate[S_V, madc_neuron], 10)
            n_madc += 1
        if cadc_period_ns > 0 and (t0 // cadc_period_ns) != ((t0 - 1) // cadc_period_ns):
            cadc_t[n_cadc] = t0
            for n in range(n_neurons):
                cadc_v[n_cadc, n] = adc_code(nstate[S_V, n], 8)
            n_cadc += 1
        m = 0
        # external events of this step
        while ei < n_ev and ev_t[ei] < t1:
            sb_t[m] = ev_t[ei]
            sb_in[m] = ev_in[ei]
            sb_label[m] = ev_label[ei]
            sb_neuron[m] = -1
            sb_key[m] = ev_label[ei]
            m += 1
            ei += 1
        # background generators
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
        # neurons
        for n in range(n_neurons):
            ts = neuron_step(n, t0, h_ns, coef, flags, nstate, ref_end)
            if ts >= 0:
                spike_count[n] += 1
                sb_t[m] = ts
                sb_in[m] = n // 64
                sb_label[m] = flags[F_LABEL, n]
                sb_neuron[m] = n
                sb_key[m] = 2 * 65536 + n
                m += 1
        if m == 0:
            continue
        # total order: time, then source key
        for i in range(m):
            sb_key[i] = (sb_t[i] - t0) * 262144 + sb_key[i]
        order = np.argsort(sb_key[:m], kind="mergesort")
        for i in order:
            lab = sb_label[i]
            nn = sb_neuron[i]
            if deliver(sb_t[i], t1, sb_in[i], lab, nn, coef, flags, nstate,
                       weights, addresses, row_modes, drv, stp_u_param, stp_tau_ns, set_scale,
                       stp_last, stp_r, stp_u, xb_en, xb_mask, xb_target,
                       corr_on, tau_corr_ns, t_pre, t_post, causal, acausal):
                out_t[n_out] = sb_t[i]
                out_label[n_out] = lab
                out_neuron[n_out] = nn
                n_out += 1
    return n_steps, n_out, n_madc, n_cadc
