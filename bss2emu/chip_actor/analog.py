"""DAC values → physical neuron parameters, with per-circuit fixed-pattern mismatch.

Every analog circuit of a real chip maps its CapMem value to a physical quantity a little
differently; that is why BSS-2 needs calibration. Here each circuit gets a gain (and, for
voltages, an offset) drawn once from ``SeedSequence([serial, ...])``, so a chip's mismatch
is a fixed property of its serial number. ``ideal=True`` switches mismatch off.

Units: mV, µs, pF, µS, nA (pF·mV/µs = nA, µS·mV = nA).

Nominal maps (before mismatch), on the chip's 0–1200 mV scale that both ADCs read:

* **Voltage cells do not share one map.** The leak, reset and threshold CapMem cells feed
  different circuits (the leak OTA, the reset switch, the spike comparator), so the same
  DAC value means different membrane voltages (``VOLTAGE_MAPS``; brainscales2-demos
  ``ts_00-single_neuron``: "a lower threshold setting of 300 may correspond to a higher leak
  potential of 700"). **The leak**: what the tutorials read on real chips (MADC codes,
  1.174 mV each here) — leak 700: 327 (the AdEx tutorial's figure, below), 375 (``ts_00``'s
  silent neuron), 373 (``fp_calibration``'s sample fit ``MADC = 0.79·DAC − 180``, measured
  over leak 500–900); leak 530: 300 (``cns_02``'s solution asks for rest 300) and 239
  (``fp_calibration``'s fit). The chips differ by up to 61 codes at the same DAC value, and
  the slopes the points imply lie between 0.16 codes per LSB (``cns_02`` against the AdEx
  figure) and 0.79 (``fp_calibration``). Below ``LEAK_KNEE_DAC`` = 700 the map runs at
  ``LEAK_MV_PER_LSB`` = 0.55 mV (0.47 codes) per LSB into the AdEx figure's point: leak 500
  ≙ 274 mV (234 codes), 530 ≙ 291 mV (248: 52 below ``cns_02``'s, 9 above
  ``fp_calibration``'s), 700 ≙ 384 mV (327); only leak 0 and 1 are floored at ground, so
  ``cns_01``'s first trace (leak 500) rests at 234 codes and its sweep over 0–1022 rises
  throughout. From leak 700 on it runs at ``LEAK_UPPER_MV_PER_LSB`` = 2.4 mV per LSB to
  1157 mV at 1022 (the map this module had alone before: every setting from 700 up acts as
  it did), which keeps the calibration window (``calib.targets``: up to 1150 mV for every
  voltage, on which the NEST view's −95…15 mV and the reset and threshold calibrations —
  the membrane parked on the leak up to 1000 mV — rest) in reach; at 0.55 mV per LSB leak
  1022 would give 561 mV. The knee is bss2emu's, not a measured shape: real chips' leak
  keeps its slope (``cns_01``'s solution: "approximately linear, with saturation near the
  parameter boundaries"; calix accepts leak targets up to 160 CADC reads), so leak 1000
  reads 941 codes here against ~500–600 on the tutorials' chips (``fp_calibration``'s fit;
  ``ts_00``'s leak-over-threshold sawtooths, whose rise times at leak 1000 put the leak
  there), and leak-over-threshold neurons at leak 1000 (``ts_00``, ``fp_singleNeuron``) fire
  faster than on a real chip. Calibration fits the leak's line on the stretched scale
  (``VoltageMap.linear_dac``) on which the map is one line. **The threshold**, likewise: the
  leak's lower line shifted by ``THRESHOLD_SHIFT_LSB`` = 390 DAC steps up to where it meets
  the former map (the leak's upper line shifted by ``THRESHOLD_UPPER_SHIFT_LSB`` = 315, 2.4
  mV per LSB), at threshold 407 ≙ 439 mV, and that map above. ``cns_02`` (leak 530,
  threshold 250, ``leak_i_bias`` 150) asks for rest and threshold reads 50 codes apart
  ("300" and "350"); here they lie 60.5 mV (52 codes) apart, which 229 LSB of constant
  current bridge at this module's leak conductance and current scale (below), so it does
  not fire without current and finds its rheobase between ``i_offset`` 200 and 270, where
  its task 5 looks; ``ts_00``'s threshold 300 equals leak 690 (its "threshold 300 … leak
  700"); threshold 500 ≙ 660 mV (563 codes, where ``ts_00``'s fixed-pattern figure turns at
  400–430: the upper line's cost), below leak 1000, so ``fp_singleNeuron`` (leak 1000,
  threshold 500) fires tonically; the AdEx tutorial's threshold 620 lies at 807 codes,
  above its figures' 750-code top, which the spikes' upswings cross. The reset's map runs
  through reset 400 ≙ 150 mV (128 codes) and the calibration window's top at 1022 (1.61 mV
  per LSB): ``ts_00``'s leak-over-threshold experiment (reset 400, threshold 300 ≙ 379 mV,
  plotted over 100–800 codes) draws its sawtooth inside its plot, and the AdEx tutorial's
  reset slider default 600 lies 74 codes above its rest, as its transient-spiking figure (``adex-transient.png``: rest 318,
  reset ≈ 400) shows (``ts_00``'s sawtooth, on another chip, spans 232–400 codes): the maps
  follow the AdEx tutorial, whose dynamics depend on where rest, reset and exponential
  onset lie. The other voltages (reversal potentials, V_T, …) keep ``MV_PER_DAC`` with no
  offset. A cell drives no voltage below ground: results are floored at 0 mV.
* **Synaptic strength** (``SYN_GAIN_NA_PER_LSB``, per weight LSB and per ``i_bias_syn_*_gm``
  LSB): with hxtorch's default calibration (leak 80, threshold 125 CADC, τ 10 µs,
  ``i_synin_gm`` 500) one software weight unit is 55 hardware weight steps
  (``ts_12-hxtorch_snn_intro``'s measured ``weight_scaling``, whose plot shows the matched
  PSPs), so a weight-63 event peaks at 63/55/e ≈ 0.42 of the leak→threshold distance:
  1.77 pA per weight LSB per bias LSB (current-based). A conductance-based input keeps its
  former 6 pS (no public figure found): as strong as the current-based one at a driving force
  of ``COBA_EQUIVALENT_DRIVE_MV`` = 295 mV.
* **The leak conductance, the constant current and the adaptation circuit**
  (``G_LEAK_US_PER_LSB``, ``I_CONST_NA_PER_LSB``, ``ADAPTATION_A_US_PER_LSB``,
  ``TAU_W_US_TIMES_LSB``, ``ADAPTATION_MOHM``, and where the leak map sits): from the solution
  figure of brainscales2-demos ``fp_adex_complex_dynamics`` (``_static/tutorial/
  adex-subthreshold.png``), the one public trace of the AdEx circuit with known settings: the
  first widget's defaults — leak 700, ``leak_i_bias`` 70 (its ``leak_enable_division``
  default never reaches the experiment: ``build_gui`` passes only its sliders), capacitance
  63, ``adaptation_i_bias_a`` 10, ``adaptation_i_bias_tau`` 100, ``adaptation_v_ref`` 500, a
  step of ``constant_current_i_offset`` 300 from 0.1 to 0.7 ms. Digitised (membrane and
  adaptation panels, 0.0018 ms per pixel column) and least-squares fitted with the linear
  AdEx (``C dV/dt = -g_L (V-E_L) - w + I``, ``τ_w dw/dt = a (V-E_L) - w``, the MADC reading
  V_w = V_ref + w·R), 1.4 codes RMS over both traces: rest 328 codes, ``τ_m`` 15.3 µs,
  ``a/g_L`` = 0.54, ``τ_w`` = 173 µs, ``I/g_L`` = 144 codes, baseline 425 codes, and
  ``R·a`` = 0.80 (the adaptation trace rises 0.80 codes per code of membrane rise). With the
  capacitance's 2.3 pF at setting 63 (lola: "the maximum value at 63 is ~2.3pF"):
  g_L = 2.3 pF / 15.3 µs = 0.150 µS at ``leak_i_bias`` 70, 2.15 nS per LSB; I = 144 codes ·
  1.174 mV · 0.150 µS = 25.4 nA at 300, 85 pA per LSB; a = 0.54 · 0.150 µS / 10 = 8.1 nS
  per LSB; ``τ_w`` = 173 µs · 100 = 17.3 ms / value; R = 0.80 / 81 nS = 9.8 MΩ; the leak map
  puts leak 700 at 384 mV (327 codes, above); V_ref maps ``v_adapt_ref`` as the plain voltage cells
  (1.17 mV/LSB) less ``ADAPTATION_REF_OFFSET_MV`` (500 reads 425 codes). The spike-triggered
  b (``ADAPTATION_B_NA_PER_LSB``) from the spike-frequency-adaptation and bursting solution
  figures (``adex-adaptation.png``, ``adex-bursting.png``, at the widget's default
  ``adaptation_i_bias_b`` 200): each spike lifts the adaptation trace by 45–50 codes, Δw =
  48 codes · 1.174 mV / 9.8 MΩ = 5.8 nA: 29 pA per LSB. The other
  tutorials agree within their chips' spread: ``cns_02`` asks for ``τ_m`` = 10 µs at
  ``leak_i_bias`` 150 (here 7.1 µs) and finds its rheobase at ~227 LSB with rest and
  threshold 50 codes apart (here 229 LSB bridge 60.5 mV, 52 codes). The figure's initial slope
  read off by eye (8.2 mV/µs ≙ 64 pA/LSB) is lower than the fit's I/C (11 mV/µs): the
  MADC's first samples after the step lag; the fit over the whole trace sets the scale.
  The a circuit has one range (lola ``AtomicNeuron.Adaptation``: ``enable``,
  ``enable_pulse``, ``invert_a``, ``invert_b``, ``v_ref``, ``i_bias_tau``, ``i_bias_a``,
  ``i_bias_b``, ``v_leak`` — no division or multiplication, unlike the leak), so a's step
  is 8.1 nS at every setting: a neuron of ``τ_m`` = 9.4 µs at capacitance 63 (g_L 0.245 µS,
  NEST's ``aeif_cond_exp`` defaults) realises a/g_L in steps of 0.033 — a = 2 and 4 nS of
  NEST's g_L = 30 nS fall 1 % from the steps 2 and 4.
* **The adaptation state as a voltage** (``adaptation_mv``): the chip keeps w on a capacitor
  around its baseline ``adaptation_v_ref`` (``fp_adex_complex_dynamics``: "the silicon neuron
  keeps track of the adaptation state in form of a voltage, which is then converted into a
  current"), and the MADC reads that voltage: V_w = V_ref + w · ``ADAPTATION_MOHM``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX as IDX
from ..protocol.hardware import G_ICC_US_PER_LSB, NEURON_PARAMETERS, NeuronConfig

MV_PER_DAC = 1200.0 / C.DAC_MAX


class VoltageMap(NamedTuple):
    """A voltage cell's nominal map (floored at 0 mV): the line ``mv_per_lsb · dac + offset_mv``
    below DAC value ``knee_dac`` and the line ``upper_mv_per_lsb · dac + upper_offset_mv``
    from it on (the two meet at the knee) (no knee: ``knee_dac`` infinite). ``linear_dac`` stretches the DAC scale above the
    knee so that the map is one line on it, the line calibration fits (``calib.models``).

    >>> m = VoltageMap(0.5, 10.0, knee_dac=100.0, upper_mv_per_lsb=2.0, upper_offset_mv=-140.0)
    >>> float(m.mv(100)), float(m.mv(110)), float(m.dac_of_linear(m.linear_dac(107.5)))
    (60.0, 80.0, 107.5)
    """

    mv_per_lsb: float
    offset_mv: float
    knee_dac: float = np.inf
    upper_mv_per_lsb: float = np.nan
    upper_offset_mv: float = np.nan

    def line_mv(self, dac):
        """The map before the floor at 0 mV (float64)."""
        d = np.asarray(dac, dtype=np.float64)
        if not np.isfinite(self.knee_dac):
            return d * self.mv_per_lsb + self.offset_mv
        return np.where(d >= self.knee_dac, d * self.upper_mv_per_lsb + self.upper_offset_mv,
                        d * self.mv_per_lsb + self.offset_mv)

    def mv(self, dac):
        return np.maximum(self.line_mv(dac), 0.0)

    def linear_dac(self, dac):
        """DAC values on the scale the map is one line on (slope ``mv_per_lsb``): ``dac`` up to
        the knee, stretched by ``upper_mv_per_lsb / mv_per_lsb`` above it."""
        d = np.asarray(dac, dtype=np.float64)
        if not np.isfinite(self.knee_dac):
            return d
        return d + (self.upper_mv_per_lsb / self.mv_per_lsb - 1.0) * np.maximum(d - self.knee_dac, 0.0)

    def dac_of_linear(self, u):
        """The inverse of ``linear_dac`` (a float DAC value)."""
        u = np.asarray(u, dtype=np.float64)
        if not np.isfinite(self.knee_dac):
            return u
        return np.where(u > self.knee_dac,
                        self.knee_dac + (u - self.knee_dac) * self.mv_per_lsb / self.upper_mv_per_lsb, u)

    def step_mv(self, dac):
        """The map's step (mV per LSB) from ``dac`` to the next value (above the floor)."""
        d = np.asarray(dac, dtype=np.float64)
        return np.where(d >= self.knee_dac, self.upper_mv_per_lsb, self.mv_per_lsb)


