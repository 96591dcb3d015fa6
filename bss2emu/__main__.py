"""``python -m bss2emu``: the same command line as the ``bss2emu`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
