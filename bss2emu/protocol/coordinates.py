"""Hardware constants and typed coordinates of one HICANN-X v3 chip (DESIGN.md §3).

Coordinates are small ``int`` subclasses that check their range on construction, so a
``NeuronOnChip(600)`` fails where it is made, with the limit in the message:

>>> n = NeuronOnChip(300)
>>> (n.hemisphere, n.column, n.event_output)
(1, 44, 4)
>>> SynapseDriver(5).rows
(SynapseRow(10), SynapseRow(11))
>>> NeuronOnChip(512)
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: NeuronOnChip 512 is out of range: a chip has neuron circuits 0..511
"""

from __future__ import annotations

from ..errors import ConfigError

# --- sizes ------------------------------------------------------------------------------
HEMISPHERES = 2
COLUMNS_PER_HEMISPHERE = 256
NEURONS_PER_CHIP = HEMISPHERES * COLUMNS_PER_HEMISPHERE  # 512
NEURONS_PER_QUADRANT = 128
ROWS_PER_HEMISPHERE = 256
DRIVERS_PER_HEMISPHERE = 128
ROWS_PER_DRIVER = 2
PADI_BUSES_PER_HEMISPHERE = 4
DRIVERS_PER_PADI_BUS = DRIVERS_PER_HEMISPHERE // PADI_BUSES_PER_HEMISPHERE  # 32
NEURON_EVENT_OUTPUTS = 8
NEURONS_PER_EVENT_OUTPUT = NEURONS_PER_CHIP // NEURON_EVENT_OUTPUTS  # 64
FPGA_CROSSBAR_INPUTS = 4
BACKGROUND_GENERATORS = 8
CROSSBAR_INPUTS = NEURON_EVENT_OUTPUTS + FPGA_CROSSBAR_INPUTS + BACKGROUND_GENERATORS  # 20
CROSSBAR_OUTPUTS = HEMISPHERES * PADI_BUSES_PER_HEMISPHERE + 4  # 8 PADI buses + 4 to FPGA
CROSSBAR_INPUT_FPGA = NEURON_EVENT_OUTPUTS  # first FPGA input: 8..11
CROSSBAR_INPUT_BACKGROUND = NEURON_EVENT_OUTPUTS + FPGA_CROSSBAR_INPUTS  # 12..19
CROSSBAR_OUTPUT_FPGA = HEMISPHERES * PADI_BUSES_PER_HEMISPHERE  # first FPGA output: 8..11

# --- value ranges -----------------------------------------------------------------------
WEIGHT_MAX = 63  # 6 bit
ADDRESS_MAX = 63  # 6-bit synapse label
DAC_MAX = 1022  # 10-bit CapMem cell, 1023 is reserved
CAPACITANCE_MAX = 63
STP_PARAMETER_MAX = 15  # 4-bit utilisation / recovery
REFRACTORY_COUNT_MAX = 255
REFRACTORY_CLOCK_MAX = 7
MADC_BITS = 10
CADC_BITS = 8
LABEL_BITS = 16

# --- event label layout (16 bit) --------------------------------------------------------
# bits 0-5: synapse address, 6-10: row select (driver on its PADI bus), 11-12: PADI bus,
# bit 13: "no synapse target" (crossbar sends it to the FPGA only), 14-15: reserved.
LABEL_ADDRESS_BITS = 6
LABEL_ROW_SELECT_SHIFT = 6
LABEL_ROW_SELECT_BITS = 5
LABEL_BUS_SHIFT = 11
LABEL_NO_TARGET_BIT = 1 << 13
LABEL_MAX = (1 << LABEL_BITS) - 1


def make_label(bus: int, row_select: int, address: int) -> int:
    """Compose the 16-bit event label for a source on PADI bus ``bus`` (0-3), driver
    ``row_select`` on that bus (0-31) and synapse address ``address`` (0-63)."""
    return (bus << LABEL_BUS_SHIFT) | (row_select << LABEL_ROW_SELECT_SHIFT) | address