LEAK_MV_PER_LSB = 0.55  # below the knee, through leak 700 ≙ 384 mV (327 MADC codes) (module docstring)
LEAK_UPPER_MV_PER_LSB = 2.4  # above the knee: leak 1022 ≙ 1157 mV, the calibration window's top in reach
LEAK_KNEE_DAC = 700
_LEAK_OFFSET_MV = 384.0 - LEAK_KNEE_DAC * LEAK_MV_PER_LSB
_LEAK_UPPER_OFFSET_MV = 384.0 - 700 * LEAK_UPPER_MV_PER_LSB
THRESHOLD_SHIFT_LSB = 390  # below its knee, threshold d ≙ leak d + 390 (on the leak's lower line)
THRESHOLD_UPPER_SHIFT_LSB = 315  # above it, threshold d ≙ leak d + 315 (on the leak's upper line)
_THRESHOLD_OFFSET_MV = _LEAK_OFFSET_MV + THRESHOLD_SHIFT_LSB * LEAK_MV_PER_LSB
_THRESHOLD_UPPER_OFFSET_MV = _LEAK_UPPER_OFFSET_MV + THRESHOLD_UPPER_SHIFT_LSB * LEAK_UPPER_MV_PER_LSB
# where the threshold's two lines meet: 0.55·d + 213.5 = 2.4·d − 540 at d = 407.3
_THRESHOLD_KNEE_DAC = (_THRESHOLD_UPPER_OFFSET_MV - _THRESHOLD_OFFSET_MV) / (LEAK_MV_PER_LSB - LEAK_UPPER_MV_PER_LSB)
RESET_MV_AT_400 = 150.0  # reset 400 ≙ 150 mV, and 1022 ≙ the calibration window's top, 1150 mV (module docstring)
RESET_MV_PER_LSB = (1150.0 - RESET_MV_AT_400) / (C.DAC_MAX - 400)
VOLTAGE_MAPS: dict[str, VoltageMap] = {
    "v_leak": VoltageMap(LEAK_MV_PER_LSB, _LEAK_OFFSET_MV, LEAK_KNEE_DAC, LEAK_UPPER_MV_PER_LSB, _LEAK_UPPER_OFFSET_MV),
    "v_threshold": VoltageMap(LEAK_MV_PER_LSB, _THRESHOLD_OFFSET_MV, _THRESHOLD_KNEE_DAC, LEAK_UPPER_MV_PER_LSB,
                              _THRESHOLD_UPPER_OFFSET_MV),
    "v_reset": VoltageMap(RESET_MV_PER_LSB, RESET_MV_AT_400 - 400 * RESET_MV_PER_LSB),
}
DEFAULT_VOLTAGE_MAP = VoltageMap(MV_PER_DAC, 0.0)  # reversal potentials, V_T and the other voltage cells
ADAPTATION_REF_OFFSET_MV = 88.6  # adaptation_v_ref 500 reads 425 MADC codes (module docstring)
VOLTAGE_MAPS["v_adapt_ref"] = VoltageMap(MV_PER_DAC, -ADAPTATION_REF_OFFSET_MV)
ADAPTATION_MOHM = 9.8
"""R of V_w = V_ref + w · R (MΩ: nA · MΩ = mV), the adaptation capacitor's voltage per
adaptation current (module docstring)."""
ADAPTATION_A_US_PER_LSB = 0.0081  # subthreshold adaptation a per i_bias_adapt_a LSB (module docstring)
ADAPTATION_B_NA_PER_LSB = 0.029  # spike-triggered adaptation b per i_bias_adapt_b LSB (module docstring)
TAU_W_US_TIMES_LSB = 17300.0  # τ_w = this / i_bias_adapt_tau (module docstring)


