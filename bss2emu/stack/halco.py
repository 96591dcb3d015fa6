"""halco: the real stack's hardware coordinates (``pyhalco_hicann_dls_vx_v3``), over
``protocol.coordinates``.

Every coordinate is a small ``int`` (its enum value) that checks its range when made and
converts to related coordinates with the real names (``toNeuronRowOnDLS()``,
``toEnum()``, …). Sizes come from ``protocol.coordinates``; nothing here restates a
hardware fact.

>>> from bss2emu.stack import halco
>>> n = halco.AtomicNeuronOnDLS(halco.NeuronColumnOnDLS(3), halco.NeuronRowOnDLS(1))
>>> int(n.toEnum()), n.toNeuronRowOnDLS().toHemisphereOnDLS(), halco.AtomicNeuronOnDLS.size
(259, HemisphereOnDLS(1), 512)
>>> len(list(halco.iter_all(halco.SynapseDriverOnDLS))), halco.SynapseRowOnDLS(300).toSynramOnDLS()
(256, SynramOnDLS(1))
>>> halco.NeuronColumnOnDLS(256)
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: NeuronColumnOnDLS(256) is out of range: valid are 0..255
"""

from __future__ import annotations

from typing import Iterator, TypeVar

from ..errors import ConfigError
from ..protocol import coordinates as C

T = TypeVar("T", bound="_Coordinate")


