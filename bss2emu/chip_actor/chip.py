"""``Chip``: the emulated analog core of one HICANN-X — a plain class, no Ray.

It holds a ``ChipConfig``, the chip's mismatch (from its serial number), the dynamic state
(membranes, adaptation, synaptic inputs, STP, background generators, correlation sensors)
and integrates windows with one numba call each (``kernels.integrate_window``). Its MADC
reads the membrane, a synaptic input or adaptation of one neuron, or of two alternately
(``madc``; channels and units in ``protocol.hardware.ReadoutConfig``).
"""

from __future__ import annotations

import dataclasses

import functools
from typing import NamedTuple

import numpy as np
import pyarrow as pa
from numba import njit

from ..errors import ChipError, ConfigError
from ..protocol import coordinates as C
from ..protocol import schemas
from ..protocol.frozen import FrozenMemo, freeze, is_frozen
from ..protocol.hardware import MADC_SOURCES, ChipConfig, NeuronConfig
from ..protocol.playback import BackgroundRateWrite, CorrelationResetWrite, NeuronParameterWrite, SynapseEnableWrite, WeightWrite
from ..units import DEFAULT_DT_NS, NS_PER_TICK
from . import kernels as K
from .analog import Mismatch, NeuronPhysics, chip_mismatch, neuron_physics, stp_tau_us, stp_utilisation
from .madc import kernel_channels, madc_columns
from .ppu_passes import view_bits
from .pre_times import PreTimes, keep_own_pre_times, pre_times_into, pre_times_of
from .structure import Structure, compartment_structure, has_structure, point_structure


_POINT = point_structure()  # read-only arrays shared by every chip of point neurons


# The rows the neuron update walks lie in one block per chip, ``kernels.neuron_row_length``
# elements apart (``kernels.NEURON_ROW_PAD``): no two of them start at the same offset in a
# 4 KiB page, whatever the allocator returns. Rows: the coefficients, the state, the flags
# and ``ref_end`` (integers in the same 8 bytes).
_B_COEF, _B_STATE, _B_FLAGS, _B_REF_END = 0, K.N_COEF, K.N_COEF + K.N_STATE, K.N_COEF + K.N_STATE + K.N_FLAGS
_B_ROWS = _B_REF_END + 1


class WindowOutput(NamedTuple):
    """What one window produced, as Arrow record batches."""

    spikes: pa.RecordBatch
    madc: pa.RecordBatch
    cadc: pa.RecordBatch


def _step_coefficients(phys, h_us: float) -> np.ndarray:
    """Per-neuron integration coefficients for a step of ``h_us`` (see kernels docstring)."""
    coef = np.zeros((K.N_COEF, C.NEURONS_PER_CHIP))
    c_m = phys.c_m
    tau_m = np.where(phys.g_l > 0, c_m / np.maximum(phys.g_l, 1e-300), np.inf)
    em = np.exp(-h_us / tau_m)
    lscale = np.where(phys.g_l > 0, (1.0 - em) / np.maximum(phys.g_l, 1e-300), h_us / c_m)

    def syn(tau_s):
        es = np.exp(-h_us / tau_s)
        rate_diff = 1.0 / tau_s - 1.0 / tau_m
        near = np.abs(rate_diff) < 1e-9
        kern = np.where(near, h_us * em / c_m, (em - es) / (c_m * np.where(near, 1.0, rate_diff)))
        with np.errstate(invalid="ignore"):  # tau_s = inf (bias 0): the branch not taken is nan
            avg = np.where(np.isinf(tau_s), 1.0, tau_s * (1.0 - es) / h_us)
        return es, kern, avg

    es_e, k_e, avg_e = syn(phys.tau_exc)
    es_i, k_i, avg_i = syn(phys.tau_inh)
    coef[K.K_EL], coef[K.K_VRESET], coef[K.K_VTH], coef[K.K_VT] = (
        phys.e_l, phys.v_reset, phys.v_th, phys.v_t)
    coef[K.K_EEXC], coef[K.K_EINH], coef[K.K_GL], coef[K.K_DT] = (
        phys.e_exc, phys.e_inh, phys.g_l, phys.delta_t)
    coef[K.K_A], coef[K.K_B] = phys.a, phys.b
    coef[K.K_EW] = np.exp(-h_us / phys.tau_w)
    coef[K.K_EM], coef[K.K_LSCALE] = em, lscale
    coef[K.K_ES_E], coef[K.K_ES_I], coef[K.K_KE], coef[K.K_KI] = es_e, es_i, k_e, k_i
    coef[K.K_AVG_E], coef[K.K_AVG_I] = avg_e, avg_i
    coef[K.K_TAU_E_NS], coef[K.K_TAU_I_NS] = phys.tau_exc * 1e3, phys.tau_inh * 1e3
    coef[K.K_GAIN_E], coef[K.K_GAIN_I] = phys.gain_exc, phys.gain_inh
    coef[K.K_ICONST], coef[K.K_C], coef[K.K_H_OVER_C] = phys.i_const, c_m, h_us / c_m
    # the membrane's response to an event inside a step (kernels.psp_response): the rate
    # differences r = 1/τ_s - 1/τ_m in 1/ns (1/∞ = 0: no leak, no synaptic decay) and the
    # scales 1e-3/(C r) in mV per nA (1e-3/C in mV per nA·ns where r = 0)
    rate_m_ns = 1.0 / (tau_m * 1e3)
    for row_r, row_psp, tau_s in ((K.K_RDIFF_E_NS, K.K_PSP_E, phys.tau_exc),
                                  (K.K_RDIFF_I_NS, K.K_PSP_I, phys.tau_inh)):
        r = 1.0 / (tau_s * 1e3) - rate_m_ns
        coef[row_r] = r
        coef[row_psp] = 1e-3 / (c_m * np.where(r == 0.0, 1.0, r))
    return coef


