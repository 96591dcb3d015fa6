"""Hardware containers: the full configuration of one emulated chip as numpy arrays.

This is what routing produces and what ``chip_actor.Chip`` loads — the emulated
counterpart of a HICANN-X configuration (neuron CapMem/digital config, synapse array,
synapse drivers with STP, crossbar, background generators, readout). All values are
integer hardware values (``_hw``); ``check()`` verifies every range.

Neuron parameters are declared once, in ``NEURON_PARAMETERS``: name, maximum, default and
the ideal DAC → physical map used by ``chip_actor.analog``. Hardware has 8 voltage and 16
current CapMem cells per neuron; the emulated model uses those listed here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError
from . import coordinates as C
from .frozen import FrozenMemo, is_frozen


class NeuronParameter(NamedTuple):
    """One per-neuron configuration value: its range, default and physical meaning."""

    name: str
    maximum: int
    default: int
    unit: str  # physical unit of the (ideal) mapped value
    doc: str


# kind is implied by the maximum: DAC cells go to 1022, digital fields have their bit width.
NEURON_PARAMETERS: tuple[NeuronParameter, ...] = (
    # leak, reset and threshold cells map differently (chip_actor.analog.VOLTAGE_MAPS); the
    # defaults are one operating point: leak 588 mV, reset 528 mV, threshold 703 mV
    NeuronParameter("v_leak", C.DAC_MAX, 785, "mV", "leak (resting) potential E_L; 2.4 mV/LSB, 384 mV at 700"),
    NeuronParameter("v_reset", C.DAC_MAX, 635, "mV", "reset potential; 1.61 mV/LSB, 150 mV at 400"),
    NeuronParameter("v_threshold", C.DAC_MAX, 518, "mV", "spike threshold (comparator); as the leak 315 LSB higher"),
    NeuronParameter("v_exp", C.DAC_MAX, 650, "mV", "exponential-term threshold V_T; 1.174 mV/LSB (the default map)"),
    NeuronParameter("e_rev_exc", C.DAC_MAX, 900, "mV", "excitatory reversal potential (conductance mode)"),
    NeuronParameter("e_rev_inh", C.DAC_MAX, 200, "mV", "inhibitory reversal potential (conductance mode)"),
    NeuronParameter("i_bias_leak", C.DAC_MAX, 105, "uS", "leak conductance g_L; 2.15 nS/LSB"),
    NeuronParameter("i_bias_exp", C.DAC_MAX, 40, "mV", "exponential slope Delta_T; 0.05 mV/LSB"),
    NeuronParameter("i_bias_adapt_a", C.DAC_MAX, 0, "uS", "subthreshold adaptation a; 8.1 nS/LSB"),
    NeuronParameter("i_bias_adapt_b", C.DAC_MAX, 0, "nA", "spike-triggered adaptation b; 29 pA/LSB"),
    NeuronParameter("i_bias_adapt_tau", C.DAC_MAX, 173, "us", "adaptation time constant tau_w = 17300 µs / value"),
    NeuronParameter("i_bias_syn_exc_tau", C.DAC_MAX, 60, "us", "excitatory synaptic tau = 300 µs / value"),
    NeuronParameter("i_bias_syn_inh_tau", C.DAC_MAX, 60, "us", "inhibitory synaptic tau = 300 µs / value"),
    NeuronParameter("i_bias_syn_exc_gm", C.DAC_MAX, 85, "nA", "excitatory gain: 1.77 pA (CUBA) or 6 pS (COBA) per weight LSB per value"),
    NeuronParameter("i_bias_syn_inh_gm", C.DAC_MAX, 85, "nA", "inhibitory gain: 1.77 pA (CUBA) or 6 pS (COBA) per weight LSB per value"),
    NeuronParameter("i_const", C.DAC_MAX, 0, "nA", "constant input current; 85 pA/LSB"),
    NeuronParameter("capacitance", C.CAPACITANCE_MAX, 63, "pF", "membrane capacitance 2.3 pF*(value+1)/64"),
    NeuronParameter("refractory_count", C.REFRACTORY_COUNT_MAX, 125, "us", "refractory counter cycles"),
    NeuronParameter("refractory_clock", C.REFRACTORY_CLOCK_MAX, 2, "us", "refractory clock = 250 MHz / 2**value"),
    NeuronParameter("enable_exponential", 1, 0, "", "switch on the exponential (AdEx) term"),
    NeuronParameter("enable_adaptation", 1, 0, "", "switch on adaptation (a, b, tau_w)"),
    NeuronParameter("invert_a", 1, 0, "", "use -a (hardware sign switch)"),
    NeuronParameter("invert_b", 1, 0, "", "use -b (hardware sign switch)"),
    NeuronParameter("coba_exc", 1, 0, "", "excitatory input conductance-based instead of current-based"),
    NeuronParameter("coba_inh", 1, 0, "", "inhibitory input conductance-based instead of current-based"),
    NeuronParameter("enable_fire", 1, 1, "", "emit spikes (threshold comparator and event output on)"),
    NeuronParameter("leak_division", 1, 0, "", "divide the leak conductance by 8 (long membrane time constants)"),
    NeuronParameter("leak_multiplication", 1, 0, "", "multiply the leak conductance by 8 (short membrane time constants)"),
    # structured neurons (``STRUCTURE_SWITCHES``): switches that join neighbouring circuits'
    # membranes, or connect a membrane to the circuit's piece of the shared somatic line —
    # directly or through the inter-compartment conductance g_icc
    NeuronParameter("connect_right", 1, 0, "", "join the membrane with the right neighbour's (same row)"),
    NeuronParameter("connect_vertical", 1, 0, "", "join the membrane with the other row's circuit of the "
                    "column (two switches in series: set on both circuits)"),
    NeuronParameter("connect_soma", 1, 0, "", "connect the membrane directly to the somatic line"),
    NeuronParameter("connect_soma_right", 1, 0, "", "join the somatic line with the right neighbour's"),
    NeuronParameter("enable_conductance", 1, 0, "", "connect the membrane to the somatic line through g_icc"),
    NeuronParameter("i_bias_conductance", C.DAC_MAX, 0, "uS", "inter-compartment conductance g_icc; "
                    "3.3 nS/LSB (lola: multicompartment.i_bias_nmda)"),
    NeuronParameter("conductance_division", 1, 0, "", "divide g_icc by 8"),
    NeuronParameter("conductance_multiplication", 1, 0, "", "multiply g_icc by 8"),
    # neuron bypass: every synaptic event of the receptor leaves the neuron as its spike
    NeuronParameter("bypass_exc", 1, 0, "", "emit a spike for every excitatory synaptic event (bypass mode)"),
    NeuronParameter("bypass_inh", 1, 0, "", "emit a spike for every inhibitory synaptic event (bypass mode)"),
    # the adaptation capacitor's baseline (lola: adaptation.v_ref): w = 0 sits there; read by
    # the MADC's adaptation source only (``chip_actor.analog.adaptation_mv``)
    NeuronParameter("v_adapt_ref", C.DAC_MAX, 500, "mV", "adaptation baseline voltage (MADC readout of w)"),
)
STRUCTURE_SWITCHES = ("connect_right", "connect_vertical", "connect_soma", "connect_soma_right",
                      "enable_conductance")
"""The neuron parameters that couple circuits: a chip where all are 0 has point neurons only."""
G_ICC_US_PER_LSB = 0.0033
"""Inter-compartment conductance per ``i_bias_conductance`` LSB (µS), before division/multiplication.

