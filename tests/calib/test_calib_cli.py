"""``bss2emu calibrate``: its parser plugs into a top-level one; output and exit status."""

from __future__ import annotations

import argparse

import yaml

from bss2emu.calib.cli import add_parser, main


def test_add_parser_plugs_into_a_top_level_parser():
    parser = argparse.ArgumentParser(prog="bss2emu")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["calibrate", "--serial", "5", "--set", "tau_m_us=12"])
    assert args.serial == 5 and args.set == ["tau_m_us=12"] and callable(args.func)


def test_calibrate_uses_and_fills_the_store(calib_store, calibrated, capsys):
    assert main(["--serial", "1", "--dir", str(calib_store.directory), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "chip 1: calibration of 512 circuits" in out and "v_leak_mv" in out and "stored in" in out


def test_targets_file_and_set(tmp_path, capsys):
    f = tmp_path / "targets.yaml"
    f.write_text(yaml.safe_dump({"v_leak_mv": 650, "tau_syn_exc_us": 3.0}))
    assert main(["--ideal", "--targets", str(f), "--set", "tau_m_us=20", "--dir", str(tmp_path / "s"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "650 mV" in out and "20 us" in out and "3 us" in out
    assert list((tmp_path / "s" / "ideal").glob("*.npz"))


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    assert main(["--ideal", "--no-store", "--set", "tau_m_us=1000"]) == 2
    assert "outside 0.5..60" in capsys.readouterr().err
    assert main(["--ideal", "--no-store", "--set", "tau_m_us"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["--ideal", "--targets", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_list_targets(capsys):
    assert main(["--list-targets"]) == 0
    assert "psp_exc_mv" in capsys.readouterr().out
