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
setting. As calix's ``CalibrateICCMADC`` decides it, a target that would need a setting
below 63 divides the conductance by 8, one above 959 multiplies it by 8. A target as a
conductance g_icc (nS) is the τ_icc of the nominal 2.3 pF (capacitance 63). calix's own
target (``NeuronCalibTarget.tau_icc``) is the exchange time constant of such a pair with
a minimal leak, ≈ τ_icc / 2.

>>> dac = calibrate_conductance(tau_icc_us=4.0, serial=0, ideal=True)
>>> int(dac[0]), int(dac[255])   # 2.3 pF / (3.3 nS · 174) = 4.0 µs
(174, 174)
>>> s = conductance_settings(np.r_[40.0, 0.3, np.full(510, np.nan)], ideal=True)
>>> s["i_bias_conductance"][:3].tolist(), s["conductance_division"][:3].tolist(), s["conductance_multiplication"][:3].tolist()
([139, 290, 0], [1, 0, 0], [0, 1, 0])
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..chip_actor.analog import SYN_GAIN_NA_PER_LSB
from ..protocol.hardware import G_ICC_US_PER_LSB
from .bench import LABEL_EXC, LABEL_INH, Bench, cadc_mv
from .fit import fit_decay
from .measure import CADC_PERIOD_NS, QUIET, event_time_us

N = C.NEURONS_PER_CHIP
PROBE_DAC = 60  # g_icc ≈ 0.2 µS: τ_icc ≈ 12 µs at full capacitance
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


DIVISION_BELOW_DAC = 63  # calix's prelude: a target the bias reaches only below 63 (above 959) divides (multiplies)
MULTIPLICATION_ABOVE_DAC = C.DAC_MAX - 63
DIVIDE_BY = 8.0  # conductance_division / conductance_multiplication


def nominal_c_pf() -> float:
    """The circuit capacitance at setting 63 (pF) that turns a g_icc target into τ_icc."""
    return NOMINAL_C_PF


def _check_tau(tau: np.ndarray) -> None:
    lo = NOMINAL_C_PF / (C.DAC_MAX * G_ICC_US_PER_LSB * DIVIDE_BY)
    hi = NOMINAL_C_PF * DIVIDE_BY / G_ICC_US_PER_LSB
    bad = np.isfinite(tau) & ~((tau >= lo * 1.2) & (tau <= hi / 1.2))
    if bad.any():
        t = float(tau[bad][0])
        raise ConfigError(f"inter-compartment conductance target τ_icc = {t:.3g} µs (g_icc = {NOMINAL_C_PF / t * 1e3:.3g} "
                          f"nS at 2.3 pF) is outside the reachable range {lo * 1.2:.3g} .. {hi / 1.2:.3g} µs (g_icc "
                          f"{NOMINAL_C_PF * 1.2 / hi * 1e3:.3g} nS .. {NOMINAL_C_PF / (lo * 1.2):.3g} µS, with the "
                          f"conductance's division and multiplication); choose a target inside it")


@functools.lru_cache(maxsize=8)
def tau_icc_per_lsb(serial: int, ideal: bool = False) -> np.ndarray:
    """τ_icc · setting (µs·LSB) of every circuit (512) of chip ``serial``: measured in pairs at
    the probe setting (the conductance is linear in its bias); the last column, which has no
    right neighbour to measure against, gets the nominal value. Kept for the process."""
    nominal = NOMINAL_C_PF / G_ICC_US_PER_LSB
    if ideal:
        return np.full(N, nominal)
    bench = Bench(serial, ideal=False)
    measured = np.fmin(measure_tau_icc(bench, 0), measure_tau_icc(bench, 1))  # fmin: the non-NaN one
    out = np.where(np.isfinite(measured), measured * PROBE_DAC, nominal)
    out.flags.writeable = False
    return out


def conductance_settings(tau_icc_us, serial: int = 0, ideal: bool = False) -> dict[str, np.ndarray]:
    """The settings per circuit (512) that realise ``tau_icc_us`` (512 values, NaN: none
    asked): ``i_bias_conductance`` and, as calix's prelude decides them, the division (a
    setting below 63 would be needed) or multiplication (above 959). Circuits without a
    target get 0 everywhere."""
    tau = np.broadcast_to(np.asarray(tau_icc_us, dtype=np.float64), (N,))
    _check_tau(tau)
    want = np.isfinite(tau)
    dac = np.zeros(N)
    if want.any():
        dac[want] = tau_icc_per_lsb(int(serial), bool(ideal))[want] / tau[want]
    division = want & (dac < DIVISION_BELOW_DAC)
    multiplication = want & (dac > MULTIPLICATION_ABOVE_DAC)
    dac = np.where(division, dac * DIVIDE_BY, np.where(multiplication, dac / DIVIDE_BY, dac))
    return {"i_bias_conductance": np.where(want, np.clip(np.rint(dac), 1, C.DAC_MAX), 0).astype(np.int64),
            "conductance_division": division.astype(np.int64),
            "conductance_multiplication": multiplication.astype(np.int64)}


def tau_of_target(tau_icc_us: float | None = None, g_ns: float | None = None) -> float:
    """One target as τ_icc (µs): given so, or g_icc (nS) with the nominal 2.3 pF."""
    if (tau_icc_us is None) == (g_ns is None):
        raise ConfigError("inter-compartment conductance target: give one target, tau_icc_us or g_ns")
    return float(tau_icc_us) if tau_icc_us is not None else NOMINAL_C_PF / (float(g_ns) * 1e-3)


def calibrate_conductance(tau_icc_us: float | None = None, g_ns: float | None = None, serial: int = 0,
                          ideal: bool = False) -> np.ndarray:
    """``i_bias_conductance`` per circuit (512) for the target τ_icc (µs), or g_icc (nS, with
    the nominal capacitance 2.3 pF: τ_icc = 2.3 pF / g), without division or multiplication;
    measured on chip ``serial``."""
    tau = tau_of_target(tau_icc_us, g_ns)
    lo, hi = NOMINAL_C_PF / (C.DAC_MAX * G_ICC_US_PER_LSB), NOMINAL_C_PF / G_ICC_US_PER_LSB
    if not lo * 1.2 <= tau <= hi / 1.2:
        raise ConfigError(f"calibrate_conductance: τ_icc = {tau:.3g} µs is outside the reachable range "
                          f"{lo * 1.2:.3g}..{hi / 1.2:.3g} µs (full capacitance, no division or multiplication; "
                          f"g_icc {G_ICC_US_PER_LSB * 1e3:.2g} nS .. {G_ICC_US_PER_LSB * C.DAC_MAX:.2g} µS); "
                          f"choose a target inside it")
    return np.clip(np.rint(tau_icc_per_lsb(int(serial), bool(ideal)) / tau), 1, C.DAC_MAX).astype(np.int64)
