"""Tests of bss2emu.calib (a package so that its conftest and helpers get unique module names)."""
