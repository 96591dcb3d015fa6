"""The shared language of bss2emu: coordinates, hardware containers, experiments, playback
programs and Arrow schemas. Imports nothing internal but ``errors`` and ``units``."""
