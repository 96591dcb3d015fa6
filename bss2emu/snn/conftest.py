"""Doctests of the torch front end need the optional ``torch`` package (``pip install
bss2emu[torch]``); without it pytest skips this package instead of failing to import it."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["*.py"]
