"""``bss2emu users|submit|jobs|fetch|cancel`` as a user types them (in this process)."""

from __future__ import annotations

import json

import pytest
from service_helpers import one_neuron

import bss2emu
from bss2emu.cli import main
from bss2emu.service.core import ServiceConfig
from bss2emu.service.serve import BackgroundService


def test_users_then_submit_jobs_fetch(tmp_path, capsys, monkeypatch):
    db = tmp_path / "svc" / "db.sqlite"
    assert main(["users", "add", "ada", "--db", str(db), "--max-queued", "5"]) == 0
    token = capsys.readouterr().out.split()[-1]
    assert token.startswith("bss2_") and token.encode() not in db.read_bytes()
    assert main(["users", "add", "ada", "--db", str(db)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["users", "list", "--db", str(db)]) == 0
    assert "ada" in capsys.readouterr().out
    exp = tmp_path / "exp.json"
    exp.write_text(json.dumps(one_neuron(seed=7)))
    with BackgroundService(ServiceConfig(db=db)) as svc:
        monkeypatch.setenv("BSS2EMU_SERVICE", svc.url)
        monkeypatch.setenv("BSS2EMU_TOKEN", token)
        assert main(["submit", str(exp), "--wait", "--out", str(tmp_path / "a")]) == 0
        out = capsys.readouterr().out
        job_id = out.split("as job ")[1].split()[0]
        assert "done" in out
        assert main(["jobs"]) == 0
        listing = capsys.readouterr().out
        assert job_id in listing and "done" in listing
        assert main(["fetch", job_id, "--out", str(tmp_path / "b")]) == 0
        a = bss2emu.Results.read_parquet(tmp_path / "a")
        b = bss2emu.Results.read_parquet(tmp_path / "b")
        local = bss2emu.run(one_neuron(seed=7))
        assert a.spikes.equals(local.spikes) and b.spikes.equals(local.spikes) and local.spikes.num_rows > 0
        assert main(["fetch", "0123456789abcdef01234567", "--out", str(tmp_path / "c")]) == 2
        assert "no job" in capsys.readouterr().err and not (tmp_path / "c").exists()
        assert main(["cancel", job_id]) == 0 and "done" in capsys.readouterr().out
        # a new token replaces the old one at once
        assert main(["users", "token", "ada", "--db", str(db)]) == 0
        new = capsys.readouterr().out.split()[-1]
        assert main(["jobs"]) == 2 and "not known" in capsys.readouterr().err
        assert main(["jobs", "--token", new]) == 0
    assert main(["users", "remove", "ada", "--db", str(db)]) == 0
    assert main(["users", "remove", "ada", "--db", str(db)]) == 2


def test_client_needs_url_and_token(monkeypatch, capsys):
    monkeypatch.delenv("BSS2EMU_SERVICE", raising=False)
    monkeypatch.delenv("BSS2EMU_TOKEN", raising=False)
    assert main(["jobs"]) == 2 and "not an http(s) URL" in capsys.readouterr().err
    assert main(["jobs", "--url", "http://127.0.0.1:9"]) == 2 and "no token" in capsys.readouterr().err
    with pytest.raises(bss2emu.service.ServiceError, match="cannot reach the service"):
        bss2emu.Client("http://127.0.0.1:9", "bss2_x").jobs()
