"""The synapse array in its analog multiply-accumulate (MAC) mode, vectorised.

In MAC mode (HICANN-X v3) a vector entry ``x_i`` (5 bit, 0…31) is sent as a pulse of length
``x_i`` on synapse row pair ``i``; the pair holds the signed weight ``w_ij`` (−63…63: one
row excitatory, one inhibitory); every column ``j`` integrates the charge on its neuron's
membrane and the CADC reads it as a signed 8-bit value. Per column::

    y_j = clip(round(g_j · s · c(τ) · Σ_i x_i w_ij + o_j + n), -128, 127)

with ``s`` = ``num_sends`` (the vector is sent ``s`` times), ``c(τ) = 1 - exp(-τ/τ_settle)``
normalised to 1 at the default ``wait_between_events`` τ = 5 FPGA cycles (shorter waits let
successive pulses overlap and lose charge), ``g_j`` the column's gain, ``o_j`` its offset
(codes) and ``n`` the CADC's read noise (codes, normal, fresh per read). A hemisphere has
``SIGNED_ROWS`` = 128 row pairs × 256 columns; the chip two hemispheres: larger products are
cut into blocks of at most 128 inputs × 512 outputs, each read as 8 bit and summed in
software (as hxtorch does).

Mismatch: ``g_j = GAIN_NOMINAL · exp(N(0, GAIN_SPREAD))`` and ``o_j = N(0,
OFFSET_SPREAD_CODES)``, drawn once from ``SeedSequence([salt, serial])`` — a fixed property of
the chip. ``calibrate`` measures each column the way the real set-up does (mean of repeated
reads at zero input for the offset, at a reference input for the gain) and stores trims: an
integer offset correction and a gain correction with ``GAIN_TRIM_STEP`` resolution. What
remains after calibration (``MacCalibration.residual_gain``/``residual_offset``) is the
calibrated spread. An ideal chip has no mismatch and no noise: exact arithmetic.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C

INPUT_MAX = 31  # 5-bit pulse length
WEIGHT_MAX = C.WEIGHT_MAX  # 63: a row pair gives -63..63
OUTPUT_MIN, OUTPUT_MAX = -128, 127  # 8-bit signed CADC read
SIGNED_ROWS = 128  # row pairs per hemisphere
COLUMNS = 2 * 256  # columns of both hemispheres
GAIN_NOMINAL = 0.002  # codes per unit of Σ x·w at one send, after calibration
GAIN_SPREAD = 0.08  # 1 sigma, log-normal, before calibration
OFFSET_SPREAD_CODES = 6.0
NOISE_CODES = 1.0  # read noise, 1 sigma
GAIN_TRIM_STEP = 0.005  # relative resolution of the per-column gain correction
TAU_SETTLE_CYCLES = 1.5
DEFAULT_WAIT = 5
_MAC_SALT = 0x3AC


def settle_factor(wait_between_events: int) -> float:
    """Charge kept per pulse at this wait (FPGA cycles), relative to the default wait of 5."""
    w = int(wait_between_events)
    return (1.0 - np.exp(-w / TAU_SETTLE_CYCLES)) / (1.0 - np.exp(-DEFAULT_WAIT / TAU_SETTLE_CYCLES))


class MacCalibration(NamedTuple):
    """Per-column trims found by ``calibrate``: multiply by ``gain_trim``, add ``offset_trim``
    (codes); ``measured_gain``/``measured_offset`` what the measurement saw."""

    gain_trim: np.ndarray
    offset_trim: np.ndarray
    measured_gain: np.ndarray
    measured_offset: np.ndarray


def check_operands(x: np.ndarray, w: np.ndarray, num_sends: int, wait_between_events: int, what: str) -> None:
    """A ``ConfigError`` naming ``what``, the value, the limit and the fix for anything the
    array cannot take."""
    if x.shape[-1] != w.shape[0]:
        raise ConfigError(f"{what}: input has {x.shape[-1]} entries per vector, the weight matrix {w.shape[0]} rows "
                          f"(shape {tuple(w.shape)}); give weights of shape (in, out) = ({x.shape[-1]}, out)")
    if x.size and (x.min() < 0 or x.max() > INPUT_MAX):
        bad = x.min() if x.min() < 0 else x.max()
        raise ConfigError(f"{what}: input value {bad:g} is outside the 5-bit range 0..{INPUT_MAX}; scale and round "
                          f"the input into 0..{INPUT_MAX} (e.g. converting_relu)")
    if w.size and np.abs(w).max() > WEIGHT_MAX:
        raise ConfigError(f"{what}: weight {w.flat[np.abs(w).argmax()]:g} is outside the signed 6-bit range "
                          f"-{WEIGHT_MAX}..{WEIGHT_MAX}; clamp the weights (nn modules do: weight_transform)")
    if isinstance(num_sends, bool) or int(num_sends) != num_sends or not 1 <= num_sends <= 255:
        raise ConfigError(f"{what}: num_sends={num_sends!r} must be an integer 1..255")
    if isinstance(wait_between_events, bool) or int(wait_between_events) != wait_between_events or \
            not 1 <= wait_between_events <= 1000:
        raise ConfigError(f"{what}: wait_between_events={wait_between_events!r} must be an integer 1..1000 FPGA cycles")


class MacArray:
    """The MAC-mode synapse array of chip ``serial`` (``ideal``: no mismatch, no noise)."""

    def __init__(self, serial: int = 0, ideal: bool = False, seed: int = 0) -> None:
        self.serial, self.ideal = int(serial), bool(ideal)
        if ideal:
            self.gain = np.full(COLUMNS, GAIN_NOMINAL)
            self.offset = np.zeros(COLUMNS)
            self.noise = 0.0
        else:
            rng = np.random.default_rng(np.random.SeedSequence([_MAC_SALT, self.serial]))
            self.gain = GAIN_NOMINAL * np.exp(rng.normal(0.0, GAIN_SPREAD, COLUMNS))
            self.offset = rng.normal(0.0, OFFSET_SPREAD_CODES, COLUMNS)
            self.noise = NOISE_CODES
        self._noise_rng = np.random.default_rng(np.random.SeedSequence([_MAC_SALT, self.serial, int(seed), 1]))
        self.calibration: Optional[MacCalibration] = None
        self.reads = 0

    def _block(self, x: np.ndarray, w: np.ndarray, columns: np.ndarray, num_sends: int, wait: int) -> np.ndarray:
        """One hardware pass: x (batch, ≤128) ints, w (≤128, ≤512) ints on ``columns``."""
        acc = x @ w  # exact integers (float64 holds them exactly)
        g = self.gain[columns]
        o = self.offset[columns]
        if self.calibration is not None:
            g = g * self.calibration.gain_trim[columns]
            o = o + self.calibration.offset_trim[columns]
        # the integers first: Σ x·w · sends is exact, so on an ideal chip one rounding (by the gain)
        # leaves exact halves exact and np.rint rounds them to even, as documented
        y = acc * (num_sends * settle_factor(wait)) * g + o
        if self.noise:
            y = y + self._noise_rng.normal(0.0, self.noise, y.shape)
        self.reads += y.shape[0]
        return np.clip(np.rint(y), OUTPUT_MIN, OUTPUT_MAX)

    def matmul(self, x, w, num_sends: int = 1, wait_between_events: int = DEFAULT_WAIT) -> np.ndarray:
        """``x`` (…, in) 0…31 and ``w`` (in, out) −63…63 → (…, out) 8-bit results summed over
        the blocks of 128 inputs (each block one read per 512 columns)."""
        x = np.asarray(x, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        check_operands(x, w, num_sends, wait_between_events, "matmul")
        lead = x.shape[:-1]
        x2 = np.rint(x.reshape(-1, x.shape[-1]))
        w = np.rint(w)
        out = np.zeros((x2.shape[0], w.shape[1]))
        for r0 in range(0, w.shape[0], SIGNED_ROWS):
            for c0 in range(0, w.shape[1], COLUMNS):
                c1 = min(c0 + COLUMNS, w.shape[1])
                cols = np.arange(c1 - c0)
                out[:, c0:c1] += self._block(x2[:, r0:r0 + SIGNED_ROWS], w[r0:r0 + SIGNED_ROWS, c0:c1], cols,
                                             num_sends, wait_between_events)
        return out.reshape(*lead, w.shape[1])

    def calibrate(self, repeats: int = 64) -> MacCalibration:
        """Measure and trim every column's offset and gain through reads only (no access to
        the mismatch): offset = mean read at zero input; gain = (mean read at a reference
        input − offset) / the reference's Σ x·w; trims quantised as the hardware's are."""
        self.calibration = None
        zero = np.zeros((repeats, SIGNED_ROWS))
        w_ref = np.zeros((SIGNED_ROWS, COLUMNS))
        w_ref[:8] = 20.0  # reference: 8 rows at weight 20, input 31 → Σ = 4960, ≈ 10 codes · 1 send
        sends = 8  # ≈ 80 codes: far from saturation, well above the noise
        x_ref = np.zeros((repeats, SIGNED_ROWS))
        x_ref[:, :8] = 31.0
        cols = np.arange(COLUMNS)
        offset = self._block(zero, w_ref, cols, 1, DEFAULT_WAIT).mean(axis=0)
        ref = self._block(x_ref, w_ref, cols, sends, DEFAULT_WAIT).mean(axis=0)
        gain = (ref - offset) / (sends * 8 * 31 * 20.0)
        gain_trim = 1.0 + np.round((GAIN_NOMINAL / np.maximum(gain, 1e-12) - 1.0) / GAIN_TRIM_STEP) * GAIN_TRIM_STEP
        self.calibration = MacCalibration(gain_trim, -np.round(offset), gain, offset)
        return self.calibration

    def residual(self) -> tuple[np.ndarray, np.ndarray]:
        """Relative gain error and offset (codes) per column after calibration (for tests and
        the documentation of the calibrated spread; reads the model, not the chip)."""
        g, o = self.gain.copy(), self.offset.copy()
        if self.calibration is not None:
            g *= self.calibration.gain_trim
            o += self.calibration.offset_trim
        return g / GAIN_NOMINAL - 1.0, o


def ideal_matmul(x, w, num_sends: int = 1, wait_between_events: int = DEFAULT_WAIT) -> np.ndarray:
    """The exact integer reference: ``clip(round(GAIN_NOMINAL · s · c · x @ w), -128, 127)`` per
    block of 128 inputs, summed (the plain numpy twin of an ideal ``MacArray``)."""
    x = np.rint(np.asarray(x, dtype=np.float64))
    w = np.rint(np.asarray(w, dtype=np.float64))
    out = 0.0
    for r0 in range(0, w.shape[0], SIGNED_ROWS):
        acc = x[..., r0:r0 + SIGNED_ROWS] @ w[r0:r0 + SIGNED_ROWS]
        out = out + np.clip(np.rint(acc * (num_sends * settle_factor(wait_between_events)) * GAIN_NOMINAL),
                            OUTPUT_MIN, OUTPUT_MAX)
    return out * np.ones(x.shape[:-1] + (w.shape[1],))
