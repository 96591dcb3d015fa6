"""``Results``: the Arrow tables a run produces, with pandas and Parquet conversion.

Tables: ``spikes`` (time_ticks, chip, neuron, label, population, index, time_us),
``madc``, ``cadc``, ``ppu``; ``metadata`` describes the run. Parquet output is atomic: files
are written under temporary names and renamed only when all are complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ConfigError


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
        """The MADC trace as a DataFrame with ``time_us`` and ``v_mv`` (floats)."""
        df = self.madc.to_pandas()
        df["time_us"] = df["time_ticks"].to_numpy() / 125.0
        df["v_mv"] = df["value"].to_numpy().astype(float) * 1200.0 / 1023.0
        return df

    def spike_times_us(self, population: str) -> list:
        """Spike times (hardware µs) per neuron of ``population``, as a list of arrays."""
        import numpy as np

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