From the one public hardware figure of it, brainscales2-demos' fp_multicompartment solution
(``_static/tutorial/multicompartment_chain_solution.png``: a 4-compartment chain on the nightly
calibration, ``single_active_circuit``, 10 inputs of weight 31, conductance 500 — the widget's
values): its PSP heights, each relative to the injected compartment's, average 0.642 off the
diagonal; the same experiment here gives 0.645 at 3.3 nS per value (RMS difference of the 12
ratios 0.043, the chip's mismatch), 0.712 at the former 4.5 nS (RMS 0.083).
``tests/brainscales2/test_bs2_multicompartment.py`` checks it."""
NEURON_PARAMETER_NAMES = tuple(p.name for p in NEURON_PARAMETERS)
NEURON_PARAMETER_INDEX = {p.name: i for i, p in enumerate(NEURON_PARAMETERS)}
_NEURON_MAX = np.array([p.maximum for p in NEURON_PARAMETERS], dtype=np.int64)

ROW_DISABLED, ROW_EXCITATORY, ROW_INHIBITORY = 0, 1, 2
STP_DEPRESSION, STP_FACILITATION = 0, 1
BG_REGULAR, BG_POISSON = 0, 1
# what the MADC reads (``ReadoutConfig.madc_source``); the names are BSS-2's, the index the code
MADC_SOURCES = ("membrane", "exc_synin", "inh_synin", "adaptation")
MADC_MEMBRANE, MADC_EXC_SYNIN, MADC_INH_SYNIN, MADC_ADAPTATION = range(len(MADC_SOURCES))


def _filled(shape, value=0, dtype=np.int64):
    return field(default_factory=lambda: np.full(shape, value, dtype=dtype))


@dataclass
class NeuronConfig:
    """Per-circuit configuration: ``values[neuron, parameter]`` in hardware units, and the
    16-bit label each neuron sends on its event output."""

    values: np.ndarray = field(
        default_factory=lambda: np.tile(
            np.array([p.default for p in NEURON_PARAMETERS], dtype=np.int64), (C.NEURONS_PER_CHIP, 1)
        )
    )
    address_out: np.ndarray = field(
        default_factory=lambda: np.full(C.NEURONS_PER_CHIP, C.LABEL_NO_TARGET_BIT, dtype=np.int64)
    )

    def column(self, name: str) -> np.ndarray:
        """View of one parameter for all 512 circuits (writable)."""
        try:
            return self.values[:, NEURON_PARAMETER_INDEX[name]]
        except KeyError:
            raise ConfigError(
                f"unknown neuron parameter {name!r}: known are {', '.join(NEURON_PARAMETER_NAMES)}"
            ) from None


@dataclass
class SynapseArrays:
    """Both hemispheres' synapse arrays: 6-bit weights and 6-bit addresses per synapse, and
    each row's mode (disabled / excitatory / inhibitory) which sets the weight's sign."""

    weights: np.ndarray = _filled((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE))
    addresses: np.ndarray = _filled((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE))
    row_modes: np.ndarray = _filled((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE), ROW_DISABLED)


@dataclass
class DriverConfig:
    """Synapse drivers ``[hemisphere, driver]``: row-select compare mask and STP settings.

    A driver takes an event from its PADI bus when the label's 5 row-select bits equal its
    index on the bus in every bit not set in ``row_select_mask``."""

    enable: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), 1)
    row_select_mask: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE))
    stp_enable: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE))
    stp_mode: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), STP_DEPRESSION)
    stp_utilisation: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), 7)
    stp_recovery: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), 8)
    stp_voltage_set: np.ndarray = _filled((C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE))
    # [hemisphere, set]: CapMem value scaling the STP-modulated efficacy, 511 ≙ 1.0
    stp_set_scale: np.ndarray = _filled((C.HEMISPHERES, 2), 511)


@dataclass
class CrossbarConfig:
    """Crossbar nodes ``[input, output]``: an event with label L passes a node when the node
    is enabled and ``L & mask == target``."""

    enable: np.ndarray = _filled((C.CROSSBAR_INPUTS, C.CROSSBAR_OUTPUTS))
    mask: np.ndarray = _filled((C.CROSSBAR_INPUTS, C.CROSSBAR_OUTPUTS))
    target: np.ndarray = _filled((C.CROSSBAR_INPUTS, C.CROSSBAR_OUTPUTS))


@dataclass
class BackgroundConfig:
    """The 8 background generators: regular or binned Poisson.

    Every ``period`` cycles of the 250 MHz clock a generator emits (regular) or emits with
    probability ``rate/256`` (Poisson). The label's bits in ``label_mask`` are replaced by
    random bits, so one generator can drive 2**k sources."""

    enable: np.ndarray = _filled(C.BACKGROUND_GENERATORS)
    mode: np.ndarray = _filled(C.BACKGROUND_GENERATORS, BG_REGULAR)
    period: np.ndarray = _filled(C.BACKGROUND_GENERATORS, 1000)
    rate: np.ndarray = _filled(C.BACKGROUND_GENERATORS, 128)
    seed: np.ndarray = _filled(C.BACKGROUND_GENERATORS, 1)
    label: np.ndarray = _filled(C.BACKGROUND_GENERATORS)
    label_mask: np.ndarray = _filled(C.BACKGROUND_GENERATORS)
    start_ticks: np.ndarray = _filled(C.BACKGROUND_GENERATORS)
    stop_ticks: np.ndarray = _filled(C.BACKGROUND_GENERATORS, np.iinfo(np.int64).max)


@dataclass
class ReadoutConfig:
    """MADC (one or two neurons, 10 bit) and CADC (all neurons, 8 bit) settings.

    The MADC samples neuron ``madc_neuron`` (-1: off) every ``madc_every_steps`` integration
    steps, seeing the state at the start of the step; ``madc_source`` (a code, index of
    ``MADC_SOURCES``) selects what. With a second channel (``madc_second_neuron`` ≥ 0,
    ``madc_second_source``) the MADC's input multiplexer alternates between the two sources
    sample by sample, as grenade's ``MADCReadoutView(first_source, second_source)`` switches
    it (``dynamic_mux`` period 1): the sample at step k (k a multiple of
    ``madc_every_steps``) belongs to channel ``(k // madc_every_steps) % 2`` — each channel
    gets every second sample, at its own times. The two sources sit in columns of different
    parity (one even, one odd: the two multiplexer channels), as the real chip requires.
    Each sample's ``physical`` value (``schemas.MADC``) is in the unit ``ChipConfig.madc_unit``
    names:

    * ``membrane``: v, digitised to 10 bit over 0..1200 mV (``value``); physical: mV.
    * ``exc_synin``/``inh_synin``: the synaptic input's state, unquantised (the emulator has
      no voltage to digitise for it): current i in nA (current-based input) or conductance
      g in uS (conductance-based); inhibition as a magnitude ≥ 0 that enters the membrane
      as -i or g (E_inh - v). Jump per event: weight × efficacy × gain (``analog``).
    * ``adaptation``: w in nA; it enters the membrane as -w. ``value``: the 10-bit code of
      the adaptation capacitor's voltage, ``v_adapt_ref`` + w · ``analog.ADAPTATION_MOHM``
      (``chip_actor.analog.adaptation_mv``), on the membrane's code scale.

    The CADC samples membranes every ``cadc_period_ns`` (0: only on request), 8 bit over
    0..1200 mV. Correlation sensors accumulate ``exp(-Δt/tau_corr)`` per pre/post pair and
    read as 8 bit through the CADC with ``corr_lsb`` per count (1 / ``corr_lsb`` codes per pair at
    Δt = 0: a calix correlation calibration's amplitude, ``Recordings.corr_amplitude_codes``),
    paired restricted nearest-neighbour as the BSS-2 synapse circuit (brainscales2-demos
    ``fp_brainscales.rst``, "Correlation measurements"): a post spike with the last pre spike
    before it if that came after the previous post spike (causal), a pre spike with the last
    post spike before it if that came after the previous pre spike (acausal)."""

    madc_neuron: int = -1
    madc_every_steps: int = 1
    madc_source: int = MADC_MEMBRANE
    madc_second_neuron: int = -1
    madc_second_source: int = MADC_MEMBRANE
    cadc_period_ns: int = 0
    tau_corr_us: float = 5.0
    corr_lsb: float = 0.05
    enable_correlation: bool = False


_RANGES: dict[str, tuple[str, int, int]] = {
    # attribute path -> (description, min, max)
    "synapses.weights": ("synapse weight", 0, C.WEIGHT_MAX),
    "synapses.addresses": ("synapse address", 0, C.ADDRESS_MAX),
    "synapses.row_modes": ("synapse row mode", 0, 2),
    "drivers.enable": ("driver enable", 0, 1),
    "drivers.row_select_mask": ("driver row-select mask", 0, 31),
    "drivers.stp_enable": ("driver STP enable", 0, 1),
    "drivers.stp_mode": ("driver STP mode", 0, 1),
    "drivers.stp_utilisation": ("driver STP utilisation", 0, C.STP_PARAMETER_MAX),
    "drivers.stp_recovery": ("driver STP recovery", 0, C.STP_PARAMETER_MAX),
    "drivers.stp_voltage_set": ("driver STP voltage set", 0, 1),
    "drivers.stp_set_scale": ("STP voltage-set scale", 0, C.DAC_MAX),
    "crossbar.enable": ("crossbar enable", 0, 1),
    "crossbar.mask": ("crossbar mask", 0, C.LABEL_MAX),
    "crossbar.target": ("crossbar target", 0, C.LABEL_MAX),
    "background.enable": ("background enable", 0, 1),
    "background.mode": ("background mode", 0, 1),
    "background.period": ("background period (cycles)", 1, 0xFFFF),
    "background.rate": ("background rate", 0, 0xFF),
    "background.seed": ("background seed", 1, 0xFFFFFFFF),
    "background.label": ("background label", 0, C.LABEL_MAX),
    "background.label_mask": ("background label mask", 0, C.LABEL_MAX),
    "neurons.address_out": ("neuron output label", 0, C.LABEL_MAX),
}


@dataclass
class ChipConfig:
    """Everything one emulated chip needs to run, in hardware values."""

    neurons: NeuronConfig = field(default_factory=NeuronConfig)
    synapses: SynapseArrays = field(default_factory=SynapseArrays)
    drivers: DriverConfig = field(default_factory=DriverConfig)
    crossbar: CrossbarConfig = field(default_factory=CrossbarConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)

    def copy(self, share_read_only: bool = False) -> "ChipConfig":
        """Deep copy (arrays included); ``share_read_only``: frozen arrays (read-only, owning
        their data: ``protocol.frozen``) are shared, not copied."""
        return ChipConfig(
            **{f.name: _copy_part(getattr(self, f.name), share_read_only) for f in dataclasses.fields(self)}
        )

    def check(self) -> None:
        """Raise ``ConfigError`` naming the first value outside its hardware range."""
        # (look for the bad value's index only where there is one: ``argwhere`` over every
        # synapse array costs most of a chip's set-up)
        vals = self.neurons.values
        if _neurons_outside(vals):
            n, p = np.argwhere((vals < 0) | (vals > _NEURON_MAX[None, :]))[0]
            par = NEURON_PARAMETERS[p]
            raise ConfigError(
                f"neuron circuit {n}: {par.name}={vals[n, p]} is out of range 0..{par.maximum}; "
                f"set a value within the hardware range"
            )
        if self._ranges_outside():  # (then the first array with a value outside, and where)
            for path, (what, lo, hi) in _RANGES.items():
                part, attr = path.split(".")
                arr = np.asarray(getattr(getattr(self, part), attr))
                if _outside(arr, lo, hi):
                    idx = tuple(int(i) for i in np.argwhere((arr < lo) | (arr > hi))[0])
                    raise ConfigError(
                        f"{what} at {path}{list(idx)} = {arr[idx]} is out of range {lo}..{hi}"
                    )
        for switch in ("connect_right", "connect_soma_right"):
            # the last column of a row has no right neighbour
            last = self.neurons.column(switch).reshape(C.HEMISPHERES, C.COLUMNS_PER_HEMISPHERE)[:, -1]
            if np.any(last != 0):
                n = int(np.argmax(last != 0)) * C.COLUMNS_PER_HEMISPHERE + C.COLUMNS_PER_HEMISPHERE - 1
                raise ConfigError(f"neuron circuit {n}: {switch}=1 in the last column of its row, which has no "
                                  f"right neighbour; clear it (join circuits of one row only)")
        ro = self.readout
        for which, field_n, field_s in (("", "madc_neuron", "madc_source"),
                                        ("second-channel ", "madc_second_neuron", "madc_second_source")):
            mn = getattr(ro, field_n)
            if not -1 <= mn < C.NEURONS_PER_CHIP:
                raise ConfigError(f"MADC {which}neuron {mn} is out of range: use -1 (off) or 0..511 "
                                  f"(readout.{field_n})")
            src = getattr(ro, field_s)
            if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < len(MADC_SOURCES):
                allowed = ", ".join(f"{i} ({name})" for i, name in enumerate(MADC_SOURCES))
                raise ConfigError(f"MADC {which}source {src!r} is invalid: the MADC reads {allowed}; set "
                                  f"readout.{field_s} to one of these codes (hardware.MADC_MEMBRANE, ...)")
        check_madc_pair(ro.madc_neuron, ro.madc_second_neuron, "readout.madc_neuron", "readout.madc_second_neuron")

    def _ranges_outside(self) -> bool:
        """Whether an array of ``_RANGES`` may hold a value outside its range (``check`` then
        looks for it array by array): the large ones by ``_outside``, the small int64 ones
        in one comparison of them all (one per array cost most of ``check``)."""
        small, which = [], []
        for i, ((part, attr), (_, lo, hi)) in enumerate(zip(_RANGE_PATHS, _RANGES.values())):
            arr = getattr(getattr(self, part), attr)
            if not isinstance(arr, np.ndarray) or arr.dtype != np.int64:
                return True  # (seldom: checked one by one)
            if arr.size >= _OUTSIDE_MIN_SIZE:
                if _outside(arr, lo, hi):
                    return True
            else:
                small.append(arr.reshape(-1))
                which.append((i, arr.size))
        if not small:
            return False
        lo, hi = _small_bounds(tuple(which))
        values = np.concatenate(small)
        return bool(((values < lo) | (values > hi)).any())

    def madc_channels(self) -> list[tuple[int, int]]:
        """The MADC's channels in sampling order: ``(neuron, source code)`` each (none when off)."""
        ro = self.readout
        if ro.madc_neuron < 0:
            return []
        first = (int(ro.madc_neuron), int(ro.madc_source))
        return [first] if ro.madc_second_neuron < 0 else [first, (int(ro.madc_second_neuron),
                                                                   int(ro.madc_second_source))]

    def madc_unit(self, channel: int = 0) -> str | None:
        """Unit of an MADC channel's samples (column ``physical`` of ``schemas.MADC``), None
        when the channel is off: mV for the membrane, nA for adaptation, and for a synaptic
        input nA if the recorded neuron's input is current-based, uS if conductance-based."""
        channels = self.madc_channels()
        if channel >= len(channels):
            return None
        neuron, source = channels[channel]
        if source == MADC_MEMBRANE:
            return "mV"
        if source == MADC_ADAPTATION:
            return "nA"
        coba = "coba_exc" if source == MADC_EXC_SYNIN else "coba_inh"
        return "uS" if self.neurons.column(coba)[neuron] else "nA"


MADC_CHANNELS = 2
"""The MADC's input multiplexer channels: it samples at most two neurons, alternating."""


def check_madc_pair(first: int, second: int, first_name: str, second_name: str) -> None:
    """Raise ``ConfigError`` unless circuits ``first`` and ``second`` (-1: none) can share the
    MADC: a second channel needs a first, another circuit, and a column of the other parity
    (the multiplexer's two channels read the even and the odd columns; grenade refuses the
    rest: "MADC recording neurons are required to reside in columns with unique parity")."""
    if second < 0:
        return
    if first < 0:
        raise ConfigError(f"{second_name} = {second} is set without {first_name}: the first MADC channel comes "
                          f"first; record one neuron on {first_name}")
    if first == second:
        raise ConfigError(f"{first_name} and {second_name} are both circuit {first}: the MADC reads one source per "
                          f"neuron (the real stack: 'Only one source can be recorded per neuron'); record the "
                          f"second source on another neuron")
    col_a, col_b = first % C.COLUMNS_PER_HEMISPHERE, second % C.COLUMNS_PER_HEMISPHERE
    if col_a % 2 == col_b % 2:
        kind = "even" if col_a % 2 == 0 else "odd"
        raise ConfigError(f"the MADC's two channels read circuits {first} (column {col_a}) and {second} (column "
                          f"{col_b}), both in {kind} columns: its multiplexer reads one even and one odd column; "
                          f"record neurons in neighbouring columns (pynn.brainscales2: setup(neuronPermutation=...)"
                          f" or a population's neighbouring neurons)")


def _any_outside(arr: np.ndarray, lo, hi) -> bool:
    """Whether a value of ``arr`` is below ``lo`` or above ``hi`` (NaN is neither); integer
    arrays by their extremes, without temporaries.

    >>> _any_outside(np.array([0, 63]), 0, 63), _any_outside(np.array([np.nan, 64.0]), 0, 63)
    (False, True)
    """
    if arr.dtype.kind in "iub":
        return bool(arr.size) and bool(arr.min() < lo or arr.max() > hi)
    return bool(((arr < lo) | (arr > hi)).any())


_OUTSIDE = FrozenMemo()
_OUTSIDE_MIN_SIZE = 4096  # (smaller arrays are checked in less time than the memo takes)


def _outside(arr: np.ndarray, lo: int, hi: int) -> bool:
    """``_any_outside``, once for a large frozen array (``protocol.frozen``: a mapping's
    synapse addresses, a configuration's weights that chips share): every chip built from it
    checks it again."""
    if arr.size < _OUTSIDE_MIN_SIZE:
        return _any_outside(arr, lo, hi)
    return _OUTSIDE.get((arr,), lambda: _any_outside(arr, lo, hi), (lo, hi))


def _neurons_outside(values: np.ndarray) -> bool:
    """Whether a neuron value (``values[neuron, parameter]``) is outside its parameter's range;
    once for a frozen array (``_outside``)."""
    def outside() -> bool:
        return bool(((values < 0) | (values > _NEURON_MAX[None, :])).any())

    return _OUTSIDE.get((values,), outside, "neurons")


_RANGE_PATHS = [tuple(path.split(".")) for path in _RANGES]
_SMALL_BOUNDS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _small_bounds(which: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper bound of every value of the ``_RANGES`` arrays ``which`` (their
    index in ``_RANGES`` and size), one array after another (``ChipConfig._ranges_outside``)."""
    got = _SMALL_BOUNDS.get(which)
    if got is None:
        ranges = list(_RANGES.values())
        sizes = [n for _, n in which]
        got = _SMALL_BOUNDS[which] = (np.repeat([ranges[i][1] for i, _ in which], sizes),
                                      np.repeat([ranges[i][2] for i, _ in which], sizes))
    return got


def _copy_part(part, share_read_only: bool = False):
    def copied(a: np.ndarray) -> np.ndarray:
        return a if share_read_only and is_frozen(a) else np.array(a, copy=True)

    return dataclasses.replace(
        part,
        **{
            f.name: copied(getattr(part, f.name))
            for f in dataclasses.fields(part)
            if isinstance(getattr(part, f.name), np.ndarray)
        },
    )