def voltage_map(name: str) -> VoltageMap:
    """The nominal map of voltage parameter ``name`` (``VOLTAGE_MAPS`` or the default)."""
    return VOLTAGE_MAPS.get(name, DEFAULT_VOLTAGE_MAP)


SYN_GAIN_NA_PER_LSB = 1.77e-3  # current-based, nA per weight LSB per i_bias_syn_*_gm LSB
COBA_EQUIVALENT_DRIVE_MV = 295.0
SYN_GAIN_US_PER_LSB = SYN_GAIN_NA_PER_LSB / COBA_EQUIVALENT_DRIVE_MV  # conductance-based, µS per weight and bias LSB
I_CONST_NA_PER_LSB = 0.085  # constant current per i_const LSB (module docstring)
G_LEAK_US_PER_LSB = 0.00215  # leak conductance per i_bias_leak LSB (module docstring)
# relative spread (1 sigma) of each analog parameter's gain, and voltage offsets in mV
GAIN_SPREAD = 0.08
CAPACITANCE_SPREAD = 0.03
VOLTAGE_OFFSET_SPREAD_MV = 15.0
_MISMATCH_SALT = 0xB552
_MISMATCH_DRAWN = IDX["enable_fire"] + 1  # parameters with a drawn mismatch: the first 26


