"""Doctests of the PyNN backend need the optional ``pyNN`` package (``pip install
bss2emu[pynn]``); without it pytest skips this package instead of failing to import it."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("pyNN") else ["*.py"]
