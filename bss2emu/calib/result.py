"""The outcome of calibrating a chip, and the on-disk store that keeps it per chip serial.

``CalibrationResult`` holds, for all 512 circuits, the DAC (and digital) values of every
neuron parameter, the targets, and what the chip achieved with them (measured where the
calibration measured, else predicted by the measured transfer models) — plus the
per-circuit synaptic and current gains that parameter and weight translation need.

``CalibrationStore`` keeps results and characterisations in
``$BSS2EMU_CALIB_DIR`` (default ``~/.cache/bss2emu/calib``) as::

    <dir>/<serial>/characterisation.npz      per-circuit transfer models
    <dir>/<serial>/<targets key>.npz         one result per set of targets

(``ideal`` instead of a serial for a chip without mismatch). Files are written to a
temporary name and renamed, so a reader never sees half a file; a file written by another
version of the calibration, or for another chip model (``models.model_fingerprint``), is
ignored (and recomputed).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS, NeuronConfig
from .models import Characterisation, model_fingerprint
from .targets import TARGET_NAMES, CalibrationTargets

N = C.NEURONS_PER_CHIP
FORMAT_VERSION = 2
ENV_DIR = "BSS2EMU_CALIB_DIR"

# (target, quantity the result reports for it, unit) — what `spread()` tabulates
REPORTED: tuple[tuple[str, str], ...] = (
    ("v_leak_mv", "mV"), ("v_reset_mv", "mV"), ("v_threshold_mv", "mV"), ("e_rev_exc_mv", "mV"),
    ("e_rev_inh_mv", "mV"), ("tau_m_us", "us"), ("tau_syn_exc_us", "us"), ("tau_syn_inh_us", "us"),
    ("tau_ref_us", "us"), ("psp_exc_mv", "mV"), ("psp_inh_mv", "mV"), ("i_offset_mv", "mV"),
    ("delta_t_mv", "mV"), ("v_exp_mv", "mV"), ("a_ratio", ""), ("b_mv", "mV"), ("tau_w_us", "us"),
)


@dataclass
class CalibrationResult:
    """Per-circuit neuron configuration reaching ``targets`` on chip ``serial``.

    ``dac[parameter]``: int64[512] for every neuron parameter; ``achieved[target]``: what
    the circuit reaches (float[512]); ``gains``: per-circuit slopes at the chosen DAC values
    (``syn_exc_mv_per_us``, ``syn_inh_mv_per_us`` per weight LSB, current-based;
    ``coba_exc_per_us``, ``coba_inh_per_us`` per weight LSB, conductance-based;
    ``i_const_mv_per_us`` per i_const LSB and ``i_const_offset_mv_per_us`` at i_const 0);
    ``measured``: names of the achieved values that were measured at the final setting (the
    others come from the transfer models); ``unreachable[target]``: the circuits (in use)
    whose range does not include the target — they get the nearest value they can reach."""

    serial: int
    ideal: bool
    targets: CalibrationTargets
    dac: dict[str, np.ndarray]
    achieved: dict[str, np.ndarray]
    gains: dict[str, np.ndarray]
    measured: tuple[str, ...] = ()
    unreachable: dict[str, list[int]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def residual(self, name: str) -> np.ndarray:
        """achieved - target, per circuit (only for targets that are in use)."""
        return self.achieved[name] - self.targets[name]

    def spread(self, circuits=slice(None)) -> dict[str, tuple[float, float]]:
        """Per calibrated target: (std of the residual, max |residual|) over ``circuits``."""
        out = {}
        for name, _ in REPORTED:
            if name in self.achieved:
                r = self.residual(name)[circuits]
                r = r[np.isfinite(r)]
                if len(r):
                    out[name] = (float(np.std(r)), float(np.max(np.abs(r))))
        return out

    def neuron_values(self, circuits=None) -> dict[str, np.ndarray]:
        """Every neuron parameter's value for ``circuits`` (default all 512)."""
        idx = np.arange(N) if circuits is None else np.asarray(circuits, dtype=np.int64)
        # a parameter added to the model after this result was stored keeps its default
        return {p.name: self.dac[p.name][idx].copy() if p.name in self.dac else np.full(len(idx), p.default)
                for p in NEURON_PARAMETERS}

    def apply(self, neurons: NeuronConfig, circuits=None) -> None:
        """Write the calibrated values of ``circuits`` (default all) into a NeuronConfig."""
        idx = np.arange(N) if circuits is None else np.asarray(circuits, dtype=np.int64)
        for name, v in self.neuron_values(idx).items():
            neurons.values[idx, NEURON_PARAMETER_INDEX[name]] = v

    def format(self) -> str:
        """A table of targets and the residual spread per calibrated quantity."""
        rows = [("quantity", "target", "residual std", "max |residual|", "")]
        for name, unit in REPORTED:
            if name not in self.achieved:
                continue
            t = self.targets[name]
            r = self.residual(name)
            r = r[np.isfinite(r)]
            tgt = f"{t[0]:g}" if (t == t[0]).all() else f"{t.min():g}..{t.max():g}"
            how = "digital" if name == "tau_ref_us" else "measured" if name in self.measured else "model"
            if name in self.unreachable:
                how += f"; {len(self.unreachable[name])} circuits out of range"
            rows.append((name, f"{tgt} {unit}".strip(), f"{np.std(r):.4g}", f"{np.max(np.abs(r)):.4g}", how))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in
                                   enumerate(zip(r, widths))).rstrip() for r in rows)