class Mismatch(NamedTuple):
    """Per-circuit deviations: ``gain[neuron, parameter]`` and ``offset_mv[neuron, parameter]``."""

    gain: np.ndarray
    offset_mv: np.ndarray


def chip_mismatch(serial: int, ideal: bool = False) -> Mismatch:
    """The fixed-pattern mismatch of the chip with this serial number."""
    n, p = C.NEURONS_PER_CHIP, len(NEURON_PARAMETERS)
    if ideal:
        return Mismatch(np.ones((n, p)), np.zeros((n, p)))
    rng = np.random.default_rng(np.random.SeedSequence([_MISMATCH_SALT, int(serial)]))
    # draw for the parameters up to enable_fire only: those declared after it are digital
    # switches without mismatch, and drawing the same numbers keeps every chip as it was
    drawn = _MISMATCH_DRAWN
    gain, offset = np.ones((n, p)), np.zeros((n, p))
    gain[:, :drawn] = np.exp(rng.normal(0.0, GAIN_SPREAD, size=(n, drawn)))
    gain[:, IDX["capacitance"]] = np.exp(rng.normal(0.0, CAPACITANCE_SPREAD, size=n))
    offset[:, :drawn] = rng.normal(0.0, VOLTAGE_OFFSET_SPREAD_MV, size=(n, drawn))
    # drawn after the others, so adding it left every earlier chip's mismatch as it was
    gain[:, IDX["i_bias_conductance"]] = np.exp(rng.normal(0.0, GAIN_SPREAD, size=n))
    offset[:, IDX["v_adapt_ref"]] = rng.normal(0.0, VOLTAGE_OFFSET_SPREAD_MV, size=n)  # (as the one above)
    return Mismatch(gain, offset)


