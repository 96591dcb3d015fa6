"""The calibration store: round trip, keyed by chip serial and targets, atomic, cache hits
that do not measure."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib import CalibrationStore, CalibrationTargets, calibrate, characterise
from bss2emu.calib import calibration as calibrate_module
from bss2emu.calib.result import ENV_DIR
from bss2emu.errors import CorruptCacheWarning

SERIAL = 1


def _same(a, b):
    assert a.serial == b.serial and a.ideal == b.ideal and a.targets == b.targets
    for part in ("dac", "achieved", "gains"):
        x, y = getattr(a, part), getattr(b, part)
        assert set(x) == set(y)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert a.measured == b.measured and a.unreachable == b.unreachable


def test_round_trip(calibrated, tmp_path):
    store = CalibrationStore(tmp_path)
    path = store.save(calibrated)
    assert path == tmp_path / str(SERIAL) / f"{calibrated.targets.key()}.npz"
    _same(store.load(SERIAL, False, calibrated.targets), calibrated)
    assert list(tmp_path.rglob("*.tmp")) == []  # nothing half-written left behind


def test_keyed_by_serial_and_targets(calibrated, tmp_path):
    store = CalibrationStore(tmp_path)
    store.save(calibrated)
    assert store.load(SERIAL + 1, False, calibrated.targets) is None
    assert store.load(SERIAL, True, calibrated.targets) is None
    assert store.load(SERIAL, False, calibrated.targets.replace(tau_m_us=11.0)) is None
    assert store.results(SERIAL) == [store.result_path(SERIAL, False, calibrated.targets)]


def test_cache_hit_does_not_measure(calibrated, calib_store, monkeypatch):
    def no_bench(*args, **kwargs):
        raise AssertionError("a cache hit must not measure")

    monkeypatch.setattr(calibrate_module, "Bench", no_bench)
    _same(calibrate(serial=SERIAL, store=calib_store), calibrated)
    # new targets on a characterised chip: only the final measurements, on a bench
    with pytest.raises(AssertionError, match="must not measure"):
        calibrate(CalibrationTargets(tau_m_us=13.0), serial=SERIAL, store=calib_store)
    # ... unless not refined: then the stored characterisation alone decides
    r = calibrate(CalibrationTargets(tau_m_us=13.0), serial=SERIAL, store=calib_store, refine=False)
    assert abs(np.median(r.achieved["tau_m_us"]) - 13.0) < 0.2
    assert characterise(SERIAL, store=calib_store).has("tau_m_us")


def test_broken_files_are_reported_moved_aside_and_ignored(calibrated, tmp_path):
    store = CalibrationStore(tmp_path)
    path = store.save(calibrated)
    path.write_bytes(b"not a calibration")
    with pytest.warns(CorruptCacheWarning, match="is corrupt"):
        assert store.load(SERIAL, False, calibrated.targets) is None
    assert not path.exists() and path.with_name(path.name + ".corrupt").read_bytes() == b"not a calibration"


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_a_damaged_cache_heals_by_recomputing(damage, tmp_path):
    """A truncated file (a killed writer on a full disk), a flipped bit, an empty file: each is
    detected, warned about once, moved aside, and calibrate() recomputes the same result."""
    store = CalibrationStore(tmp_path)
    first = calibrate(serial=0, ideal=True, store=store)
    path = store.result_path(0, True, first.targets)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        # inside the first stored array's data, past the zip headers: the zip CRC or our
        # checksum must catch it
        raw[len(raw) // 3] ^= 0x01
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    with pytest.warns(CorruptCacheWarning):
        again = calibrate(serial=0, ideal=True, store=store)
    _same(again, first)
    assert store.load(0, True, first.targets) is not None  # rewritten whole
    assert path.with_name(path.name + ".corrupt").exists()


def test_checksum_catches_a_changed_array_that_the_zip_accepts(calibrated, tmp_path):
    """Rewriting a file with one array changed but the old metadata (a consistent zip):
    only the checksum can tell."""
    import json

    store = CalibrationStore(tmp_path)
    path = store.save(calibrated)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.startswith("dac/"))
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] += 1
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    assert json.loads(str(arrays["__meta__"]))["sha256"]
    with pytest.warns(CorruptCacheWarning, match="does not match its checksum"):
        assert store.load(SERIAL, False, calibrated.targets) is None


def test_directory_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "from-env"))
    assert CalibrationStore().directory == tmp_path / "from-env"
    r = calibrate(serial=0, ideal=True, store=True)
    assert CalibrationStore().load(0, True, r.targets) is not None
    assert (tmp_path / "from-env" / "ideal").is_dir()


def test_unwritable_store_is_a_config_error(calibrated, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(Exception, match="cannot write calibration") as info:
        CalibrationStore(blocker).save(calibrated)
    assert info.type.__name__ == "ConfigError"



def _model_changed() -> None:
    """Forget the cached nominal maps and the model's fingerprint (as a new process would)."""
    from bss2emu.calib import models

    models._nominal_ab.cache_clear()
    models.model_fingerprint.cache_clear()


def test_a_calibration_stored_for_another_chip_model_is_not_reused(tmp_path, monkeypatch):
    """A result calibrated under other nominal maps (an older emulator: here the synaptic
    gain per LSB before its correction, 0.3 pA) is stale: the store's fingerprint of the
    model differs, so it is recalibrated, never silently reused."""
    from bss2emu.chip_actor import analog

    store = CalibrationStore(tmp_path)
    current = analog.SYN_GAIN_NA_PER_LSB
    try:
        monkeypatch.setattr(analog, "SYN_GAIN_NA_PER_LSB", 3e-4)
        _model_changed()
        old = calibrate(ideal=True, store=store)
        monkeypatch.setattr(analog, "SYN_GAIN_NA_PER_LSB", current)
        _model_changed()
        assert store.load(0, True, old.targets) is None  # same targets, same file: stale
        new = calibrate(ideal=True, store=store)
    finally:
        monkeypatch.undo()
        _model_changed()
    # the same PSP target, reached with a bias smaller by the ratio of the gains
    old_gm, new_gm = int(old.dac["i_bias_syn_exc_gm"][0]), int(new.dac["i_bias_syn_exc_gm"][0])
    assert new_gm == pytest.approx(old_gm * 3e-4 / current, abs=1) and new_gm < old_gm / 5
    assert store.load(0, True, old.targets) is not None  # the new result replaced it
