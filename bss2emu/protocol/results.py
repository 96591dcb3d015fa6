"""``Results``: the Arrow tables a run produces, with pandas and Parquet conversion.

Tables: ``spikes`` (time_ticks, chip, neuron, label, population, index, time_us),
``madc``, ``cadc``, ``ppu``; ``metadata`` describes the run (``metadata["madc"]``: the
MADC's population, index, source and unit; ``["madc_channels"]``: the same per channel, with
the chip and circuit whose ``madc`` rows are the channel's). Parquet output is atomic: files are written
under temporary names and renamed only when all are complete. Every file carries the run's
id (``metadata["run_id"]``, and ``bss2emu.run_id`` in each Parquet file's schema metadata),
and a table an earlier run left in the folder is removed, so old and new results cannot be
mixed; ``read_parquet`` refuses a folder whose files come from different runs.

``prepare_results_dir`` checks a results folder before a run spends its time: it creates
it, writes and removes a probe file, and refuses a folder that already holds results
unless ``overwrite`` (and, even then, one that holds anything else).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
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
    """One MADC channel's samples: hardware times (µs), values (float64) and their unit, and
    the 10-bit codes the MADC read (the membrane's, or the adaptation capacitor's voltage;
    None for a synaptic input)."""

    time_us: np.ndarray
    values: np.ndarray
    unit: str
    codes: np.ndarray | None = None


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

    def _madc_channel(self, channel: int) -> tuple[pa.Table, dict]:
        """The ``madc`` rows of one MADC channel and its metadata."""
        channels = self.metadata.get("madc_channels") or [self.metadata.get("madc", {})]
        if not 0 <= channel < len(channels):
            raise ConfigError(f"MADC channel {channel} was not recorded: this run recorded {len(channels)} "
                              f"(0{' and 1' if len(channels) > 1 else ''})")
        meta, t = channels[channel], self.madc
        if len(channels) > 1:  # the channels' samples alternate in one table: its rows name chip and circuit
            t = t.filter(pc.and_(pc.equal(t["chip"], meta["chip"]), pc.equal(t["neuron"], meta["circuit"])))
        return t, meta

    def madc_mv(self, channel: int = 0):
        """An MADC channel's membrane trace as a DataFrame with ``time_us`` and ``v_mv`` (floats)."""
        t, meta = self._madc_channel(channel)
        source = meta.get("source", "membrane")
        if source != "membrane":
            which = "the MADC" if channel == 0 else f"MADC channel {channel}"
            raise ConfigError(f"{which} recorded {source!r}, not the membrane: read it with "
                              f"Results.madc_values({channel or ''}), or record source: membrane for madc_mv()")
        df = t.to_pandas()
        df["time_us"] = df["time_ticks"].to_numpy() / 125.0
        df["v_mv"] = schemas.madc_code_to_mv(df["value"].to_numpy())
        return df

    def madc_values(self, channel: int = 0) -> MadcTrace:
        """An MADC channel's samples (channel 0 is ``metadata["madc"]``, both are in
        ``metadata["madc_channels"]``) in the channel's unit: the membrane in mV (from the
        10-bit codes), a synaptic input in nA (current-based) or uS (conductance-based),
        adaptation w in nA; with its codes where the MADC read a voltage."""
        t, meta = self._madc_channel(channel)
        unit = meta.get("unit", "mV")
        codes = t["value"].to_numpy(zero_copy_only=False) if t["value"].null_count == 0 else None
        if "physical" in t.column_names:
            values = t["physical"].to_numpy()
        else:  # written before the MADC had sources: membrane codes only
            values = schemas.madc_code_to_mv(t["value"].to_numpy())
        return MadcTrace(ticks_to_us(t["time_ticks"].to_numpy()), values, unit,
                         None if codes is None else codes.astype(np.int64))

    def spike_times_us(self, population: str) -> list:
        """Spike times (hardware µs) per neuron of ``population``, as a list of arrays."""
        t = self.spikes
        sizes = self.metadata.get("populations", {})
        if population not in sizes:
            raise ConfigError(f"no population {population!r} in these results; known are {sorted(sizes)}")
        df = t.filter(pc.equal(t["population"], population)).to_pandas()
        groups = dict(tuple(df.groupby("index")["time_us"]))
        return [np.asarray(groups.get(i, []), dtype=float) for i in range(sizes[population])]

    @property
    def run_id(self) -> str:
        """The id written into every file of these results (made on first use)."""
        return self.metadata.setdefault("run_id", uuid.uuid4().hex)

    def write_parquet(self, directory: str | Path) -> list[Path]:
        """Write ``<name>.parquet`` per table and ``metadata.json`` into ``directory``,
        atomically; remove the tables of an earlier run that this one does not write."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        run_id = self.run_id
        staged: list[tuple[str, Path]] = []
        umask = os.umask(0)
        os.umask(umask)
        try:
            for name, table in self.tables.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
                os.close(fd)
                staged.append((tmp, out / f"{name}.parquet"))
                meta = dict(table.schema.metadata or {}) | {RUN_ID_KEY: run_id.encode()}
                pq.write_table(table.replace_schema_metadata(meta), tmp)
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
        written = [final for _, final in staged]
        for other in set(out.glob("*.parquet")) - set(written):
            if _run_id_of(other) not in (None, run_id):
                other.unlink(missing_ok=True)  # a table of an earlier run must not pass for this one's
        return written

    @classmethod
    def read_parquet(cls, directory: str | Path) -> "Results":
        """Load results written by ``write_parquet``; refuse files of different runs."""
        d = Path(directory)
        tables = {p.stem: pq.read_table(p) for p in sorted(d.glob("*.parquet"))}
        meta_path = d / "metadata.json"
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        ids = {name: (t.schema.metadata or {}).get(RUN_ID_KEY, b"").decode() for name, t in tables.items()}
        expected = meta.get("run_id")
        mixed = {n: i for n, i in ids.items() if i and expected and i != expected}
        if mixed:
            raise ConfigError(f"results in {str(d)!r} mix runs: metadata.json is run {expected}, but "
                              + ", ".join(f"{n}.parquet is run {i}" for n, i in sorted(mixed.items()))
                              + "; rerun into an empty directory")
        return cls(tables, meta)


RUN_ID_KEY = b"bss2emu.run_id"
RESULT_FILES = ("*.parquet", "metadata.json")


def _run_id_of(path: Path) -> str | None:
    """The bss2emu run id in a Parquet file's schema metadata; None for other files."""
    try:
        found = (pq.read_schema(path).metadata or {}).get(RUN_ID_KEY)
    except (OSError, pa.ArrowException):
        return None
    return found.decode() if found else None