class NeuronPhysics(NamedTuple):
    """Physical per-circuit parameters (arrays of 512), as the kernel integrates them."""

    e_l: np.ndarray  # mV
    v_reset: np.ndarray  # mV
    v_th: np.ndarray  # mV
    v_t: np.ndarray  # mV, exponential threshold
    e_exc: np.ndarray  # mV
    e_inh: np.ndarray  # mV
    g_l: np.ndarray  # µS
    delta_t: np.ndarray  # mV (0: exponential term off)
    a: np.ndarray  # µS (0: off)
    b: np.ndarray  # nA
    tau_w: np.ndarray  # µs
    tau_exc: np.ndarray  # µs
    tau_inh: np.ndarray  # µs
    gain_exc: np.ndarray  # nA (CUBA) or µS (COBA) per weight LSB
    gain_inh: np.ndarray
    i_const: np.ndarray  # nA
    c_m: np.ndarray  # pF
    tau_ref_ns: np.ndarray  # int64 ns, digital (no mismatch)
    coba_exc: np.ndarray  # bool
    coba_inh: np.ndarray  # bool
    fire: np.ndarray  # bool
    g_icc: np.ndarray | None = None  # µS, inter-compartment conductance (where enable_conductance is on)
    v_adapt_ref: np.ndarray | None = None  # mV, the adaptation capacitor's baseline (MADC readout only)


