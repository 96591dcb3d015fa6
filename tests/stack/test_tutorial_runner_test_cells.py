"""benchmarks/bss2_tutorials.py takes the cells the demos' own notebook test build runs:
``.. code-block::`` cells too, and those marked ``:class: test`` (test-sized settings)."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "bss2_tutorials", Path(__file__).resolve().parents[2] / "benchmarks" / "bss2_tutorials.py")
runner = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(runner)

TUTORIAL = textwrap.dedent("""\
    A search
    ========

    .. code:: ipython3

        import numpy as np

    .. code-block:: ipython3

        NGEN = 100

    .. code-block:: ipython3
       :class: test, html-display-none

       NGEN = 2

    .. code-block:: bash

        echo "not a cell"

    .. only:: not exclude_nmpi

        .. code:: ipython3

            import nmpi

    .. code-block:: python3

        print(NGEN)
    """)


def test_code_block_and_test_cells_are_taken_in_order(tmp_path: Path):
    path = tmp_path / "ts_99-search.rst"
    path.write_text(TUTORIAL)
    cells = runner.rst_cells(path)
    assert cells == ["import numpy as np", "NGEN = 100", "NGEN = 2", "print(NGEN)"]


def test_the_test_cell_wins_in_the_script(tmp_path: Path):
    path = tmp_path / "ts_99-search.rst"
    path.write_text(TUTORIAL)
    namespace: dict = {}
    script = runner.to_script(runner.rst_cells(path)).replace(runner.PRELUDE, "")
    exec(compile(script, str(path), "exec"), namespace)  # noqa: S102 - our own text
    assert namespace["NGEN"] == 2