def _chip_dir_name(serial: int, ideal: bool) -> str:
    return "ideal" if ideal else str(int(serial))


def _stamp() -> dict:
    return {"format": FORMAT_VERSION, "model": model_fingerprint()}


class CalibrationStore:
    """Calibration results and characterisations on disk, keyed by chip serial (and, for
    results, by the targets' key). ``directory`` defaults to ``$BSS2EMU_CALIB_DIR`` or
    ``~/.cache/bss2emu/calib``."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        if directory is None:
            directory = os.environ.get(ENV_DIR) or Path.home() / ".cache" / "bss2emu" / "calib"
        self.directory = Path(directory).expanduser()

    def __repr__(self) -> str:
        return f"CalibrationStore({str(self.directory)!r})"

    # --- paths --------------------------------------------------------------------------
    def result_path(self, serial: int, ideal: bool, targets: CalibrationTargets) -> Path:
        return self.directory / _chip_dir_name(serial, ideal) / f"{targets.key()}.npz"

    def characterisation_path(self, serial: int, ideal: bool) -> Path:
        return self.directory / _chip_dir_name(serial, ideal) / "characterisation.npz"

    # --- results ------------------------------------------------------------------------
    def save(self, result: CalibrationResult) -> Path:
        """Write a result atomically; returns its path."""
        arrays = {f"target/{k}": v for k, v in result.targets.as_dict().items()}
        arrays |= {f"dac/{k}": v for k, v in result.dac.items()}
        arrays |= {f"achieved/{k}": v for k, v in result.achieved.items()}
        arrays |= {f"gain/{k}": v for k, v in result.gains.items()}
        meta = _stamp() | {"serial": result.serial, "ideal": result.ideal, "measured": list(result.measured),
                           "unreachable": result.unreachable, "meta": result.meta}
        path = self.result_path(result.serial, result.ideal, result.targets)
        _write_npz(path, arrays, meta)
        return path

    def load(self, serial: int, ideal: bool, targets: CalibrationTargets) -> CalibrationResult | None:
        """The stored result for this chip and these targets, or None."""
        got = _read_chip_file(self.result_path(serial, ideal, targets), serial, ideal)
        if got is None:
            return None
        part, meta = got
        stored_targets = CalibrationTargets(**part.get("target", {}))
        if stored_targets != targets:
            return None
        return CalibrationResult(int(serial), bool(ideal), stored_targets, part.get("dac", {}),
                                 part.get("achieved", {}), part.get("gain", {}), tuple(meta.get("measured", ())),
                                 meta.get("unreachable", {}), meta.get("meta", {}))

    def results(self, serial: int, ideal: bool = False) -> list[Path]:
        """The stored result files of one chip."""
        d = self.directory / _chip_dir_name(serial, ideal)
        return sorted(p for p in d.glob("*.npz") if p.name != "characterisation.npz")

    # --- characterisations --------------------------------------------------------------
    def save_characterisation(self, ch: Characterisation) -> Path:
        arrays = {f"a/{k}": v for k, v in ch.a.items()} | {f"b/{k}": v for k, v in ch.b.items()}
        path = self.characterisation_path(ch.serial, ch.ideal)
        _write_npz(path, arrays, _stamp() | {"serial": ch.serial, "ideal": ch.ideal})
        return path

    def load_characterisation(self, serial: int, ideal: bool) -> Characterisation | None:
        got = _read_chip_file(self.characterisation_path(serial, ideal), serial, ideal)
        if got is None:
            return None
        part, _ = got
        return Characterisation(int(serial), bool(ideal), part.get("a", {}), part.get("b", {}))


def _split(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, v in arrays.items():
        group, _, name = key.partition("/")
        out.setdefault(group, {})[name] = v
    return out


def _write_npz(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise ConfigError(f"cannot write calibration to {str(path.parent)!r}: {err.strerror or err}; "
                          f"set {ENV_DIR} to a writable directory") from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read_chip_file(path: Path, serial: int, ideal: bool) -> tuple[dict, dict] | None:
    """A stored file's arrays split by prefix (``_split``) and its metadata, or None when it
    is missing, unreadable or written for another chip."""
    got = _read_npz(path)
    if got is None:
        return None
    arrays, meta = got
    if meta.get("serial") != int(serial) or meta.get("ideal") != bool(ideal):
        return None
    return _split(arrays), meta


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """Arrays and metadata of a store file; None if missing, unreadable or of another format."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            if meta.get("format") != FORMAT_VERSION or meta.get("model") != model_fingerprint():
                return None
            return {k: z[k] for k in z.files if k != "__meta__"}, meta
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None


# target names are part of the file format: keep them importable for readers
__all__ = ["CalibrationResult", "CalibrationStore", "TARGET_NAMES", "ENV_DIR"]
