"""The emulated hardware components as plain classes (no Ray): ``Chip``, ``Fpga``, ``Ppu``."""
