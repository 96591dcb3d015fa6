"""bss2emu: an emulator of BrainScaleS-2 neuromorphic systems."""
