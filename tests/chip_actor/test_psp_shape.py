"""The membrane's response to a synaptic event within a step (``kernels.psp_response``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from bss2emu.chip_actor import kernels as K


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
