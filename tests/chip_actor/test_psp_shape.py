"""One synaptic event's PSP against the analytic difference of exponentials.

A current-based event of amplitude ``I0 = weight · gain`` at ``t_e`` drives a leaky membrane
(``τ_m = C/g_L``) with ``I0 e^{-(t - t_e)/τ_s}``; the membrane answers with::

    v(t) - E_L = I0/C · τ_m τ_s/(τ_m - τ_s) · (e^{-(t - t_e)/τ_m} - e^{-(t - t_e)/τ_s})

(``I0/C · t e^{-t/τ}`` when ``τ_m = τ_s``, ``I0/C · τ_s (1 - e^{-t/τ_s})`` without leak).
Events arrive anywhere inside a step; the kernel delivers them at the step's end together
with the membrane's exact response over the rest of the step, and integrates the linear
current-based dynamics exactly from one step boundary to the next. So at every step
boundary the emulated PSP equals the analytic one up to rounding (measured: < 2e-12): the
tolerance is 1e-9 of the peak and of the area, far below the ``1 - e^{-(t_end - t_e)/τ_s}``
of the PSP that a delivery without that response loses (28 % at τ_s = 0.3 µs, 2 % at 5 µs
for an event at a step's start; 2e-4 at 5 µs for one 1 ns before its end).

A conductance-based event gets the same response, driven by ``E_rev - v`` at the step's
end; its PSP is compared with a high-accuracy ODE solution (scipy's DOP853). There the
later steps replace the conductance's time course by its step average, which is accurate to
about ``h²/(12 τ_s τ_m)`` (3e-4 at τ_s = 0.3 µs, τ_m = 10 µs): the tolerance is 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip, _step_coefficients
from bss2emu.protocol import coordinates as C
from bss2emu.protocol.hardware import MADC_EXC_SYNIN, MADC_INH_SYNIN, MADC_MEMBRANE, ChipConfig

from test_madc_sources import H_NS, LABEL, WEIGHT, madc_config  # neuron 0 with one synapse per receptor

TAU_M_US = 10.0
K_EVENT = 3  # the event's step
RTOL = 1e-9  # of the peak: rounding only (see the module docstring)


def run_psp(tau_s_us: float, t_event_ns: int, tau_m_us: float = TAU_M_US, receptor: str = "exc",
            steps: int = 400, refractory: bool = False, coba: bool = False) -> tuple[np.ndarray, np.ndarray, Chip]:
    """Neuron 0 (not firing) with exactly these time constants gets one event at
    ``t_event_ns``; returns (times in ns of the step boundaries after the event's step,
    membrane - E_L there, the chip). ``refractory``: neuron 0 is refractory during the
    event's step; ``coba``: the input is conductance-based."""
    # a conductance-based input at gain bias 500 (6 pS per LSB): a PSP of a few mV
    gm = {f"i_bias_syn_{receptor}_gm": 500} if coba else {}
    cfg = madc_config(MADC_MEMBRANE, enable_fire=0, **{f"coba_{receptor}": int(coba)}, **gm)
    chip = Chip(cfg, ideal=True)
    n = chip.physics.c_m.size
    full = np.full(n, 1.0)
    g_l = chip.physics.c_m / tau_m_us if np.isfinite(tau_m_us) else 0.0 * full
    chip.physics = chip.physics._replace(g_l=g_l, tau_exc=tau_s_us * full, tau_inh=tau_s_us * full)
    chip.coef = _step_coefficients(chip.physics, H_NS * 1e-3)
    label = LABEL[MADC_EXC_SYNIN if receptor == "exc" else MADC_INH_SYNIN]
    chip.run_window(0, K_EVENT, *Chip.no_events())
    if refractory:
        chip.ref_end[0] = (K_EVENT + 1) * H_NS
    chip.run_window(K_EVENT, 1, np.array([t_event_ns]), np.array([8]), np.array([label]))
    v = [chip.nstate[K.S_V, 0]]
    for k in range(K_EVENT + 1, K_EVENT + steps):
        chip.run_window(k, 1, *Chip.no_events())
        v.append(chip.nstate[K.S_V, 0])
    t = (np.arange(steps) + K_EVENT + 1) * H_NS
    return t, np.array(v) - chip.coef[K.K_EL, 0], chip


