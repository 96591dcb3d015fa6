"""Calibrating the inter-compartment conductance of structured neurons, measured through
the CADC as on hardware.

The target is the inter-compartment time constant τ_icc = C / g_icc of a circuit that
reaches the somatic line through the conductance (or g_icc in nS, with the nominal
capacitance). Circuits are measured in pairs of row neighbours: circuit A reaches the line
through its conductance, the line joins its right neighbour B directly; both leaks are off
and only A receives the stimulus. After a short kick the difference v_A - v_B relaxes as

    d(v_A - v_B)/dt = -g (1/C_A + 1/C_B) (v_A - v_B)  →  τ_exchange = τ_icc / 2   (C_A ≈ C_B)

(an excitatory kick, then an inhibitory one, alternately, so the membranes stay mid-range).
The conductance is linear in its bias, so one probe setting gives each circuit's τ_icc(d) =
τ_probe · d_probe / d and the setting for the target. Even circuits are measured with their
right neighbours, then odd ones; the last column (no right neighbour) keeps the nominal
setting.

>>> dac = calibrate_conductance(tau_icc_us=4.0, serial=0, ideal=True)
>>> int(dac[0]), int(dac[255])   # 2.3 pF / (4.5 nS · 128) = 4.0 µs
(128, 128)
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..chip_actor.analog import SYN_GAIN_NA_PER_LSB
from ..protocol.hardware import G_ICC_US_PER_LSB
from .bench import LABEL_EXC, LABEL_INH, Bench, cadc_mv
from .fit import fit_decay
from .measure import CADC_PERIOD_NS, QUIET, event_time_us

N = C.NEURONS_PER_CHIP
PROBE_DAC = 60  # g_icc ≈ 0.27 µS: τ_icc ≈ 8.5 µs at full capacitance
NOMINAL_C_PF = 2.3  # capacitance setting 63
REPEATS = 7  # kicks, each one bench step later against the CADC's 560 ns grid
KICK_US = 30.0  # one kick's recording: > 4 exchange time constants at the probe
KICK_MV = 200.0  # well above the CADC's 4.7 mV codes, and the membranes stay inside its range
# the synaptic gain bias of that kick: 64 rows · 63 LSB · gain · 0.3 µs / 2.3 pF
KICK_GM = int(round(KICK_MV * NOMINAL_C_PF / (64 * 63 * SYN_GAIN_NA_PER_LSB * 0.3)))


def nominal_dac(tau_icc_us) -> np.ndarray:
    """The setting that gives ``tau_icc_us`` on an ideal circuit at full capacitance."""
    return NOMINAL_C_PF / (np.asarray(tau_icc_us, dtype=np.float64) * G_ICC_US_PER_LSB)


def measure_tau_icc(bench: Bench, parity: int, dac: int = PROBE_DAC) -> np.ndarray:
    """τ_icc (µs) at setting ``dac`` of the circuits in columns of ``parity`` (0 even, 1
    odd) that have a right neighbour; NaN for the others."""
    col = np.arange(N) % C.COLUMNS_PER_HEMISPHERE
    a = (col % 2 == parity) & (col < C.COLUMNS_PER_HEMISPHERE - 1)
    b = np.roll(a, 1)
    zero = np.zeros(N, np.int64)
    bench.write(**QUIET, i_bias_leak=0, capacitance=63, connect_right=zero, connect_vertical=zero,
                enable_conductance=a.astype(np.int64), connect_soma_right=a.astype(np.int64),
                connect_soma=b.astype(np.int64), i_bias_conductance=np.where(a, dac, 0),
                conductance_division=zero, conductance_multiplication=zero,
                i_bias_syn_exc_gm=np.where(a, KICK_GM, 0), i_bias_syn_inh_gm=np.where(a, KICK_GM, 0),
                i_bias_syn_exc_tau=1000, i_bias_syn_inh_tau=1000)  # τ_syn 0.3 µs
    bench.set_stim_weight(63)  # 64 rows · 63 LSB at KICK_GM for 0.3 µs: a kick of ≈ KICK_MV on A
    ts, ys = [], []
    for k in range(REPEATS):
        rec = bench.run(KICK_US, [event_time_us(k)], [LABEL_EXC if k % 2 == 0 else LABEL_INH],
                        cadc_period_ns=CADC_PERIOD_NS)
        ys.append(cadc_mv(rec.cadc) - cadc_mv(np.roll(rec.cadc, -1, axis=1)))  # v_A - v_B in A's column
        ts.append(rec.cadc_t_us - event_time_us(k))
    t, y = np.concatenate(ts), np.concatenate(ys)
    valid = (t[:, None] > 1.5) & (np.abs(y) > 4 * 1200.0 / 255)  # after the kick, above quantisation
    tau = 2.0 * fit_decay(t, y, valid)
    return np.where(a, tau, np.nan)


def calibrate_conductance(tau_icc_us: float | None = None, g_ns: float | None = None, serial: int = 0,
                          ideal: bool = False) -> np.ndarray:
    """``i_bias_conductance`` per circuit (512) for the target τ_icc (µs), or g_icc (nS, with
    the nominal capacitance 2.3 pF: τ_icc = 2.3 pF / g); measured on chip ``serial``."""
    if (tau_icc_us is None) == (g_ns is None):
        raise ConfigError("calibrate_conductance: give one target, tau_icc_us or g_ns")
    tau = float(tau_icc_us) if tau_icc_us is not None else NOMINAL_C_PF / (float(g_ns) * 1e-3)
    lo, hi = NOMINAL_C_PF / (C.DAC_MAX * G_ICC_US_PER_LSB), NOMINAL_C_PF / G_ICC_US_PER_LSB
    if not lo * 1.2 <= tau <= hi / 1.2:
        raise ConfigError(f"calibrate_conductance: τ_icc = {tau:.3g} µs is outside the reachable range "
                          f"{lo * 1.2:.3g}..{hi / 1.2:.3g} µs (full capacitance; g_icc 4.5 nS .. 4.6 µS); "
                          f"choose a target inside it")
    nominal = np.full(N, nominal_dac(tau))
    if ideal:
        return np.clip(np.rint(nominal), 1, C.DAC_MAX).astype(np.int64)
    bench = Bench(serial, ideal=False)
    measured = np.fmin(measure_tau_icc(bench, 0), measure_tau_icc(bench, 1))  # fmin: the non-NaN one
    dac = np.where(np.isfinite(measured), PROBE_DAC * measured / tau, nominal)
    return np.clip(np.rint(dac), 1, C.DAC_MAX).astype(np.int64)