def capacitance_pf(setting) -> np.ndarray:
    """The nominal membrane capacitance (pF) of a capacitance setting 0…63: 2.3 pF·(setting+1)/64."""
    return 2.3 * (np.asarray(setting, dtype=np.float64) + 1.0) / 64.0


def _inverse_tau(value: np.ndarray, scale_us: float) -> np.ndarray:
    """Time constant from a bias current: tau = scale / value, infinite at value 0."""
    with np.errstate(divide="ignore"):
        return np.where(value > 0, scale_us / np.maximum(value, 1e-300), np.inf)


def neuron_physics(config: NeuronConfig, mismatch: Mismatch) -> NeuronPhysics:
    """Apply the DAC → physical maps and the chip's mismatch to a neuron configuration."""
    v = config.values.astype(np.float64)
    g, off = mismatch.gain, mismatch.offset_mv

    def volt(name):
        i = IDX[name]
        m = voltage_map(name)  # voltage cells mismatch by an offset
        return np.maximum(m.line_mv(v[:, i]) + off[:, i], 0.0)

    def lin(name, per_lsb):
        i = IDX[name]
        return v[:, i] * per_lsb * g[:, i]

    def flag(name):
        return config.values[:, IDX[name]] != 0

    exp_on = flag("enable_exponential")
    adapt_on = flag("enable_adaptation")
    coba_e, coba_i = flag("coba_exc"), flag("coba_inh")
    sign_a = np.where(flag("invert_a"), -1.0, 1.0)
    sign_b = np.where(flag("invert_b"), -1.0, 1.0)
    # synaptic gain per weight LSB and per bias LSB (module docstring)
    gain_e = lin("i_bias_syn_exc_gm", 1.0) * np.where(coba_e, SYN_GAIN_US_PER_LSB, SYN_GAIN_NA_PER_LSB)
    gain_i = lin("i_bias_syn_inh_gm", 1.0) * np.where(coba_i, SYN_GAIN_US_PER_LSB, SYN_GAIN_NA_PER_LSB)
    ref_cycles = config.values[:, IDX["refractory_count"]] << config.values[:, IDX["refractory_clock"]]
    return NeuronPhysics(
        e_l=volt("v_leak"),
        v_reset=volt("v_reset"),
        v_th=volt("v_threshold"),
        v_t=volt("v_exp"),
        e_exc=volt("e_rev_exc"),
        e_inh=volt("e_rev_inh"),
        g_l=lin("i_bias_leak", G_LEAK_US_PER_LSB) * np.where(flag("leak_division"), 0.125, 1.0)
        * np.where(flag("leak_multiplication"), 8.0, 1.0),
        delta_t=np.where(exp_on, lin("i_bias_exp", 0.05), 0.0),
        a=np.where(adapt_on, sign_a * lin("i_bias_adapt_a", ADAPTATION_A_US_PER_LSB), 0.0),
        b=np.where(adapt_on, sign_b * lin("i_bias_adapt_b", ADAPTATION_B_NA_PER_LSB), 0.0),
        tau_w=_inverse_tau(lin("i_bias_adapt_tau", 1.0), TAU_W_US_TIMES_LSB),
        tau_exc=_inverse_tau(lin("i_bias_syn_exc_tau", 1.0), 300.0),
        tau_inh=_inverse_tau(lin("i_bias_syn_inh_tau", 1.0), 300.0),
        gain_exc=gain_e,
        gain_inh=gain_i,
        i_const=lin("i_const", I_CONST_NA_PER_LSB),
        c_m=capacitance_pf(v[:, IDX["capacitance"]]) * g[:, IDX["capacitance"]],
        tau_ref_ns=(ref_cycles * 4).astype(np.int64),  # 250 MHz base clock: 4 ns per cycle
        coba_exc=coba_e,
        coba_inh=coba_i,
        fire=flag("enable_fire"),
        g_icc=lin("i_bias_conductance", G_ICC_US_PER_LSB) * np.where(flag("conductance_division"), 0.125, 1.0)
        * np.where(flag("conductance_multiplication"), 8.0, 1.0),
        v_adapt_ref=volt("v_adapt_ref"),
    )


