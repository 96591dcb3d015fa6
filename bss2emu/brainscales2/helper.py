"""pynn.brainscales2's ``helper``: reading a chip configuration's neurons (the values that
``setup(initial_config=chip)`` makes the ``HXNeuron`` defaults) and loading chip
configurations (``chip_from_file``, ``nightly_calib_path``, ``chip_from_nightly``) from
bss2emu's calibration store through the stack layer (``bss2emu.stack``)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.atomic_neuron import ATOMIC_NEURON_FIELDS, DEFAULT_CLOCK_SCALES, FIELDS_BY_NAME, flat_to_internal


def get_values_of_atomic_neuron(atomic_neuron, to_exclude=None) -> dict:
    """The flattened values (``<member>_<field>``) of a ``lola.AtomicNeuron``, enums as ints,
    without the names in ``to_exclude``."""
    skip = set(to_exclude or ())
    out = {}
    for spec in ATOMIC_NEURON_FIELDS:
        if spec.flat_name in skip:
            continue
        v = getattr(getattr(atomic_neuron, spec.path[0]), spec.path[1])
        out[spec.flat_name] = bool(v) if spec.kind == "bool" else int(v)
    return out


def decompose_in_member_names(composed_name: str) -> tuple[str, str]:
    """``"leak_v_leak"`` → ``("leak", "v_leak")``: the lola member and its field."""
    spec = FIELDS_BY_NAME.get(composed_name)
    if spec is None:
        raise ConfigError(f"{composed_name!r} is not a flattened AtomicNeuron field (e.g. leak_v_leak)")
    return spec.path


def _clock_scales(chip, hemisphere: int) -> tuple[int, int] | None:
    backends = getattr(chip.neuron_block, "backends", None)
    if backends is None:
        return None
    backend = backends[hemisphere]
    return int(backend.clock_scale_slow), int(backend.clock_scale_fast)


def neuron_internal_values(circuits, overrides: dict, initial_config=None, clocks=None) -> dict[str, np.ndarray]:
    """bss2emu's neuron parameters of neurons on the circuits ``circuits`` (AtomicNeuronOnDLS
    enums): the flattened values ``overrides`` (scalars or one per circuit) over the
    circuits' AtomicNeurons in ``initial_config`` (a ``lola.Chip``; None: lola's defaults),
    refractory clocks from the common neuron backend of each circuit's hemisphere in
    ``clocks`` (a ``lola.Chip``; None: pynn.brainscales2's scales)."""
    circuits = np.asarray(circuits, np.int64)
    out: dict[str, np.ndarray] = {}
    hemisphere = circuits // C.COLUMNS_PER_HEMISPHERE
    for h in np.unique(hemisphere):
        ix = np.flatnonzero(hemisphere == h)
        values: dict[str, np.ndarray] = {}
        if initial_config is not None:
            flats = [get_values_of_atomic_neuron(initial_config.neuron_block.atomic_neurons[int(c)])
                     for c in circuits[ix]]
            values = {name: np.array([f[name] for f in flats], np.int64) for name in flats[0]}
        for name, v in overrides.items():
            values[name] = np.broadcast_to(np.asarray(v), (len(circuits),))[ix]
        scales = None if clocks is None else _clock_scales(clocks, int(h))
        part = flat_to_internal(values, **({} if scales is None else {"clock_scales": scales}),
                                where=f"HXNeuron (hemisphere {int(h)})")
        for name, v in part.items():
            out.setdefault(name, np.zeros(len(circuits), np.int64))[ix] = v
    return out


def base_chip(initial_config=None):
    """The chip configuration a run starts from (pynn.brainscales2's
    ``simulator.state.grenade_chip_config``): a copy of ``initial_config``, else a
    ``lola.Chip`` whose common neuron backends have pynn.brainscales2's clock scales. None
    without bss2emu's stack layer."""
    import copy

    try:
        from ..stack import lola
    except ImportError:
        return None
    if initial_config is not None:
        return copy.deepcopy(initial_config)
    chip = lola.Chip()
    for backend in chip.neuron_block.backends:
        backend.clock_scale_slow, backend.clock_scale_fast = DEFAULT_CLOCK_SCALES
    return chip


def _stack(name: str):
    """A loader of the stack layer (``bss2emu.stack``), or an error naming what is missing."""
    try:
        from .. import stack
    except ImportError:
        stack = None
    loader = getattr(stack, name, None)
    if loader is None:
        raise ConfigError(f"helper.{name} needs bss2emu's stack layer (bss2emu.stack), which this installation "
                          f"does not have; use setup() without initial_config (HXNeuron defaults) or "
                          f"CalibHXNeuronCuba, which bss2emu calibrates itself")
    return loader


def chip_from_file(path):
    """The ``lola.Chip`` stored in ``path`` (a calibration written by bss2emu or the real
    stack's portable binary, as far as bss2emu's stack layer reads it)."""
    return _stack("chip_from_file")(path)


def chip_from_portable_binary(data: bytes):
    """The ``lola.Chip`` of a portable binary (``chip_from_file``'s contents)."""
    return _stack("chip_from_portable_binary")(data)


def nightly_calib_path():
    """Where the "nightly" calibration of the emulated chip lies (bss2emu's calibration store)."""
    return _stack("nightly_calib_path")()


def chip_from_nightly():
    """The "nightly" calibration of the emulated chip as a ``lola.Chip`` (from bss2emu's
    calibration store; calibrated once, offline)."""
    return _stack("chip_from_nightly")()


def get_unique_identifier() -> list[str]:
    """The emulated setup's identifier (as ``hxcomm``'s connection names the real one)."""
    return ["bss2emu"]