def analytic_psp(t_us: np.ndarray, i0_na: float, c_pf: float, tau_m_us: float, tau_s_us: float) -> np.ndarray:
    """v - E_L (mV) at ``t_us`` after the event (nA, pF, µs)."""
    if not np.isfinite(tau_m_us):
        return i0_na / c_pf * tau_s_us * -np.expm1(-t_us / tau_s_us)
    if tau_m_us == tau_s_us:
        return i0_na / c_pf * t_us * np.exp(-t_us / tau_s_us)
    return i0_na / c_pf * tau_m_us * tau_s_us / (tau_m_us - tau_s_us) * (np.exp(-t_us / tau_m_us)
                                                                          - np.exp(-t_us / tau_s_us))


def psp_errors(tau_s_us, offset_ns, tau_m_us=TAU_M_US, receptor="exc"):
    """(peak error, area error, worst sample error), each relative to the analytic PSP's
    peak or area over the sampled step boundaries."""
    t_event = K_EVENT * H_NS + offset_ns
    steps = 400 if np.isfinite(tau_m_us) else 100
    t, u, chip = run_psp(tau_s_us, t_event, tau_m_us, receptor, steps)
    gain = chip.coef[K.K_GAIN_E if receptor == "exc" else K.K_GAIN_I, 0]
    sign = 1.0 if receptor == "exc" else -1.0
    want = sign * analytic_psp((t - t_event) * 1e-3, WEIGHT * gain, chip.coef[K.K_C, 0], tau_m_us, tau_s_us)
    peak = np.abs(want).max()
    return (abs(np.abs(u).max() - peak) / peak, abs(u.sum() - want.sum()) / abs(want.sum()),
            np.abs(u - want).max() / peak)


@pytest.mark.parametrize("tau_m_ns,tau_s_ns", [(10e3, 300.0), (10e3, 5e3), (5e3, 5e3), (5e3, 5e3 * (1 + 1e-12)),
                                               (np.inf, 300.0), (300.0, np.inf), (np.inf, np.inf), (8.0, 300.0)])
def test_psp_response_is_the_integral(tau_m_ns, tau_s_ns):
    """``kernels.psp_response`` against numerical quadrature, also where the closed form
    cancels (τ_m ≈ τ_s) or divides by zero (τ_m = τ_s, no leak, no synaptic decay)."""
    c_pf = 2.3
    r = 1.0 / tau_s_ns - 1.0 / tau_m_ns
    scale = 1e-3 / (c_pf * (r if r != 0.0 else 1.0))
    for x in (1, 37, 100, 10_000):
        es = np.exp(-x / tau_s_ns)
        want = 1e-3 / c_pf * quad(lambda y: np.exp(-(x - y) / tau_m_ns - y / tau_s_ns), 0, x, epsabs=0,
                                  epsrel=1e-13)[0]
        assert K.psp_response(x, es, tau_s_ns, r, scale) == pytest.approx(want, rel=1e-12, abs=0)


@pytest.mark.parametrize("offset_ns", [0, 1, 50, 99])
@pytest.mark.parametrize("tau_s_us", [0.3, 1.0, 5.0])
def test_current_based_psp_is_exact_at_step_boundaries(tau_s_us, offset_ns):
    peak_err, area_err, worst = psp_errors(tau_s_us, offset_ns)
    assert peak_err < RTOL and area_err < RTOL and worst < RTOL


@pytest.mark.parametrize("tau_m_us,tau_s_us", [(5.0, 5.0), (np.inf, 0.3), (np.inf, 5.0), (0.3, 5.0)],
                         ids=["tau_m=tau_s", "no-leak-fast", "no-leak-slow", "tau_m<tau_s"])
def test_current_based_psp_in_the_limits(tau_m_us, tau_s_us):
    for offset_ns in (0, 37):
        assert max(psp_errors(tau_s_us, offset_ns, tau_m_us)) < RTOL


def test_inhibitory_psp_is_the_negative_one():
    assert max(psp_errors(0.3, 20, receptor="inh")) < RTOL


def test_a_refractory_neuron_keeps_its_reset_but_not_the_synaptic_input():
    t_event = K_EVENT * H_NS + 10
    _, u, chip = run_psp(0.3, t_event, refractory=True, steps=3)
    assert u[0] == chip.coef[K.K_VRESET, 0] - chip.coef[K.K_EL, 0]  # held at reset in the step
    i0 = WEIGHT * chip.coef[K.K_GAIN_E, 0]
    es = np.exp(-H_NS / chip.coef[K.K_TAU_E_NS, 0])
    assert chip.nstate[K.S_IE, 0] == pytest.approx(i0 * np.exp(-(H_NS - 10) / 300.0) * es ** 2, rel=1e-12)