class _Coordinate(int):
    """A coordinate: an int 0..size-1. Subclasses set ``size``."""

    size: int = 1

    def __new__(cls, value=0, *more):
        if more:
            raise ConfigError(f"{cls.__name__}{(value, *more)!r}: this coordinate takes one enum value")
        try:
            iv = int(value)
            ok = iv == value
        except (TypeError, ValueError):
            ok = False
        if not ok or not 0 <= iv < cls.size:
            raise ConfigError(f"{cls.__name__}({value!r}) is out of range: valid are 0..{cls.size - 1}")
        return super().__new__(cls, iv)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        cls.min, cls.max = 0, cls.size - 1

    def value(self) -> int:
        return int(self)

    def toEnum(self) -> "Enum":  # noqa: N802 (the real stack's names)
        return Enum(int(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    def __eq__(self, other) -> bool:
        # coordinates of different kinds differ even at the same enum value
        if isinstance(other, _Coordinate):
            return type(other) is type(self) and int(self) == int(other)
        return int(self) == other if isinstance(other, int) else NotImplemented

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = int.__hash__


class Enum(int):
    """``halco.common.Enum``: a plain enum value."""

    def value(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"Enum({int(self)})"


def iter_all(coordinate_type: type[T]) -> Iterator[T]:
    """Every coordinate of ``coordinate_type``, in enum order."""
    if not (isinstance(coordinate_type, type) and issubclass(coordinate_type, _Coordinate)):
        raise ConfigError(f"iter_all({coordinate_type!r}): pass a halco coordinate type such as AtomicNeuronOnDLS")
    return (coordinate_type(i) for i in range(coordinate_type.size))


class _Singleton(_Coordinate):
    size = 1


def _grid(cls: type[_Coordinate], x_type: type[_Coordinate], y_type: type[_Coordinate]):
    """Let ``cls`` be made from (x, y), typed (y, x) or an enum value: enum = y * x_type.size + x."""

    def __new__(kls, a=0, b=None):
        if b is None:
            return _Coordinate.__new__(kls, a)
        if isinstance(a, y_type) and isinstance(b, x_type) and x_type is not y_type:
            a, b = b, a  # halco's grid coordinates take (x, y) or, typed, (y, x)
        return _Coordinate.__new__(kls, int(y_type(b)) * x_type.size + int(x_type(a)))

    cls.__new__ = __new__
    return cls


# --- neurons ---------------------------------------------------------------------------
class HemisphereOnDLS(_Coordinate):
    size = C.HEMISPHERES

    def toSynramOnDLS(self): return SynramOnDLS(int(self))  # noqa: E704,N802
    def toNeuronRowOnDLS(self): return NeuronRowOnDLS(int(self))  # noqa: E704,N802
    def toPPUOnDLS(self): return PPUOnDLS(int(self))  # noqa: E704,N802
    def toCommonNeuronBackendConfigOnDLS(self): return CommonNeuronBackendConfigOnDLS(int(self))  # noqa: E704,N802
    def toSynapseDriverBlockOnDLS(self): return SynapseDriverBlockOnDLS(int(self))  # noqa: E704,N802
    def toCADCOnDLS(self): return CADCOnDLS(int(self))  # noqa: E704,N802


class NeuronRowOnDLS(_Coordinate):
    size = C.HEMISPHERES

    def toHemisphereOnDLS(self): return HemisphereOnDLS(int(self))  # noqa: E704,N802
    def toSynramOnDLS(self): return SynramOnDLS(int(self))  # noqa: E704,N802


class NeuronColumnOnDLS(_Coordinate):
    size = C.COLUMNS_PER_HEMISPHERE

    def toNeuronEventOutputOnDLS(self):  # noqa: N802
        return NeuronEventOutputOnDLS(int(self) // (C.NEURONS_PER_EVENT_OUTPUT // C.HEMISPHERES))


@(lambda c: _grid(c, NeuronColumnOnDLS, NeuronRowOnDLS))
class AtomicNeuronOnDLS(_Coordinate):
    """One neuron circuit: (NeuronColumnOnDLS, NeuronRowOnDLS) or its enum 0..511
    (row * 256 + column; bss2emu's circuit index)."""

    size = C.NEURONS_PER_CHIP

    def x(self): return NeuronColumnOnDLS(int(self) % C.COLUMNS_PER_HEMISPHERE)  # noqa: E704
    def y(self): return NeuronRowOnDLS(int(self) // C.COLUMNS_PER_HEMISPHERE)  # noqa: E704
    def toNeuronColumnOnDLS(self): return self.x()  # noqa: E704,N802
    def toNeuronRowOnDLS(self): return self.y()  # noqa: E704,N802
    def toHemisphereOnDLS(self): return self.y().toHemisphereOnDLS()  # noqa: E704,N802
    def toNeuronConfigOnDLS(self): return NeuronConfigOnDLS(int(self))  # noqa: E704,N802
    def toNeuronBackendConfigOnDLS(self): return NeuronBackendConfigOnDLS(int(self))  # noqa: E704,N802

    def toCapMemBlockOnDLS(self):  # noqa: N802
        return CapMemBlockOnDLS(int(self) // C.NEURONS_PER_QUADRANT)


# --- structured neurons (relative to a logical neuron's anchor) ------------------------
class NeuronRowOnLogicalNeuron(_Coordinate):
    size = C.HEMISPHERES


class NeuronColumnOnLogicalNeuron(_Coordinate):
    size = C.COLUMNS_PER_HEMISPHERE


@(lambda c: _grid(c, NeuronColumnOnLogicalNeuron, NeuronRowOnLogicalNeuron))
class AtomicNeuronOnLogicalNeuron(_Coordinate):
    """A circuit relative to a logical neuron's anchor: (NeuronColumnOnLogicalNeuron,
    NeuronRowOnLogicalNeuron) or its enum (row * 256 + column)."""

    size = C.NEURONS_PER_CHIP

    def x(self): return NeuronColumnOnLogicalNeuron(int(self) % C.COLUMNS_PER_HEMISPHERE)  # noqa: E704
    def y(self): return NeuronRowOnLogicalNeuron(int(self) // C.COLUMNS_PER_HEMISPHERE)  # noqa: E704

    @property
    def column(self) -> int:
        return int(self) % C.COLUMNS_PER_HEMISPHERE

    @property
    def row(self) -> int:
        return int(self) // C.COLUMNS_PER_HEMISPHERE

    def __repr__(self) -> str:
        return f"AtomicNeuronOnLogicalNeuron({self.column}, {self.row})"


class CompartmentOnLogicalNeuron(_Coordinate):
    size = 255  # protocol.morphology.COMPARTMENTS_MAX


class LogicalNeuronCompartments:
    """The compartments of a logical neuron (``lola.Morphology.done()``'s first result)."""

    def __init__(self, compartments) -> None:
        #: the ``protocol.morphology.LogicalNeuronCompartments`` it shows
        self.structure = compartments

    def get_compartments(self) -> dict:
        """``{CompartmentOnLogicalNeuron: [AtomicNeuronOnLogicalNeuron, …]}``."""
        return {CompartmentOnLogicalNeuron(i): [AtomicNeuronOnLogicalNeuron(c.column, c.row) for c in comp]
                for i, comp in enumerate(self.structure.compartments)}

    def size(self) -> int:
        return len(self.structure.compartments)

    def __repr__(self) -> str:
        return f"LogicalNeuronCompartments({self.get_compartments()!r})"


class LogicalNeuronOnDLS:
    """A logical neuron placed on the chip: its compartments anchored at an AtomicNeuronOnDLS
    (the anchor is the relative circuit (0, 0))."""

    def __init__(self, compartments: LogicalNeuronCompartments, anchor) -> None:
        self.compartments = compartments
        self.anchor = AtomicNeuronOnDLS(anchor)
        row = int(self.anchor) // C.COLUMNS_PER_HEMISPHERE
        #: ``protocol.morphology.PlacedNeurons`` of this one neuron (its checks: it fits the chip)
        self.placed = compartments.structure.place([int(self.anchor) % C.COLUMNS_PER_HEMISPHERE], anchor_row=row)

    def get_placed_compartments(self) -> dict:
        """``{CompartmentOnLogicalNeuron: [AtomicNeuronOnDLS, …]}``."""
        return {CompartmentOnLogicalNeuron(i): [AtomicNeuronOnDLS(self.placed.circuits[self.placed.index(0, i, k)])
                                                for k in range(len(comp))]
                for i, comp in enumerate(self.compartments.structure.compartments)}

    def get_atomic_neurons(self) -> list:
        """Every circuit it occupies (line-only circuits included)."""
        return [AtomicNeuronOnDLS(n) for n in self.placed.circuits]

    def __repr__(self) -> str:
        return f"LogicalNeuronOnDLS({self.compartments!r}, anchor={self.anchor!r})"


class NeuronConfigOnDLS(_Coordinate):
    size = C.NEURONS_PER_CHIP

    def toAtomicNeuronOnDLS(self): return AtomicNeuronOnDLS(int(self))  # noqa: E704,N802


class NeuronBackendConfigOnDLS(NeuronConfigOnDLS):
    pass


class CommonNeuronBackendConfigOnDLS(_Coordinate):
    size = C.HEMISPHERES


class CapMemBlockOnDLS(_Coordinate):
    """A CapMem block: one quadrant of 128 neuron circuits."""

    size = C.NEURONS_PER_CHIP // C.NEURONS_PER_QUADRANT


class NeuronEventOutputOnDLS(_Coordinate):
    size = C.NEURON_EVENT_OUTPUTS


class NeuronBlockOnDLS(_Singleton):
    pass


# --- synapses ----------------------------------------------------------------------------
class SynramOnDLS(_Coordinate):
    size = C.HEMISPHERES

    def toHemisphereOnDLS(self): return HemisphereOnDLS(int(self))  # noqa: E704,N802
    def toNeuronRowOnDLS(self): return NeuronRowOnDLS(int(self))  # noqa: E704,N802


SynapseBlockOnDLS = SynramOnDLS


class SynapseRowOnSynram(_Coordinate):
    size = C.ROWS_PER_HEMISPHERE

    def toSynapseDriverOnSynapseDriverBlock(self):  # noqa: N802
        return SynapseDriverOnSynapseDriverBlock(int(self) // C.ROWS_PER_DRIVER)


class EntryOnQuad(_Coordinate):
    """One of the 4 synapses of a synapse quad (the unit the synapse array is accessed in)."""

    size = 4


class SynapseQuadColumnOnDLS(_Coordinate):
    size = C.COLUMNS_PER_HEMISPHERE // EntryOnQuad.size


class SynapseOnSynapseRow(_Coordinate):
    """A synapse column, or made from (EntryOnQuad, SynapseQuadColumnOnDLS) as halco
    interleaves quads: quad q's entry e is column (3 - e)·2 + (q mod 32)·8 + q div 32."""

    size = C.COLUMNS_PER_HEMISPHERE

    def __new__(cls, value=0, quad=None):
        if quad is None:
            return _Coordinate.__new__(cls, value)
        entry, quad = EntryOnQuad(value), SynapseQuadColumnOnDLS(quad)
        half = SynapseQuadColumnOnDLS.size // 2
        return _Coordinate.__new__(cls, (3 - entry) * 2 + (quad % half) * EntryOnQuad.size * 2 + quad // half)

    def toEntryOnQuad(self): return EntryOnQuad(3 - (int(self) // 2) % EntryOnQuad.size)  # noqa: E704,N802

    def toSynapseQuadColumnOnDLS(self):  # noqa: N802
        half = SynapseQuadColumnOnDLS.size // 2
        return SynapseQuadColumnOnDLS(int(self) // (EntryOnQuad.size * 2) + (int(self) % 2) * half)


@(lambda c: _grid(c, SynapseRowOnSynram, SynramOnDLS))
class SynapseRowOnDLS(_Coordinate):
    """(SynapseRowOnSynram, SynramOnDLS) or its enum: synram * 256 + row."""

    size = C.HEMISPHERES * C.ROWS_PER_HEMISPHERE

    def toSynapseRowOnSynram(self): return SynapseRowOnSynram(int(self) % C.ROWS_PER_HEMISPHERE)  # noqa: E704,N802
    def toSynramOnDLS(self): return SynramOnDLS(int(self) // C.ROWS_PER_HEMISPHERE)  # noqa: E704,N802
    def toSynapseWeightRowOnDLS(self): return self  # noqa: E704,N802
    def toSynapseLabelRowOnDLS(self): return self  # noqa: E704,N802


SynapseWeightRowOnDLS = SynapseRowOnDLS
SynapseLabelRowOnDLS = SynapseRowOnDLS


@(lambda c: _grid(c, SynapseQuadColumnOnDLS, SynapseRowOnSynram))
class SynapseQuadOnSynram(_Coordinate):
    """(SynapseQuadColumnOnDLS, SynapseRowOnSynram) or its enum: row * 64 + quad column."""

    size = SynapseQuadColumnOnDLS.size * C.ROWS_PER_HEMISPHERE

    def toSynapseQuadColumnOnDLS(self):  # noqa: N802
        return SynapseQuadColumnOnDLS(int(self) % SynapseQuadColumnOnDLS.size)

    def toSynapseRowOnSynram(self):  # noqa: N802
        return SynapseRowOnSynram(int(self) // SynapseQuadColumnOnDLS.size)


@(lambda c: _grid(c, SynapseQuadOnSynram, SynramOnDLS))
class SynapseQuadOnDLS(_Coordinate):
    """(SynapseQuadOnSynram, SynramOnDLS) or its enum: 4 synapses of one row, interleaved over
    the columns as ``SynapseOnSynapseRow(entry, quad)`` places them."""

    size = C.HEMISPHERES * SynapseQuadOnSynram.size

    def toSynapseQuadOnSynram(self): return SynapseQuadOnSynram(int(self) % SynapseQuadOnSynram.size)  # noqa: E704,N802
    def toSynramOnDLS(self): return SynramOnDLS(int(self) // SynapseQuadOnSynram.size)  # noqa: E704,N802
    def toSynapseRowOnSynram(self): return self.toSynapseQuadOnSynram().toSynapseRowOnSynram()  # noqa: E704,N802
    def toSynapseQuadColumnOnDLS(self):  # noqa: N802
        return self.toSynapseQuadOnSynram().toSynapseQuadColumnOnDLS()

    def toSynapseRowOnDLS(self):  # noqa: N802
        return SynapseRowOnDLS(self.toSynapseRowOnSynram(), self.toSynramOnDLS())

    def toSynapseWeightQuadOnDLS(self): return self  # noqa: E704,N802
    def toSynapseLabelQuadOnDLS(self): return self  # noqa: E704,N802

    def columns(self) -> list[int]:
        """The synapse columns of entries 0..3."""
        quad = self.toSynapseQuadColumnOnDLS()
        return [int(SynapseOnSynapseRow(EntryOnQuad(e), quad)) for e in range(EntryOnQuad.size)]


SynapseWeightQuadOnDLS = SynapseQuadOnDLS
SynapseLabelQuadOnDLS = SynapseQuadOnDLS


class SynapseDriverBlockOnDLS(_Coordinate):
    size = C.HEMISPHERES

    def toHemisphereOnDLS(self): return HemisphereOnDLS(int(self))  # noqa: E704,N802


class SynapseDriverOnSynapseDriverBlock(_Coordinate):
    size = C.DRIVERS_PER_HEMISPHERE

    def toPADIBusOnPADIBusBlock(self):  # noqa: N802
        return PADIBusOnPADIBusBlock(int(self) % C.PADI_BUSES_PER_HEMISPHERE)

    def toSynapseRowOnSynram(self):  # noqa: N802
        return tuple(SynapseRowOnSynram(C.ROWS_PER_DRIVER * int(self) + i) for i in range(C.ROWS_PER_DRIVER))


@(lambda c: _grid(c, SynapseDriverOnSynapseDriverBlock, SynapseDriverBlockOnDLS))
class SynapseDriverOnDLS(_Coordinate):
    """(SynapseDriverOnSynapseDriverBlock, SynapseDriverBlockOnDLS) or enum block * 128 + driver."""

    size = C.HEMISPHERES * C.DRIVERS_PER_HEMISPHERE

    def toSynapseDriverOnSynapseDriverBlock(self):  # noqa: N802
        return SynapseDriverOnSynapseDriverBlock(int(self) % C.DRIVERS_PER_HEMISPHERE)

    def toSynapseDriverBlockOnDLS(self):  # noqa: N802
        return SynapseDriverBlockOnDLS(int(self) // C.DRIVERS_PER_HEMISPHERE)


class PADIBusOnPADIBusBlock(_Coordinate):
    size = C.PADI_BUSES_PER_HEMISPHERE


class PADIBusOnDLS(_Coordinate):
    size = C.HEMISPHERES * C.PADI_BUSES_PER_HEMISPHERE


# --- routing, readout, processors, FPGA --------------------------------------------------
class BackgroundSpikeSourceOnDLS(_Coordinate):
    size = C.BACKGROUND_GENERATORS


class CrossbarInputOnDLS(_Coordinate):
    size = C.CROSSBAR_INPUTS


class CrossbarOutputOnDLS(_Coordinate):
    size = C.CROSSBAR_OUTPUTS


class PPUOnDLS(_Coordinate):
    size = C.HEMISPHERES

    def toHemisphereOnDLS(self): return HemisphereOnDLS(int(self))  # noqa: E704,N802


class CADCOnDLS(_Coordinate):
    size = C.HEMISPHERES


class CADCChannelColumnOnSynram(_Coordinate):
    """A CADC channel of one synram: one per column (causal and acausal each)."""

    size = C.COLUMNS_PER_HEMISPHERE


class CADCSampleRowOnDLS(_Coordinate):
    """The CADC samples of one hemisphere's 256 columns (the membranes of that neuron row)."""

    size = C.HEMISPHERES

    def toSynramOnDLS(self): return SynramOnDLS(int(self))  # noqa: E704,N802


class CapMemCellOnDLS(_Singleton):
    pass


class TimerOnDLS(_Singleton):
    pass


class MADCControlOnDLS(_Singleton):
    pass


class MADCConfigOnDLS(_Singleton):
    pass


class ReadoutChainOnDLS(_Singleton):
    pass


class SystimeSyncOnFPGA(_Singleton):
    pass


class EventRecordingConfigOnFPGA(_Singleton):
    pass


class SpikePack1ToChipOnDLS(_Singleton):
    pass


class DACChannelOnBoard(_Coordinate):
    """A DAC channel of the adapter board; ``mux_dac_25`` drives the readout pads' debug line."""

    size = 8


DACChannelOnBoard.mux_dac_25 = DACChannelOnBoard(5)


class PadMultiplexerConfigOnDLS(_Coordinate):
    size = 2


class SourceMultiplexerOnReadoutSourceSelection(_Coordinate):
    size = 2


class ChipOnDLS(_Singleton):
    pass


class DLSGlobal(_Singleton):
    pass


class common:  # noqa: N801 (halco.common)
    """``halco.common``: ``Enum`` and ``iter_all``."""

    Enum = Enum
    iter_all = staticmethod(iter_all)


__all__ = [name for name, obj in list(globals().items())
           if isinstance(obj, type) and issubclass(obj, _Coordinate) and not name.startswith("_")] + [
    "Enum", "iter_all", "common", "LogicalNeuronCompartments", "LogicalNeuronOnDLS"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("halco", name, __all__)