def adaptation_mv(physics: NeuronPhysics, neuron: int, w_na) -> np.ndarray:
    """The adaptation capacitor's voltage (mV) of circuit ``neuron`` at adaptation current
    ``w_na`` (nA): V_w = V_ref + w · ``ADAPTATION_MOHM`` (module docstring), what the MADC reads."""
    return physics.v_adapt_ref[neuron] + np.asarray(w_na, np.float64) * ADAPTATION_MOHM


def stp_utilisation(util_hw) -> np.ndarray:
    """4-bit STP utilisation → U in (0, 1]: U = (value + 1) / 16."""
    return (np.asarray(util_hw, dtype=np.float64) + 1.0) / 16.0


def stp_tau_us(recovery_hw) -> np.ndarray:
    """4-bit STP recovery → time constant in µs: 2 µs · 2**(value/2) (2 … 362 µs)."""
    return 2.0 * 2.0 ** (np.asarray(recovery_hw, dtype=np.float64) / 2.0)


# --- correlation sensors ----------------------------------------------------------------------
# A sensor's exponential window (``exp(-Δt/τ)`` per pre/post pair, ``kernels``) has its time
# constant from the CapMem current ``syn_i_bias_ramp`` and its amplitude (CADC codes per pair at
# Δt = 0) from ``syn_i_bias_store``, one cell per quadrant. Both fall as their current rises (calix
# calibrates both ``inverted=True``); bss2emu takes them inversely proportional, anchored so that
# calix's default currents (``CorrelationCalibResult``: ramp 80, store 70) give calix's default
# targets (``CorrelationCalibTarget``: 5 µs, 0.5 codes per pair). No public measurement gives the
# hardware's curve; what a kernel sees after a calibration is the calibrated amplitude and τ, up
# to the rounding of the currents to CapMem steps (``correlation_currents``).
CORRELATION_TAU_US_LSB = 400.0  # τ (µs) · syn_i_bias_ramp (LSB)
CORRELATION_AMPLITUDE_LSB = 35.0  # amplitude (CADC codes per pair) · syn_i_bias_store (LSB)


def correlation_sensor(i_bias_ramp, i_bias_store) -> tuple[float, float]:
    """The sensors' (τ in µs, amplitude in CADC codes per pair) at these CapMem currents (LSB, ≥ 1).

    >>> correlation_sensor(80, 70)
    (5.0, 0.5)
    """
    return CORRELATION_TAU_US_LSB / float(i_bias_ramp), CORRELATION_AMPLITUDE_LSB / float(i_bias_store)


def correlation_currents(tau_us: float, amplitude: float) -> tuple[int, int]:
    """The CapMem currents (``syn_i_bias_ramp``, ``syn_i_bias_store``, LSB) nearest to giving the
    time constant ``tau_us`` and ``amplitude`` (CADC codes per pair): what an ideal chip's
    calibration finds. Rounding to a whole CapMem step leaves a relative error of at most
    0.5 / current in each.

    >>> correlation_currents(30.0, 1.5), correlation_sensor(*correlation_currents(30.0, 1.5))
    ((13, 23), (30.76923076923077, 1.5217391304347827))
    """
    ramp, store = (int(np.clip(np.rint(k / x), 1, C.DAC_MAX))
                   for k, x in ((CORRELATION_TAU_US_LSB, tau_us), (CORRELATION_AMPLITUDE_LSB, amplitude)))
    return ramp, store
