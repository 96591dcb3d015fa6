"""``Results``: the Arrow tables a run produces, with pandas and Parquet conversion.

Tables: ``spikes`` (time_ticks, chip, neuron, label, population, index, time_us),
``madc``, ``cadc``, ``ppu``; ``metadata`` describes the run (``metadata["madc"]``: the
MADC's population, index, source and unit). Parquet output is atomic: files are written
under temporary names and renamed only when all are complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ConfigError
from ..units import ticks_to_us
from . import schemas


class MadcTrace(NamedTuple):
    """The MADC's samples: hardware times (µs), values (float64) and their unit."""

    time_us: np.ndarray
    values: np.ndarray
    unit: str


@dataclass
class Results:
    """What a run returns: one Arrow table per recording, plus run metadata."""

    tables: dict[str, pa.Table]
    metadata: dict = field(default_factory=dict)

    @property
    def spikes(self) -> pa.Table:
        return self.tables["spikes"]

    @property
    def madc(self) -> pa.Table:
        return self.tables["madc"]

    @property
    def cadc(self) -> pa.Table:
        return self.tables["cadc"]

    @property
    def ppu(self) -> pa.Table:
        return self.tables["ppu"]

    def to_pandas(self, name: str = "spikes"):
        """One table as a pandas DataFrame."""
        if name not in self.tables:
            raise ConfigError(f"no result table {name!r}; tables are {sorted(self.tables)}")
        return self.tables[name].to_pandas()

    def madc_mv(self):
        """The MADC's membrane trace as a DataFrame with ``time_us`` and ``v_mv`` (floats)."""
        source = self.metadata.get("madc", {}).get("source", "membrane")
        if source != "membrane":
            raise ConfigError(f"the MADC recorded {source!r}, not the membrane: read it with "
                              f"Results.madc_values(), or record source: membrane for madc_mv()")
        df = self.madc.to_pandas()
        df["time_us"] = df["time_ticks"].to_numpy() / 125.0
        df["v_mv"] = schemas.madc_code_to_mv(df["value"].to_numpy())
        return df

    def madc_values(self) -> MadcTrace:
        """The MADC's samples in the unit of ``metadata["madc"]["unit"]``: the membrane in mV
        (from the 10-bit codes), a synaptic input in nA (current-based) or uS
        (conductance-based), adaptation w in nA."""
        t = self.madc
        unit = self.metadata.get("madc", {}).get("unit", "mV")
        if "physical" in t.column_names:
            values = t["physical"].to_numpy()
        else:  # written before the MADC had sources: membrane codes only
            values = schemas.madc_code_to_mv(t["value"].to_numpy())
        return MadcTrace(ticks_to_us(t["time_ticks"].to_numpy()), values, unit)

    def spike_times_us(self, population: str) -> list:
        """Spike times (hardware µs) per neuron of ``population``, as a list of arrays."""
        t = self.spikes
        sizes = self.metadata.get("populations", {})
        if population not in sizes:
            raise ConfigError(f"no population {population!r} in these results; known are {sorted(sizes)}")
        df = t.filter(pc.equal(t["population"], population)).to_pandas()
        groups = dict(tuple(df.groupby("index")["time_us"]))
        return [np.asarray(groups.get(i, []), dtype=float) for i in range(sizes[population])]

    def write_parquet(self, directory: str | Path) -> list[Path]:
        """Write ``<name>.parquet`` per table and ``metadata.json`` into ``directory``, atomically."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[str, Path]] = []
        umask = os.umask(0)
        os.umask(umask)
        try:
            for name, table in self.tables.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
                os.close(fd)
                staged.append((tmp, out / f"{name}.parquet"))
                pq.write_table(table, tmp)
            fd, tmp = tempfile.mkstemp(prefix=".metadata.", suffix=".tmp", dir=out)
            staged.append((tmp, out / "metadata.json"))
            with os.fdopen(fd, "w") as fh:
                json.dump(self.metadata, fh, indent=2, default=str)
            for tmp, _ in staged:
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        except BaseException:
            for tmp, _ in staged:
                Path(tmp).unlink(missing_ok=True)
            raise
        # every file is complete before the first rename: a reader sees old or new files, never partial ones
        for tmp, final in staged:
            os.replace(tmp, final)
        return [final for _, final in staged]

    @classmethod
    def read_parquet(cls, directory: str | Path) -> "Results":
        """Load results written by ``write_parquet``."""
        d = Path(directory)
        tables = {p.stem: pq.read_table(p) for p in sorted(d.glob("*.parquet"))}
        meta_path = d / "metadata.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return cls(tables, meta)