@pytest.mark.parametrize("offset_ns", [0, 50])
@pytest.mark.parametrize("receptor,tau_s_us", [("exc", 0.3), ("exc", 5.0), ("inh", 0.3)])
def test_conductance_based_psp_follows_the_ode(receptor, tau_s_us, offset_ns):
    t_event = K_EVENT * H_NS + offset_ns
    t, u, chip = run_psp(tau_s_us, t_event, receptor=receptor, coba=True)
    c = chip.coef[:, 0]
    e_l, c_m, g_l = c[K.K_EL], c[K.K_C], c[K.K_GL]
    e_rev, g0 = (c[K.K_EEXC], WEIGHT * c[K.K_GAIN_E]) if receptor == "exc" else (c[K.K_EINH], WEIGHT * c[K.K_GAIN_I])

    def dv_dt(s_us, v):
        return (-g_l * v + g0 * np.exp(-s_us / tau_s_us) * (e_rev - e_l - v)) / c_m

    s_us = (t - t_event) * 1e-3
    want = solve_ivp(dv_dt, (0.0, s_us[-1]), [0.0], method="DOP853", t_eval=s_us, rtol=1e-12, atol=1e-12).y[0]
    peak = np.abs(want).max()
    assert peak > 1.0  # mV: a PSP worth the name
    assert abs(np.abs(u).max() - peak) / peak < 1e-3
    assert abs(u.sum() - want.sum()) / abs(want.sum()) < 1e-3
    assert np.abs(u - want).max() / peak < 1e-3


@pytest.mark.parametrize("drive_off", [False, True], ids=["still-driven", "drive-switched-off"])
def test_a_crossing_by_a_delivered_response_fires_at_the_next_step_start(drive_off):
    """A neuron resting just below threshold on a constant current is carried over it by an
    event's response at the end of the event's step; it fires at the next step's start, also
    when its membrane falls back during that step (its current switched off there)."""
    cfg = madc_config(MADC_MEMBRANE, v_threshold=537, i_const=427)  # rests 0.025 mV below threshold
    chip = Chip(cfg, ideal=True)
    c = chip.coef[:, 0]
    chip.nstate[K.S_V, 0] = c[K.K_EL] + c[K.K_ICONST] / c[K.K_GL]
    assert 0 < c[K.K_VTH] - chip.nstate[K.S_V, 0] < 0.1
    chip.run_window(0, K_EVENT, *Chip.no_events())
    t1 = (K_EVENT + 1) * H_NS
    chip.run_window(K_EVENT, 1, np.array([K_EVENT * H_NS]), np.array([8]), np.array([LABEL[MADC_EXC_SYNIN]]))
    assert chip.nstate[K.S_V, 0] > c[K.K_VTH] and chip.spike_count[0] == 0
    if drive_off:
        chip.set_neuron_values("i_const", [0], 0)
    chip.run_window(K_EVENT + 1, 1, *Chip.no_events())
    assert chip.spike_count[0] == 1
    assert chip.ref_end[0] - chip.flags[K.F_TAU_REF_NS, 0] == t1


@pytest.mark.parametrize("seed", range(20))
def test_psp_classes_are_np_uniques_classes_of_the_coefficient_bits(seed):
    """``kernels.psp_classes`` numbers the neurons' (τ_s, rate difference, scale) bit patterns
    as ``np.unique(axis=0)`` does — NaN, ±0.0 and ±inf included — on few and on many classes."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 5, 512]))
    pool = np.array([0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 2.5, 1e-300])[:int(rng.integers(1, 10))]
    coef = np.zeros((K.N_COEF, n))
    rows = (K.K_TAU_E_NS, K.K_RDIFF_E_NS, K.K_PSP_E, K.K_TAU_I_NS, K.K_RDIFF_I_NS, K.K_PSP_I)
    for row in rows:
        coef[row] = rng.normal(size=n) if rng.random() < 0.2 else rng.choice(pool, size=n)
    got, n_class = K.psp_classes(coef)
    expected = [np.unique(np.ascontiguousarray(coef[list(rows[3 * r:3 * r + 3])].T).view(np.int64), axis=0,
                          return_inverse=True) for r in (0, 1)]
    assert n_class == max(1, *(len(u) for u, _ in expected))
    assert all(np.array_equal(got[r], inv.ravel()) for r, (_, inv) in enumerate(expected))


def test_a_mismatched_chip_has_a_delivery_class_per_distinct_neuron():
    ideal, real = (Chip(ChipConfig(), serial=3, ideal=i) for i in (True, False))
    assert ideal.psp_tab.shape[1] == 1 and not ideal.psp_class.any()
    assert real.psp_tab.shape[1] == C.NEURONS_PER_CHIP  # (every circuit's τ_s differs)