def _is_result_file(p: Path) -> bool:
    return p.is_file() and any(p.match(pattern) for pattern in RESULT_FILES)


def prepare_results_dir(directory: str | Path, overwrite: bool = False) -> list[Path]:
    """Make ``directory`` ready for a run's results before the run: create it, prove it
    writable with a probe file, refuse one that holds results (unless ``overwrite``) or, when
    overwriting, anything else. Returns the directories it created (for ``discard_created``)."""
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a directory for the result tables")
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".bss2emu-probe.", suffix=".tmp", dir=out)
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"cannot write results to {str(out)!r}: {err.strerror or err}; choose a directory "
                          f"you can write to (nothing was run)") from None
    present = sorted(p.name for p in out.iterdir() if not p.name.endswith(".tmp"))
    if present:
        foreign = [n for n in present if not _is_result_file(out / n)]
        if not overwrite:
            raise ConfigError(f"--out {str(out)!r} is not empty ({_few(present)}); pass --overwrite to replace the "
                              f"results in it, or choose a new directory")
        if foreign:
            raise ConfigError(f"--out {str(out)!r} holds files that are not bss2emu results ({_few(foreign)}); "
                              f"--overwrite replaces results only: choose an empty or new directory")
    return list(reversed(missing))


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def discard_created(created: list[Path]) -> None:
    """Remove the directories ``prepare_results_dir`` created, if they are still empty."""
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError:
            break


def write_with_fallback(results: Results, directory: str | Path) -> tuple[list[Path], str | None]:
    """Write ``results`` to ``directory``; if that fails, to a fallback folder in the temporary
    directory (``bss2emu-results-<run id>``). Returns the files written and, on fallback,
    why ``directory`` failed. Raises ``ConfigError`` only when both fail."""
    try:
        return results.write_parquet(directory), None
    except OSError as err:
        reason = f"cannot write results to {str(directory)!r}: {err.strerror or err}"
    fallback = Path(tempfile.gettempdir()) / f"bss2emu-results-{results.run_id}"
    try:
        return results.write_parquet(fallback), reason
    except OSError as err:
        shutil.rmtree(fallback, ignore_errors=True)
        raise ConfigError(f"{reason}; the fallback {str(fallback)!r} failed too ({err.strerror or err}): "
                          f"the results are lost, free space or choose a writable --out") from None
