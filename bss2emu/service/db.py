"""The service's database: users and jobs in SQLite (write-ahead log), schema created and
migrated by the service.

``schema_version`` holds one row, the version of the schema in the file. Opening a database
applies every migration above it, each in one transaction, so a file from an older
bss2emu is brought up to date and a file from a newer one is refused. Tokens are never
stored: a user row holds the token's public id, a random salt and the scrypt hash of the
token's secret (``auth.py``).

Job states: ``queued`` → ``running`` → ``done`` | ``failed``; ``queued``/``running`` →
``cancelled``. A job's transition to a final state is guarded by its state and attempt
(``UPDATE … WHERE state='running' AND attempts=?``), so a run that was superseded (the
service restarted, the job was cancelled) can never finish it a second time.

>>> db = Database(":memory:")
>>> db.version
2
>>> uid = db.add_user("ada", "t1", b"salt", b"hash")
>>> db.user_by_name("ada").name
'ada'
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")

# Each entry brings the schema from version i to i+1; never edit a released one, append.
MIGRATIONS: list[list[str]] = [
    [  # 1: users and jobs
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_id TEXT NOT NULL UNIQUE,
            token_salt BLOB NOT NULL,
            token_hash BLOB NOT NULL,
            created_at REAL NOT NULL,
            max_queued INTEGER,
            max_runtime_us REAL,
            budget_us REAL)""",
        """CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            request TEXT NOT NULL,
            runtime_us REAL NOT NULL,
            submitted_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            worker TEXT)""",
        "CREATE INDEX jobs_by_user ON jobs(user_id, seq)",
        "CREATE INDEX jobs_by_state ON jobs(state, seq)",
    ],
    [  # 2: what a finished run reports (spike count, wall time, whether the system was restored)
        "ALTER TABLE jobs ADD COLUMN summary TEXT",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class User:
    id: int
    name: str
    token_id: str
    token_salt: bytes
    token_hash: bytes
    created_at: float
    max_queued: int | None
    max_runtime_us: float | None
    budget_us: float | None


@dataclass(frozen=True)
class JobRow:
    seq: int
    id: str
    user_id: int
    name: str
    state: str
    request: str
    runtime_us: float
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    error: str | None
    worker: str | None
    summary: str | None

    @property
    def summary_dict(self) -> dict[str, Any]:
        return json.loads(self.summary) if self.summary else {}


_JOB_COLUMNS = ", ".join(JobRow.__dataclass_fields__)
_USER_COLUMNS = ", ".join(User.__dataclass_fields__)


class Database:
    """Users and jobs. Thread-safe (one connection behind a lock); several processes may
    open the same file (the write-ahead log lets ``bss2emu users add`` run beside a service)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        except sqlite3.Error as err:
            raise ConfigError(f"cannot open the service database {self.path!r}: {err}; give a writable "
                              f"file with --db PATH") from None
        self._lock = threading.RLock()
        self.version = self._migrate()

    # --- schema -----------------------------------------------------------------------------
    def _migrate(self) -> int:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = c.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    c.execute("INSERT INTO schema_version VALUES (0)")
                version = row[0] if row else 0
                if version > SCHEMA_VERSION:
                    raise ConfigError(f"the service database {self.path!r} has schema version {version}, newer "
                                      f"than this bss2emu's {SCHEMA_VERSION}: upgrade bss2emu to open it")
                for v in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[v]:
                        c.execute(statement)
                    c.execute("UPDATE schema_version SET version = ?", (v + 1,))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return SCHEMA_VERSION

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _one(self, sql: str, args: tuple = ()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _write(self, sql: str, args: tuple = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, args).rowcount

    # --- users ------------------------------------------------------------------------------
    def add_user(self, name: str, token_id: str, salt: bytes, token_hash: bytes, max_queued: int | None = None,
                 max_runtime_us: float | None = None, budget_us: float | None = None) -> int:
        try:
            with self._lock:
                cur = self._conn.execute(
                    "INSERT INTO users (name, token_id, token_salt, token_hash, created_at, max_queued, "
                    "max_runtime_us, budget_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, token_id, salt, token_hash, time.time(), max_queued, max_runtime_us, budget_us))
                return int(cur.lastrowid)
        except sqlite3.IntegrityError:
            raise ConfigError(f"user {name!r} exists already: choose another name, or give them a new "
                              f"token with `bss2emu users token {name}`") from None

    def set_token(self, name: str, token_id: str, salt: bytes, token_hash: bytes) -> None:
        if not self._write("UPDATE users SET token_id=?, token_salt=?, token_hash=? WHERE name=?",
                           (token_id, salt, token_hash, name)):
            raise ConfigError(f"no user {name!r}; add one with `bss2emu users add {name}`")

    def remove_user(self, name: str) -> None:
        if not self._write("DELETE FROM users WHERE name=?", (name,)):
            raise ConfigError(f"no user {name!r}; see `bss2emu users list`")

    def user_by_name(self, name: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLUMNS} FROM users WHERE name=?", (name,))
        return User(*row) if row else None

    def user_by_token_id(self, token_id: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLUMNS} FROM users WHERE token_id=?", (token_id,))
        return User(*row) if row else None

    def user_by_id(self, user_id: int) -> User | None:
        row = self._one(f"SELECT {_USER_COLUMNS} FROM users WHERE id=?", (user_id,))
        return User(*row) if row else None

    def users(self) -> list[User]:
        return [User(*r) for r in self._all(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")]

    # --- jobs -------------------------------------------------------------------------------
    def add_job(self, job_id: str, user_id: int, name: str, request: str, runtime_us: float) -> JobRow:
        with self._lock:
            self._conn.execute(
                "INSERT INTO jobs (id, user_id, name, state, request, runtime_us, submitted_at) "
                "VALUES (?, ?, ?, 'queued', ?, ?, ?)", (job_id, user_id, name, request, runtime_us, time.time()))
            return self.job(job_id)

    def job(self, job_id: str, user_id: int | None = None) -> JobRow | None:
        """The job, or None — also when it belongs to another user than ``user_id``."""
        if user_id is None:
            row = self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id=?", (job_id,))
        else:
            row = self._one(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id=? AND user_id=?", (job_id, user_id))
        return JobRow(*row) if row else None

    def jobs_of(self, user_id: int, limit: int = 1000) -> list[JobRow]:
        return [JobRow(*r) for r in self._all(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE user_id=? ORDER BY seq DESC LIMIT ?", (user_id, limit))]

    def jobs_in(self, *states: str) -> list[JobRow]:
        marks = ", ".join("?" * len(states))
        return [JobRow(*r) for r in self._all(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state IN ({marks}) ORDER BY seq", states)]

    def usage(self, user_id: int) -> tuple[int, float]:
        """(jobs queued or running, emulated µs of every job that ran or will run)."""
        active = self._one("SELECT COUNT(*) FROM jobs WHERE user_id=? AND state IN ('queued', 'running')",
                           (user_id,))[0]
        used = self._one("SELECT COALESCE(SUM(runtime_us), 0) FROM jobs WHERE user_id=? AND "
                         "NOT (state='cancelled' AND started_at IS NULL)", (user_id,))[0]
        return int(active), float(used)

    def start(self, job_id: str, worker: str) -> int | None:
        """Mark a queued job running; its attempt number, or None if it is no longer queued."""
        with self._lock:
            n = self._conn.execute("UPDATE jobs SET state='running', started_at=?, attempts=attempts+1, worker=? "
                                   "WHERE id=? AND state='queued'", (time.time(), worker, job_id)).rowcount
            if not n:
                return None
            return self._conn.execute("SELECT attempts FROM jobs WHERE id=?", (job_id,)).fetchone()[0]

    def finish(self, job_id: str, attempt: int, state: str, error: str | None = None,
               summary: dict | None = None) -> bool:
        """Move a running job to a final state; False if this attempt no longer owns it."""
        if state not in FINAL_STATES:
            raise ValueError(f"finish(): {state!r} is not a final state {FINAL_STATES}")
        return bool(self._write(
            "UPDATE jobs SET state=?, finished_at=?, error=?, summary=? WHERE id=? AND state='running' "
            "AND attempts=?", (state, time.time(), error, json.dumps(summary) if summary else None, job_id, attempt)))

    def requeue(self, job_id: str, attempt: int, reason: str) -> bool:
        """Put a running job back in the queue (its worker died), keeping why."""
        return bool(self._write("UPDATE jobs SET state='queued', error=?, worker=NULL WHERE id=? AND "
                                "state='running' AND attempts=?", (reason, job_id, attempt)))

    def cancel_queued(self, job_id: str) -> bool:
        return bool(self._write("UPDATE jobs SET state='cancelled', finished_at=?, error='cancelled by its user' "
                                "WHERE id=? AND state='queued'", (time.time(), job_id)))

    def fail_queued(self, job_id: str, error: str) -> bool:
        return bool(self._write("UPDATE jobs SET state='failed', finished_at=?, error=? WHERE id=? AND "
                                "state='queued'", (time.time(), error, job_id)))

    def delete_job(self, job_id: str) -> bool:
        return bool(self._write("DELETE FROM jobs WHERE id=?", (job_id,)))