class DerivedNeurons(NamedTuple):
    """What a chip derives from its neuron configuration (``_derive_neurons``)."""

    physics: NeuronPhysics
    structure: Structure
    coef: np.ndarray  # the kernel's coefficients ``[K_*, neuron]`` (``_step_coefficients``)
    flags: np.ndarray  # the kernel's integers ``[F_*, neuron]``
    psp_class: np.ndarray  # ``kernels.psp_classes``
    psp_classes: int


def _derive_neurons(neurons: NeuronConfig, mismatch: Mismatch, dt_ns: int) -> DerivedNeurons:
    """A chip's ``DerivedNeurons`` from its neuron configuration, mismatch and step, the
    physics, coefficients, flags and classes read-only (chips and runs share them:
    ``_DERIVED_NEURONS``; nothing writes a structure's arrays)."""
    physics = neuron_physics(neurons, mismatch)
    if has_structure(neurons.values):  # structured neurons: compartments on their leads
        structure = compartment_structure(neurons.values, physics, dt_ns * 1e-3)
        phys = structure.physics
        freeze(*phys)  # (the structure's own arrays go to the kernels as they are, as ``_POINT``'s)
    else:
        structure, phys = _POINT, physics
    coef = _step_coefficients(phys, dt_ns * 1e-3)
    flags = np.zeros((K.N_FLAGS, C.NEURONS_PER_CHIP), dtype=np.int64)
    flags[K.F_COBA_E] = phys.coba_exc
    flags[K.F_COBA_I] = phys.coba_inh
    flags[K.F_FIRE] = phys.fire
    flags[K.F_TAU_REF_NS] = phys.tau_ref_ns
    flags[K.F_LABEL] = neurons.address_out
    flags[K.F_BYPASS_E] = neurons.column("bypass_exc")  # per circuit, as its synapses
    flags[K.F_BYPASS_I] = neurons.column("bypass_inh")
    psp_class, n_class = K.psp_classes(coef)
    freeze(*physics, coef, flags, psp_class)
    return DerivedNeurons(physics, structure, coef, flags, psp_class, n_class)


_DERIVED_NEURONS = FrozenMemo()
"""``_derive_neurons`` of frozen neuron values and labels, by chip serial, ideal and step: the
mismatch and step are the rest of what it depends on (``chip_mismatch`` of the serial)."""


