"""The fair queue (round-robin per user), the database (migrations, guarded transitions)
and tokens (hashed, constant-time, replaced at once)."""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.errors import ConfigError
from bss2emu.service import db as D
from bss2emu.service.auth import Authenticator, new_token
from bss2emu.service.errors import AuthenticationError
from bss2emu.service.scheduler import FairQueue

ops = st.lists(st.one_of(st.tuples(st.just("push"), st.integers(0, 4)), st.tuples(st.just("pop"), st.none()),
                         st.tuples(st.just("remove"), st.integers(0, 60))), max_size=80)


@given(ops)
@settings(max_examples=200, deadline=None)
def test_fair_queue_against_a_model(script):
    """Every unit comes out once, each user's in FIFO order, ``order()`` predicts ``pop``, and
    no user gets a second turn while another backlogged user waits for their next one."""
    q, pushed, popped, n = FairQueue(), {}, [], 0
    served_since: dict[int, list] = {}  # backlogged user → users served since their last turn (or arrival)
    for op, arg in script:
        if op == "push":
            unit = f"u{n}"
            n += 1
            if arg not in q.backlog():
                served_since[arg] = []
            q.push(arg, unit)
            pushed[unit] = arg
        elif op == "remove":
            unit = f"u{arg}"
            was_queued = unit in q
            assert q.remove(unit) == was_queued
            if was_queued:
                del pushed[unit]
        else:
            predicted = q.order()
            backlogged = set(q.backlog())
            got = q.pop()
            if got is None:
                assert predicted == []
                continue
            user, unit = got
            assert unit == predicted[0] and pushed[unit] == user
            popped.append((user, unit))
            for other in backlogged - {user}:
                assert user not in served_since[other], f"{user} served twice while {other} waited"
                served_since[other].append(user)
            served_since[user] = []
    rest = q.order()
    assert len(q) == len(rest) == len(set(rest))
    for user in set(pushed.values()):  # per-user FIFO: popped then queued, in push order
        mine = [u for u, v in pushed.items() if v == user]
        out = [u for v, u in popped if v == user] + [u for u in rest if pushed[u] == user]
        assert out == mine


def test_fair_shares_while_backlogged():
    q = FairQueue()
    for user, count in (("a", 100), ("b", 10), ("c", 40)):
        for i in range(count):
            q.push(user, f"{user}{i}")
    first = Counter(q.pop()[0] for _ in range(30))
    assert first == {"a": 10, "b": 10, "c": 10}
    with pytest.raises(ValueError, match="queued already"):
        q.push("a", "a50")


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    for statement in D.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO users (name, token_id, token_salt, token_hash, created_at) VALUES ('ada', 't', x'00', "
                 "x'00', 0)")
    conn.execute("INSERT INTO jobs (id, user_id, name, state, request, runtime_us, submitted_at) VALUES "
                 "('j1', 1, 'old', 'queued', '{}', 10, 0)")
    conn.commit()
    conn.close()
    db = D.Database(path)
    assert db.version == D.SCHEMA_VERSION == 2
    job = db.job("j1")
    assert job.name == "old" and job.summary is None and db.user_by_name("ada").id == job.user_id
    assert db._one("SELECT version FROM schema_version") == (2,)
    db.close()
    assert D.Database(path).version == 2  # opening again changes nothing


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    D.Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="schema version 99, newer than this bss2emu's 2: upgrade"):
        D.Database(path)


def test_a_superseded_attempt_cannot_finish_a_job(tmp_path):
    db = D.Database(tmp_path / "db.sqlite")
    uid = db.add_user("ada", "t", b"s", b"h")
    db.add_job("j", uid, "x", "{}", 10)
    first = db.start("j", "w0")
    assert db.requeue("j", first, "worker died")
    second = db.start("j", "w1")
    assert (first, second) == (1, 2)
    assert not db.finish("j", first, "done")  # the first attempt is gone
    assert db.finish("j", second, "done", summary={"spikes": 3})
    assert not db.finish("j", second, "failed")  # once only
    row = db.job("j")
    assert row.state == "done" and row.summary_dict == {"spikes": 3} and db.start("j", "w2") is None
    assert db.job("j", user_id=uid + 1) is None  # another user's id: as if it did not exist
    with pytest.raises(ConfigError, match="exists already"):
        db.add_user("ada", "t2", b"s", b"h")


def test_tokens_are_stored_hashed_and_replaced_at_once(tmp_path):
    path = tmp_path / "db.sqlite"
    db = D.Database(path)
    token, token_id, salt, digest = new_token()
    db.add_user("ada", token_id, salt, digest)
    auth = Authenticator(db)
    assert auth.user(token).name == "ada" and auth.user(token).name == "ada"  # second: remembered
    secret = token.split("_", 2)[2]
    db.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite*"))  # the file (and a log, if any)
    assert secret.encode() not in raw and token_id.encode() in raw
    db = D.Database(path)
    auth = Authenticator(db)
    assert auth.user(token).name == "ada"
    new, new_id, new_salt, new_digest = new_token()
    db.set_token("ada", new_id, new_salt, new_digest)
    with pytest.raises(AuthenticationError, match="not known"):
        auth.user(token)
    assert auth.user(new).name == "ada"
    wrong_secret = new[:-4] + ("AAAA" if not new.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthenticationError, match="not known"):
        auth.user(wrong_secret)
    with pytest.raises(AuthenticationError, match="needs a token"):
        auth.user(None)


@functools.cache
def _one_user_db() -> D.Database:
    db = D.Database(":memory:")
    token, token_id, salt, digest = new_token()
    db.add_user("ada", token_id, salt, digest)
    return db


@given(st.one_of(st.text(max_size=120), st.from_regex(r"bss2_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", fullmatch=True)))
@settings(max_examples=50, deadline=None)
def test_arbitrary_strings_are_not_tokens(text):
    with pytest.raises(AuthenticationError):
        Authenticator(_one_user_db()).user(text)