def driver_of(bus: int, row_select: int) -> int:
    """Index (0-127) in its hemisphere of the driver at ``row_select`` on PADI bus ``bus``.

    Driver ``d`` listens on PADI bus ``d % 4``, as on HICANN-X."""
    return row_select * PADI_BUSES_PER_HEMISPHERE + bus


class _Coordinate(int):
    _limit: int = 0
    _what: str = ""

    def __new__(cls, value: int):
        iv = int(value)
        if iv != value or not 0 <= iv < cls._limit:
            raise ConfigError(
                f"{cls.__name__} {value!r} is out of range: a chip has {cls._what} 0..{cls._limit - 1}"
            )
        return super().__new__(cls, iv)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class ChipId(int):
    """Global index of a chip in a system (0 and up)."""

    def __new__(cls, value: int):
        iv = int(value)
        if iv != value or iv < 0:
            raise ConfigError(f"ChipId {value!r} is invalid: chip ids are integers >= 0")
        return super().__new__(cls, iv)

    def __repr__(self) -> str:
        return f"ChipId({int(self)})"


class HemisphereOnChip(_Coordinate):
    """Top (0) or bottom (1) half of the chip."""

    _limit, _what = HEMISPHERES, "hemispheres"


class NeuronOnChip(_Coordinate):
    """Neuron circuit 0..511; 0-255 are the top hemisphere, 256-511 the bottom one."""

    _limit, _what = NEURONS_PER_CHIP, "neuron circuits"

    @property
    def hemisphere(self) -> int:
        return self // COLUMNS_PER_HEMISPHERE

    @property
    def column(self) -> int:
        return self % COLUMNS_PER_HEMISPHERE

    @property
    def event_output(self) -> int:
        """The neuron event output (crossbar input 0-7) that carries this neuron's spikes."""
        return self // NEURONS_PER_EVENT_OUTPUT


class SynapseRow(_Coordinate):
    """Row 0..255 of one hemisphere's synapse array."""

    _limit, _what = ROWS_PER_HEMISPHERE, "synapse rows per hemisphere"

    @property
    def driver(self) -> "SynapseDriver":
        return SynapseDriver(self // ROWS_PER_DRIVER)


class SynapseDriver(_Coordinate):
    """Synapse driver 0..127 of one hemisphere; it drives rows 2d and 2d+1."""

    _limit, _what = DRIVERS_PER_HEMISPHERE, "synapse drivers per hemisphere"

    @property
    def rows(self) -> tuple[SynapseRow, SynapseRow]:
        return SynapseRow(2 * self), SynapseRow(2 * self + 1)

    @property
    def padi_bus(self) -> "PadiBus":
        return PadiBus(self % PADI_BUSES_PER_HEMISPHERE)

    @property
    def row_select(self) -> int:
        return self // PADI_BUSES_PER_HEMISPHERE


class PadiBus(_Coordinate):
    """PADI bus 0..3 of one hemisphere; each feeds 32 synapse drivers."""

    _limit, _what = PADI_BUSES_PER_HEMISPHERE, "PADI buses per hemisphere"


class BackgroundGeneratorOnChip(_Coordinate):
    """On-chip background spike generator 0..7 (crossbar input 12 + index)."""

    _limit, _what = BACKGROUND_GENERATORS, "background generators"


class CrossbarInput(_Coordinate):
    """Crossbar input: 0-7 neuron event outputs, 8-11 from the FPGA, 12-19 background."""

    _limit, _what = CROSSBAR_INPUTS, "crossbar inputs"


class CrossbarOutput(_Coordinate):
    """Crossbar output: 0-7 PADI buses (4 per hemisphere), 8-11 to the FPGA."""

    _limit, _what = CROSSBAR_OUTPUTS, "crossbar outputs"