class Chip:
    """One emulated chip.

    Its synapse arrays (``config.synapses``: weights, addresses, row modes) are read-only
    once loaded, because the kernel works from a table derived from them: change weights
    with ``set_weights``/``apply_writes``, the rest with a new ``Chip`` or ``set_state``.

    >>> chip = Chip(ChipConfig(), serial=7, ideal=True)
    >>> out = chip.run_window(0, 100, *Chip.no_events())
    >>> out.spikes.num_rows, chip.time_ns
    (0, 10000)
    """

    def __init__(self, config: ChipConfig, serial: int = 0, ideal: bool = False,
                 dt_ns: int = DEFAULT_DT_NS, chip_id: int = 0, seed: int = 0) -> None:
        if int(dt_ns) != dt_ns or not 1 <= dt_ns <= 10_000:
            raise ConfigError(f"integration step dt_ns={dt_ns!r} is invalid: use an integer 1..10000 ns")
        self.serial, self.ideal, self.dt_ns, self.chip_id = int(serial), bool(ideal), int(dt_ns), int(chip_id)
        self.mismatch = chip_mismatch(self.serial, self.ideal)
        config.check()  # (the configuration given: what of it is frozen is checked once, ``protocol.frozen``)
        # read-only synapse arrays (``routing.mapping.configure_chip(read_only=True)``) are
        # shared, not copied: the chip never writes addresses or row modes, and copies the
        # weights before it first writes one (``own_weights``)
        self.config = config.copy(share_read_only=True)
        self._borrowed_weights = config.synapses.weights if self.config.synapses.weights is \
            config.synapses.weights else None
        # the neurons are the chip's own (parameter writes change them in place); what it
        # derives from read-only ones it loaded is kept for every chip that loads them (below)
        loaded, neurons = config.neurons, self.config.neurons
        if neurons.values is loaded.values:
            neurons.values = loaded.values.copy()
        if neurons.address_out is loaded.address_out:
            neurons.address_out = loaded.address_out.copy()
        self.step = 0
        #: which synapses are connected (``SynapseEnableWrite``); a disabled one keeps its weight
        self.synapse_enabled = np.ones((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), bool)
        self._sensors_filled = False  # (``_reset_state``; no pre times to keep in the first synapse table)
        block = np.zeros((_B_ROWS, K.neuron_row_length(C.NEURONS_PER_CHIP)))  # (see _B_ROWS)
        #: what the kernels take: ``coef``, ``nstate`` and ``flags`` in rows of
        #: ``kernels.neuron_row_length`` (C-contiguous; the neurons first in each row)
        self.coef_rows, self.nstate_rows = block[_B_COEF:_B_STATE], block[_B_STATE:_B_FLAGS]
        self.flags_rows = block[_B_FLAGS:_B_REF_END].view(np.int64)
        self._ref_end_row = block[_B_REF_END].view(np.int64)
        self._rebuild_neurons(loaded)
        self._rebuild_synapses()
        self._reset_state(seed)

    @property
    def coef(self) -> np.ndarray:
        """The kernel's per-neuron coefficients ``coef[K_*, neuron]`` (``_step_coefficients``),
        a view of ``coef_rows``; setting it writes into those rows."""
        return self.coef_rows[:, :C.NEURONS_PER_CHIP]

    @coef.setter
    def coef(self, value: np.ndarray) -> None:
        self.coef_rows[:, :C.NEURONS_PER_CHIP] = value
        # the delivery table is derived from coef: a new coef starts an empty one
        self.psp_tab, self.psp_ok, self.psp_class = K.psp_table(self.dt_ns, self.coef)

    @property
    def flags(self) -> np.ndarray:
        """The kernel's per-neuron integers ``flags[F_*, neuron]``, a view of ``flags_rows``;
        setting it writes into those rows."""
        return self.flags_rows[:, :C.NEURONS_PER_CHIP]

    @flags.setter
    def flags(self, value: np.ndarray) -> None:
        self.flags_rows[:, :C.NEURONS_PER_CHIP] = value

    @property
    def nstate(self) -> np.ndarray:
        """The neurons' state ``nstate[S_*, neuron]``, a view of ``nstate_rows`` (what the
        kernels update); setting it writes into those rows."""
        return self.nstate_rows[:, :C.NEURONS_PER_CHIP]

    @nstate.setter
    def nstate(self, value: np.ndarray) -> None:
        self.nstate_rows[:, :C.NEURONS_PER_CHIP] = value

    # --- configuration --------------------------------------------------------------
    def _rebuild_neurons(self, loaded: NeuronConfig | None = None) -> None:
        """Physics, structure, coefficients, flags and an empty psp table from the neuron
        configuration; ``loaded``: the configuration's neurons that the chip's are a copy of
        (at construction), which, where they are frozen (``configure_chip(read_only=True)``
        keeps them from run to run), it derives from once for every chip and run
        (``_derive_neurons``)."""
        self._config_token = object()
        neurons = self.config.neurons if loaded is None else loaded
        got = _DERIVED_NEURONS.get((neurons.values, neurons.address_out),
                                   lambda: _derive_neurons(neurons, self.mismatch, self.dt_ns),
                                   (self.serial, self.ideal, self.dt_ns))
        self.physics, self.structure = got.physics, got.structure
        self.coef_rows[:, :C.NEURONS_PER_CHIP] = got.coef
        # (a writable copy of the classes: the kernels take arrays of one kind, compiled once)
        self.psp_tab, self.psp_ok, self.psp_class = K.empty_psp_table(self.dt_ns, got.psp_class.copy(), got.psp_classes)
        self.flags = got.flags

    def _rebuild_synapses(self) -> None:
        self._config_token = object()
        d = self.config.drivers
        self.drv = np.stack([d.enable, d.row_select_mask, d.stp_enable, d.stp_mode, d.stp_voltage_set]).astype(np.int64)
        self.drv_table = K.driver_table(self.drv)
        syn = self.config.synapses
        for name in ("weights", "addresses", "row_modes"):
            arr = np.ascontiguousarray(getattr(syn, name), dtype=np.int64)
            # the kernel's synapse table is derived from these: writing them directly would be
            # silently ignored, so they are read-only (weights change through set_weights)
            arr.flags.writeable = False
            setattr(syn, name, arr)
        self._rebuild_synapses_only()
        self.stp_u_param = stp_utilisation(d.stp_utilisation)
        self.stp_tau_ns = stp_tau_us(d.stp_recovery) * 1e3
        self.set_scale = d.stp_set_scale.astype(np.float64)
        bgc = self.config.background
        self.bg = np.stack([bgc.enable, bgc.mode, bgc.period, bgc.rate, bgc.label, bgc.label_mask,
                            bgc.start_ticks * NS_PER_TICK,
                            np.minimum(bgc.stop_ticks, np.iinfo(np.int64).max // 16) * NS_PER_TICK]).astype(np.int64)

    def _reset_state(self, seed: int) -> None:
        n = C.NEURONS_PER_CHIP
        self.nstate = 0.0
        self.nstate[K.S_EPREV] = -1.0
        self.nstate[K.S_V] = (self.physics if self.structure.physics is None else self.structure.physics).e_l
        self.nstate[K.S_V, self.structure.follow] = self.nstate[K.S_V, self.structure.follow_lead]
        self.ref_end = self._ref_end_row[:n]
        self.ref_end.fill(-1)
        self.spike_count = np.zeros(n, dtype=np.int64)
        #: synaptic events so far: events that reached a synapse with a non-zero weight
        self.synaptic_events = 0
        shape_d = (C.HEMISPHERES, C.DRIVERS_PER_HEMISPHERE)
        self.stp_last = np.full(shape_d, -1, dtype=np.int64)
        self.stp_r = np.ones(shape_d)
        self.stp_u = np.zeros(shape_d)
        bgc = self.config.background
        # first emission on the first 4 ns cycle at or after the start time
        self.bg_next_ns = (-(-bgc.start_ticks * NS_PER_TICK // 4) * 4).astype(np.int64)
        self.bg_rng = bgc.seed.astype(np.int64).copy()
        shape_s = (C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
        # the synapses' last pre times as the kernel keeps them (``pre_times``: per row and
        # address; ``t_pre`` gives them per synapse) and the sensors: these megabyte arrays are
        # filled (no pre spike, 0, 0) only when first needed — a run with the sensors on or a
        # read — so a chip without sensors never writes them; the arrays themselves stay the
        # same objects (compiled hosts hold their addresses)
        self._pre = PreTimes.empty()
        self._causal = np.empty(shape_s)
        self._acausal = np.empty(shape_s)
        self._sensors_filled = False
        self.t_post = np.full(n, -1, dtype=np.int64)
        #: the synapses whose sensors were added to since a sweep took them off, a bitmap
        #: (``kernels.mark_sensed``; where the sensors are set from outside: those not 0)
        self.sensed_bits = np.zeros(int(np.prod(shape_s)) // 64, np.uint64)
        if self.config.readout.enable_correlation:
            self.sensor_arrays()

    def sensor_arrays(self, fill: bool = True) -> tuple[PreTimes, np.ndarray, np.ndarray]:
        """The correlation sensors' arrays ``(pre_times, causal, acausal)`` as the kernels
        take them (``pre_times``: a ``PreTimes``); ``fill=False`` (a kernel call with the
        sensors off, which never touches them): without filling them in if nothing has needed
        them yet."""
        if fill and not self._sensors_filled:
            self._sensors_filled = True
            self._set_pre_times(np.full(self._causal.shape, -1, np.int64))
            self._causal.fill(0.0)
            self._acausal.fill(0.0)
        return self._pre, self._causal, self._acausal

    def _set_pre_times(self, t_pre: np.ndarray) -> None:
        """The kernel's pre-time state from per-synapse times ``t_pre[h, r, c]`` for the
        synapse table as it is now (``pre_times.pre_times_into``)."""
        syn = self.config.synapses
        pre_times_into(np.ascontiguousarray(t_pre, np.int64), syn.addresses, syn.row_modes, self.synapse_enabled,
                       *self._pre)

    def _mark_sensed(self) -> None:
        """``sensed_bits`` from the sensors: every synapse whose sensors are not 0 marked."""
        nonzero = np.flatnonzero((self._causal != 0) | (self._acausal != 0))
        self.sensed_bits[:] = view_bits(nonzero, self._causal.size)

    @property
    def causal(self) -> np.ndarray:
        """The causal correlation sensors (accumulated ``exp(-Δt/τ)``), ``[hemisphere, row, column]``."""
        return self.sensor_arrays()[1]

    @causal.setter
    def causal(self, value: np.ndarray) -> None:
        self.sensor_arrays()
        self._causal = value
        self._mark_sensed()

    @property
    def acausal(self) -> np.ndarray:
        """The acausal correlation sensors, ``[hemisphere, row, column]``."""
        return self.sensor_arrays()[2]

    @acausal.setter
    def acausal(self, value: np.ndarray) -> None:
        self.sensor_arrays()
        self._acausal = value
        self._mark_sensed()

    @property
    def t_pre(self) -> np.ndarray:
        """Each synapse's last presynaptic event time (ns, -1: none), ``[hemisphere, row,
        column]``: a read-only copy (the kernel keeps them per row, ``pre_times``); set it
        as a whole."""
        pre = self.sensor_arrays()[0]
        out = np.empty(self._causal.shape, np.int64)
        pre_times_of(pre.t_row, pre.t_own, pre.addr_col, out)
        out.flags.writeable = False
        return out

    @t_pre.setter
    def t_pre(self, value) -> None:
        self.sensor_arrays()
        self._set_pre_times(np.broadcast_to(np.asarray(value, np.int64), self._causal.shape))

    def set_neuron_values(self, name: str, neurons, values) -> None:
        """Write one neuron parameter (hardware value) for the given circuits."""
        unit = self._madc_units()
        col = self.config.neurons.column(name)
        col[np.asarray(neurons, dtype=np.int64)] = values
        self._neurons_written(unit)

    def _madc_units(self) -> tuple:
        return tuple(self.config.madc_unit(c) for c in range(len(self.config.madc_channels())))

    def _neurons_written(self, madc_units: tuple) -> None:
        """Check and apply neuron parameter writes; ``madc_units`` are the MADC channels'
        units before them, which a write must not change (a trace would change unit mid-run)."""
        self.config.check()
        now = self._madc_units()
        for (neuron, source), before, after in zip(self.config.madc_channels(), madc_units, now):
            if before != after:
                raise ChipError(
                    f"chip {self.chip_id}: a write switches MADC neuron {neuron}'s recorded "
                    f"{MADC_SOURCES[source]} between current- and conductance-based ({before} → {after}) "
                    f"during the recording; set coba_exc/coba_inh before the run or record another neuron")
        self._rebuild_neurons()

    def set_weights(self, hemisphere, rows, columns, weights) -> None:
        """Write 6-bit weights at ``(hemisphere, rows, columns)`` (scalars or arrays that
        broadcast, as in ``protocol.playback.WeightWrite``)."""
        w = np.asarray(weights)
        self._config_token = object()  # the configuration changes (set_state compares tokens)
        arr = self.own_weights()
        shape = arr.shape
        idx = tuple(np.asarray(i, dtype=np.int64) for i in (hemisphere, rows, columns))
        if w.ndim == 1 and w.dtype.kind in "iu" and all(i.shape == w.shape for i in idx) and len(w) > 64:
            # the PPU's writes: many synapses, most unchanged — compiled passes check, then write the changed
            w = np.asarray(w, np.int64)
            bad = _first_invalid(*idx, w, C.WEIGHT_MAX, *shape)
            if bad < 0:
                arr.flags.writeable = True
                try:
                    _write_changed_weights(arr, *self.synapse_table, *idx, w)
                finally:
                    arr.flags.writeable = False
                return
            idx = tuple(i[bad:bad + 1] for i in idx)  # the first bad write: reported below
            w = w[bad:bad + 1]
        if w.size and (w.min() < 0 or w.max() > C.WEIGHT_MAX):
            bad = w[(w < 0) | (w > C.WEIGHT_MAX)].flat[0]
            raise ConfigError(f"weight {bad} is out of range 0..{C.WEIGHT_MAX}: clip it to 6 bit")
        arr.flags.writeable = True
        try:
            arr[idx] = w  # numpy checks the indices
        finally:
            arr.flags.writeable = False
        h, r, c = (np.ravel(i % n) for i, n in zip(np.broadcast_arrays(*idx), shape))
        K.set_entry_weights(*self.synapse_table, h, r, c, arr[h, r, c])

    def own_weights(self) -> np.ndarray:
        """The weight array (read-only), this chip's own: a copy of the loaded configuration's
        where that was shared (call before anything writes it in place)."""
        syn = self.config.synapses
        if syn.weights is self._borrowed_weights:
            syn.weights = syn.weights.copy()
            syn.weights.flags.writeable = False
        self._borrowed_weights = None
        return syn.weights

    def set_synapses_enabled(self, hemisphere, rows, columns, enabled) -> None:
        """Connect or disconnect synapses (topology; see ``playback.SynapseEnableWrite``)."""
        mask = self.synapse_enabled
        before = mask.copy()
        mask[tuple(np.asarray(i, dtype=np.int64) for i in (hemisphere, rows, columns))] = np.asarray(enabled, bool)
        if not np.array_equal(before, mask):
            self._config_token = object()
            if self._sensors_filled:  # (events of its row no longer set a disabled synapse's pre time)
                keep_own_pre_times(*self._pre, *np.nonzero(before & ~mask))
            self._build_synapse_table()

    def _rebuild_synapses_only(self) -> None:
        # the pre times per synapse under the configuration that was, kept under the new one
        t_pre = self.t_pre if self._sensors_filled else None
        self._build_synapse_table()
        if t_pre is not None:
            self._set_pre_times(t_pre)

    def _build_synapse_table(self) -> None:
        syn = self.config.synapses
        if syn.weights is self._borrowed_weights:  # (a loaded configuration's: see _shared_synapse_table)
            table = _shared_synapse_table(syn.weights, syn.addresses, syn.row_modes)
        else:
            table = K.synapse_table(syn.weights, syn.addresses, syn.row_modes)
        self.synapse_table = table if self.synapse_enabled.all() else _without_disabled(table, self.synapse_enabled)

    def set_background_rate(self, generator: int, rate: int) -> None:
        """Set one background generator's 8-bit rate (Poisson: emits with p = rate/256)."""
        if not 0 <= int(generator) < C.BACKGROUND_GENERATORS or not 0 <= int(rate) <= 0xFF:
            raise ConfigError(f"chip {self.chip_id}: background generator {generator} rate {rate}: generators are "
                              f"0..{C.BACKGROUND_GENERATORS - 1}, rates 0..255")
        self._config_token = object()
        self.config.background.rate[int(generator)] = int(rate)
        self.bg[3, int(generator)] = int(rate)  # in place: the compiled loop holds the array's address

    def apply_writes(self, writes) -> None:
        """Apply playback/PPU writes (``protocol.playback`` records) in order."""
        if not writes:  # (most windows: the MADC unit below costs more than the rest)
            return
        rebuild = False
        unit = self._madc_units()
        for w in writes:
            if isinstance(w, NeuronParameterWrite):
                self.config.neurons.column(w.parameter)[w.neurons] = w.value
                rebuild = True
            elif isinstance(w, WeightWrite):
                self.set_weights(w.hemisphere, w.row, w.column, w.values)
            elif isinstance(w, SynapseEnableWrite):
                self.set_synapses_enabled(w.hemisphere, w.row, w.column, w.enabled)
            elif isinstance(w, BackgroundRateWrite):
                self.set_background_rate(w.generator, w.rate)
            elif isinstance(w, CorrelationResetWrite):
                _zero_at(self.causal, self.acausal, w.hemisphere, w.row, w.column)
            else:
                raise ChipError(f"chip {self.chip_id}: unknown write {type(w).__name__}")
        if rebuild:
            self._neurons_written(unit)

    # --- observables (what the PPU and CADC see) ------------------------------------
    def membrane_codes(self) -> np.ndarray:
        """8-bit CADC codes of all 512 membranes now."""
        return K.adc_codes(self.nstate[K.S_V], C.CADC_BITS).astype(np.uint8)

    def correlation_codes(self, reset: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """8-bit (causal, acausal) correlation readouts ``[hemisphere, row, column]``."""
        lsb = self.config.readout.corr_lsb
        out = tuple(np.clip(np.rint(x / lsb), 0, 255).astype(np.uint8) for x in (self.causal, self.acausal))
        if reset:
            self.causal[:] = 0.0
            self.acausal[:] = 0.0
        return out

    @property
    def time_ns(self) -> int:
        return self.step * self.dt_ns

    # --- state for checkpoints ------------------------------------------------------
    _STATE = ("step", "synaptic_events", "nstate", "ref_end", "spike_count", "stp_last", "stp_r", "stp_u",
              "bg_next_ns", "bg_rng", "t_pre", "t_post", "causal", "acausal", "synapse_enabled")

    def get_state(self) -> dict:
        """A deep copy of everything that evolves, configuration included."""
        st = {k: np.copy(getattr(self, k)) for k in self._STATE}
        st["config"] = self.config.copy()
        st["config_token"] = self._config_token
        return st

    def set_state(self, state: dict) -> None:
        """Go back to ``state``. The configuration is rebuilt only if it changed since the
        state was taken (every weight, parameter, connection or rate write and every rebuild
        renews the token; a state that crossed a process boundary never matches); the readout
        settings, which callers set directly, are always restored."""
        if state.get("config_token") is self._config_token:
            self.config.readout = dataclasses.replace(state["config"].readout)
        else:
            self.config = state["config"].copy()
            self.synapse_enabled = np.copy(state["synapse_enabled"])
            self._rebuild_neurons()
            self._rebuild_synapses()
            self._config_token = state.get("config_token", self._config_token)
        for k in self._STATE:
            v = state[k]
            if k in ("step", "synaptic_events"):
                setattr(self, k, int(v))
            elif k == "t_pre":
                self.t_pre = v  # (after the synapse table: set_state restores the configuration first)
            else:
                now = getattr(self, k)
                if now.shape == v.shape and now.dtype == v.dtype:
                    now[...] = v  # into the arrays in place: no new megabyte-sized allocations per restore
                else:
                    setattr(self, k, np.copy(v))
        if self._sensors_filled:  # (the marks of sensed synapses follow from the restored sensors)
            self._mark_sensed()

    # --- execution ------------------------------------------------------------------
    @staticmethod
    def no_events() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e

    def run_window(self, k0: int, n_steps: int, ev_t_ns: np.ndarray, ev_input: np.ndarray,
                   ev_label: np.ndarray) -> WindowOutput:
        """Integrate ``n_steps`` steps from step ``k0`` (which must be where the chip is).

        Input events: times in ns (sorted), crossbar inputs, 16-bit labels."""
        if k0 != self.step:
            raise ChipError(f"chip {self.chip_id} is at step {self.step}, asked to run from step {k0}")
        h = self.dt_ns
        ev_t_ns = np.asarray(ev_t_ns, dtype=np.int64)
        if len(ev_t_ns) and (ev_t_ns[0] < k0 * h or ev_t_ns[-1] >= (k0 + n_steps) * h):
            raise ChipError(f"chip {self.chip_id}: input events outside the window's steps {k0}..{k0 + n_steps}")
        if len(ev_t_ns) > 1 and (np.diff(ev_t_ns) < 0).any():
            raise ChipError(f"chip {self.chip_id}: input event times are not sorted; sort them (stably) by time")
        ro = self.config.readout
        madc_every = max(1, int(ro.madc_every_steps))
        n_madc_max = n_steps // madc_every + 1 if ro.madc_neuron >= 0 else 0
        n_cadc_max = (n_steps * h) // ro.cadc_period_ns + 2 if ro.cadc_period_ns > 0 else 0
        madc_t = np.empty(n_madc_max, np.int64)
        madc_x = np.empty(n_madc_max)  # the sampled state variable
        madc_neuron, madc_row = self.madc_kernel_channels()
        cadc_t = np.empty(n_cadc_max, np.int64)
        cadc_v = np.empty((n_cadc_max, C.NEURONS_PER_CHIP), np.int64)
        min_cap = len(ev_t_ns) + 8 * (h // 4 + 1) + C.NEURONS_PER_CHIP
        spikes, k, done = [], k0, 0
        n_madc = n_cadc = 0
        ev_in = np.asarray(ev_input, dtype=np.int64)
        ev_lab = np.asarray(ev_label, dtype=np.int64)
        if not len(ev_in) == len(ev_lab) == len(ev_t_ns):
            raise ChipError(f"chip {self.chip_id}: {len(ev_t_ns)} event times, {len(ev_in)} inputs and "
                            f"{len(ev_lab)} labels; give one input and one label per event")
        if len(ev_in) and (ev_in.min() < 0 or ev_in.max() >= C.CROSSBAR_INPUTS):
            bad = ev_in[(ev_in < 0) | (ev_in >= C.CROSSBAR_INPUTS)][0]
            raise ChipError(f"chip {self.chip_id}: event on crossbar input {bad}; inputs are "
                            f"0..{C.CROSSBAR_INPUTS - 1}")
        st = self.structure
        sensors = self.sensor_arrays(fill=bool(ro.enable_correlation))
        while done < n_steps:
            cap = 4 * min_cap + 4096
            out_t, out_l, out_n = (np.empty(cap, np.int64) for _ in range(3))
            lo = np.searchsorted(ev_t_ns, k * h)
            steps, n_out, nm, nc, n_syn = K.integrate_window(
                k, n_steps - done, h, self.coef_rows, self.flags_rows, self.nstate_rows, self.ref_end, self.spike_count,
                *self.synapse_table[:2], *self.drv_table, self.drv, self.stp_u_param, self.stp_tau_ns, self.set_scale,
                self.stp_last, self.stp_r, self.stp_u,
                self.config.crossbar.enable, self.config.crossbar.mask, self.config.crossbar.target,
                self.bg, self.bg_next_ns, self.bg_rng,
                ev_t_ns[lo:], ev_in[lo:], ev_lab[lo:],
                ro.enable_correlation, ro.tau_corr_us * 1e3, *sensors[0], self.t_post, sensors[1], sensors[2],
                self.sensed_bits,
                madc_neuron, madc_row, madc_every, madc_t[n_madc:], madc_x[n_madc:],
                ro.cadc_period_ns, cadc_t[n_cadc:], cadc_v[n_cadc:],
                out_t, out_l, out_n, *st[:7], self.psp_tab, self.psp_ok, self.psp_class,
            )
            spikes.append((out_t[:n_out], out_l[:n_out], out_n[:n_out]))
            n_madc += nm
            n_cadc += nc
            self.synaptic_events += n_syn
            done += steps
            k += steps
            self.step = k
        if len(st.follow):
            self.nstate[K.S_V, st.follow] = self.nstate[K.S_V, st.follow_lead]
        # short windows often record nothing: skip the Arrow encoding then
        if any(len(s[0]) for s in spikes):
            t = np.concatenate([s[0] for s in spikes])
            spikes_b = schemas.encode_spikes(t // NS_PER_TICK, self.chip_id, np.concatenate([s[2] for s in spikes]),
                                             np.concatenate([s[1] for s in spikes]))
        else:
            spikes_b = _empty_batch("spikes")
        madc_b, cadc_b = self.readout_batches(madc_t[:n_madc], madc_x[:n_madc], cadc_t[:n_cadc], cadc_v[:n_cadc])
        return WindowOutput(spikes_b, madc_b, cadc_b)


    def madc_kernel_channels(self) -> tuple[np.ndarray, np.ndarray]:
        """The kernel's ``madc_neuron`` and ``madc_row`` (``madc.kernel_channels``)."""
        return kernel_channels(self.config, self.structure.lead)

    def madc_columns(self, madc_t: np.ndarray, madc_x: np.ndarray):
        """The kernel's MADC samples as ``schemas.MADC`` columns (``madc.madc_columns``)."""
        return madc_columns(self.config, self.physics, self.dt_ns, madc_t, madc_x)

    def readout_batches(self, madc_t: np.ndarray, madc_x: np.ndarray, cadc_t: np.ndarray,
                        cadc_v: np.ndarray) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """The kernel's MADC samples (times in ns, the sampled state) and CADC samples (times
        in ns, codes ``[sample, neuron]``) as record batches."""
        if len(madc_t):
            t, neuron, value, physical = self.madc_columns(madc_t, madc_x)
            madc_b = schemas.encode_madc(t, self.chip_id, neuron, value, physical)
        else:
            madc_b = _empty_batch("madc")
        if len(cadc_t):
            ct = np.repeat(cadc_t // NS_PER_TICK, C.NEURONS_PER_CHIP)
            cn = np.tile(np.arange(C.NEURONS_PER_CHIP), len(cadc_t))
            cadc_b = schemas.encode_samples(schemas.CADC, ct, self.chip_id, cn, cadc_v.ravel())
        else:
            cadc_b = _empty_batch("cadc")
        return madc_b, cadc_b


@njit(cache=True)
def _write_changed_weights(weights, ptr, entry, n_weighted, position, h, r, c, w):
    """``weights[h, r, c] = w`` (1-d, equally long; indices checked) and the synapse
    table's entries where a weight changed (``kernels.set_entry_weights`` for those)."""
    n = w.shape[0]
    # the synapses' table positions first, in a loop of independent loads (a PPU's writes are
    # scattered over the table: many cache misses in flight at once instead of one per write)
    at = np.empty(n, np.int64)
    for i in range(n):
        at[i] = position[h[i], r[i], c[i]]
    values = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        if weights[h[i], r[i], c[i]] != w[i]:
            weights[h[i], r[i], c[i]] = w[i]
            at[k] = at[i]
            values[k] = w[i]
            k += 1
    K.set_entry_weights_at(ptr, entry, n_weighted, at, values, k)


@njit(cache=True)
def _first_invalid(h, r, c, w, w_max, n_h, n_r, n_c):
    """The first i whose synapse ``(h, r, c)`` is outside the ``[n_h, n_r, n_c]`` array or
    whose weight is outside 0..w_max, or -1."""
    for i in range(w.shape[0]):
        if (h[i] < 0 or h[i] >= n_h or r[i] < 0 or r[i] >= n_r or c[i] < 0 or c[i] >= n_c
                or w[i] < 0 or w[i] > w_max):
            return i
    return -1


@njit(cache=True)
def _zero_at(causal, acausal, h, r, c):
    """Reset the correlation sensors at ``(h, r, c)`` (1-d index arrays)."""
    for i in range(h.shape[0]):
        causal[h[i], r[i], c[i]] = 0.0
        acausal[h[i], r[i], c[i]] = 0.0


_SHARED_TABLES = FrozenMemo()


def _shared_synapse_table(weights: np.ndarray, addresses: np.ndarray, row_modes: np.ndarray) -> tuple:
    """``kernels.synapse_table`` of a loaded configuration's synapse arrays that the chip
    shares (``Chip.own_weights``), built once for all chips that load them — routing keeps a
    chip's arrays from run to run while its weights stay the same. A chip writes the entries
    and their counts when its weights change: those are copied for each; the key index and
    the positions, which nothing writes, are shared (read-only). The arrays must be frozen
    (read-only and owning their data), so that they cannot change; the table lives as long
    as they do (``protocol.frozen``)."""
    def build():
        table = K.synapse_table(weights, addresses, row_modes)
        freeze(*table)
        return table

    arrays = (weights, addresses, row_modes)
    if not all(map(is_frozen, arrays)):
        return K.synapse_table(*arrays)
    ptr, entry, n_weighted, position = _SHARED_TABLES.get(arrays, build)
    return ptr, entry.copy(), n_weighted.copy(), position


def _without_disabled(table, enabled: np.ndarray):
    """``kernels.synapse_table`` without the disabled synapses (``enabled[h, r, c]`` False):
    their entries leave the CSR lists, so no event reaches them; ``position`` -1 there, so
    weight writes keep only the configuration (the chip's weight array)."""
    ptr, entry, n_weighted, position = table
    n_keys = len(ptr) - 1
    key = np.repeat(np.arange(n_keys), np.diff(ptr))
    h = key // (C.DRIVERS_PER_HEMISPHERE * 64)
    row = (entry >> K.ENTRY_ROW_SHIFT) & 0xFF
    col = entry & 0xFF
    keep = enabled[h, row, col]
    new_index = np.cumsum(keep) - 1
    weighted = ((entry >> K.ENTRY_WEIGHT_SHIFT) & 63) > 0
    ptr2 = np.zeros(n_keys + 1, np.int64)
    ptr2[1:] = np.cumsum(np.bincount(key[keep], minlength=n_keys))
    nw2 = np.bincount(key[keep & weighted], minlength=n_keys).astype(np.int64)
    pos2 = np.full_like(position, -1)
    on = position >= 0
    old = position[on]
    pos2[on] = np.where(keep[old], new_index[old], -1)
    return ptr2, np.ascontiguousarray(entry[keep]), nw2, pos2


@functools.cache
def _empty_batch(name: str) -> pa.RecordBatch:
    """A zero-row record batch of a result schema (immutable, so shared)."""
    schema = schemas.SCHEMAS[name]
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)
