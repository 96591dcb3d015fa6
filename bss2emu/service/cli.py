"""The service's commands of the ``bss2emu`` command line.

    bss2emu serve [--host 127.0.0.1] [--port 8000] [--db PATH] [--systems N] [--backend ray|local]
                  [--address ADDR] [--idle-release-s S] [--max-queued N] [--max-runtime-us T]
                  [--budget-us T] [--allow-kernels PREFIX ...]
    bss2emu users add NAME [--db PATH] [--max-queued N] [--max-runtime-us T] [--budget-us T]
    bss2emu users list|token NAME|remove NAME [--db PATH]
    bss2emu submit EXPERIMENT.yaml [--system S | --chips N] [--wait [--out DIR]]
    bss2emu jobs
    bss2emu fetch JOB_ID --out DIR [--timeout S]
    bss2emu cancel JOB_ID

``users add`` prints the new token once, as the last word of its output; the database keeps
only its salted hash. The client commands take the service's URL and a token from
``--url``/``--token`` or ``$BSS2EMU_SERVICE``/``$BSS2EMU_TOKEN``.

>>> import io, contextlib, tempfile, os
>>> db = os.path.join(tempfile.mkdtemp(), "db.sqlite")
>>> out = io.StringIO()
>>> with contextlib.redirect_stdout(out):
...     status = cli_main(["users", "add", "ada", "--db", db])
>>> status, out.getvalue().split()[-1].startswith("bss2_")
(0, True)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import ConfigError
from .client import TOKEN_ENV, URL_ENV, Client

DEFAULT_DB = os.environ.get("BSS2EMU_SERVICE_DB", "bss2emu-service/db.sqlite")


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                   help=f"the service database (default $BSS2EMU_SERVICE_DB or {DEFAULT_DB})")


def _quota_args(p: argparse.ArgumentParser, defaults: bool) -> None:
    p.add_argument("--max-queued", type=int, default=100 if defaults else None, metavar="N",
                   help="jobs queued or running at once" + (" (default 100)" if defaults else ""))
    p.add_argument("--max-runtime-us", type=float, default=1e6 if defaults else None, metavar="T",
                   help="emulated time of one job, hardware µs" + (" (default 1e6)" if defaults else ""))
    p.add_argument("--budget-us", type=float, default=None, metavar="T",
                   help="emulated time of all jobs, hardware µs (default: no limit)")


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default=None, metavar="URL", help=f"the service (default ${URL_ENV})")
    p.add_argument("--token", default=None, metavar="TOKEN", help=f"your token (default ${TOKEN_ENV})")


def add_parsers(sub) -> None:
    """Add ``serve``, ``users``, ``submit``, ``jobs``, ``fetch`` and ``cancel`` to a subparsers object."""
    p = sub.add_parser("serve", help="run the multi-user experiment service (HTTP)",
                       description="Serve shared emulated systems to the users in the database.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    _db_arg(p)
    p.add_argument("--results", default=None, metavar="DIR", help="results directory (default: beside the database)")
    p.add_argument("--systems", type=int, default=2, metavar="N", help="emulated systems in the pool (default 2)")
    p.add_argument("--backend", choices=("ray", "local"), default="ray",
                   help="systems as Ray actors (default; embedded Ray unless --address) or threads of the service")
    p.add_argument("--address", default=None, metavar="ADDR", help="join the Ray cluster at ADDR")
    p.add_argument("--idle-release-s", type=float, default=300.0, metavar="S",
                   help="release a system's worker after S idle seconds (default 300)")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N",
                   help="starts of a job before it fails when its worker or the service dies (default 3)")
    p.add_argument("--max-chips", type=int, default=4, metavar="N", help="chips per job at most (default 4)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, metavar="B", help="largest request (default 1 MiB)")
    p.add_argument("--allow-kernels", nargs="*", default=[], metavar="PREFIX",
                   help="modules whose PPU kernels jobs may name (default: none — plasticity kernels are "
                        "code that runs in the service)")
    _quota_args(p, defaults=True)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="add, list, re-key or remove users of the service")
    usub = p.add_subparsers(dest="users_command", required=True)
    a = usub.add_parser("add", help="add a user and print their token (once, as the last word)")
    a.add_argument("name")
    _db_arg(a)
    _quota_args(a, defaults=False)
    a.set_defaults(func=cmd_users_add)
    a = usub.add_parser("list", help="list the users and their quotas")
    _db_arg(a)
    a.set_defaults(func=cmd_users_list)
    a = usub.add_parser("token", help="give a user a new token (the old one stops working)")
    a.add_argument("name")
    _db_arg(a)
    a.set_defaults(func=cmd_users_token)
    a = usub.add_parser("remove", help="remove a user and their jobs")
    a.add_argument("name")
    _db_arg(a)
    a.set_defaults(func=cmd_users_remove)

    p = sub.add_parser("submit", help="submit an experiment file to a service")
    p.add_argument("experiment", metavar="EXPERIMENT.yaml")
    _client_args(p)
    p.add_argument("--system", default=None, help="a shipped setup (e.g. cube-4)")
    p.add_argument("--chips", type=int, default=None, help="an N-chip system")
    p.add_argument("--wait", action="store_true", help="wait for the job (progress on stderr)")
    p.add_argument("--out", "-o", default=None, metavar="DIR", help="with --wait: write the results here")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("jobs", help="list your jobs on a service")
    _client_args(p)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("fetch", help="wait for a job and write its results")
    p.add_argument("job_id")
    _client_args(p)
    p.add_argument("--out", "-o", required=True, metavar="DIR")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="give up waiting after S seconds")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("cancel", help="cancel a queued or running job")
    p.add_argument("job_id")
    _client_args(p)
    p.set_defaults(func=cmd_cancel)


def cmd_serve(args) -> int:
    from .core import ServiceConfig
    from .serve import serve

    config = ServiceConfig(
        db=Path(args.db), results=args.results, systems=args.systems, backend=args.backend, address=args.address,
        idle_release_s=args.idle_release_s, max_attempts=args.max_attempts, max_chips=args.max_chips,
        max_body_bytes=args.max_body_bytes, max_queued=args.max_queued, max_runtime_us=args.max_runtime_us,
        budget_us=args.budget_us, allow_kernels=tuple(args.allow_kernels))
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"bss2emu: serving on {args.host}: reachable from other machines; use TLS in front of it "
              f"(tokens travel in every request)", file=sys.stderr)
    serve(config, args.host, args.port)
    return 0


def _db(args):
    from .db import Database

    return Database(args.db)


def cmd_users_add(args) -> int:
    from .auth import add_user

    if not args.name or len(args.name) > 64 or not args.name.isprintable() or args.name.strip() != args.name:
        raise ConfigError(f"user name {args.name!r}: give 1-64 printable characters without surrounding spaces")
    token = add_user(args.db, args.name, args.max_queued, args.max_runtime_us, args.budget_us)
    print(f"added user {args.name!r} to {args.db}; their token is shown only now:\n{token}")
    return 0


def cmd_users_token(args) -> int:
    from .auth import new_token

    token, token_id, salt, digest = new_token()
    _db(args).set_token(args.name, token_id, salt, digest)
    print(f"new token for {args.name!r} (the old one no longer works), shown only now:\n{token}")
    return 0


def cmd_users_list(args) -> int:
    show = (lambda v: "-" if v is None else f"{v:g}")
    print(f"{'user':<20} {'max queued':>10} {'max runtime µs':>14} {'budget µs':>12}")
    for u in _db(args).users():
        print(f"{u.name:<20} {show(u.max_queued):>10} {show(u.max_runtime_us):>14} {show(u.budget_us):>12}")
    return 0


def cmd_users_remove(args) -> int:
    _db(args).remove_user(args.name)
    print(f"removed user {args.name!r} and their jobs")
    return 0


def cmd_submit(args) -> int:
    client = Client(args.url, args.token)
    job = client.submit(args.experiment, system=args.system, chips=args.chips)
    pos = job.info.get("queue_position")
    print(f"submitted {args.experiment} as job {job.id}" + (f" (queue position {pos})" if pos is not None else ""))
    if not args.wait:
        return 0
    return _write_result(job, args.out, None)


def cmd_fetch(args) -> int:
    return _write_result(Client(args.url, args.token).job(args.job_id), args.out, args.timeout)


def _write_result(job, out: str | None, timeout: float | None) -> int:
    res = job.result(timeout=timeout)
    print(f"job {job.id} done: {res.spikes.num_rows} spikes in {job.info.get('run_s') or 0:.2f} s "
          f"(waited {job.info.get('wait_s') or 0:.2f} s)")
    if out is not None:
        res.write_parquet(out)  # atomically, as `bss2emu run` does
        print(f"results in {out}")
    return 0


def cmd_jobs(args) -> int:
    jobs = Client(args.url, args.token).jobs()
    print(f"{'job':<24} {'name':<20} {'state':<9} {'queue':>5} {'waited s':>8} {'ran s':>7} {'spikes':>7}")
    fmt = (lambda v, d: "" if v is None else f"{v:.{d}f}")
    for j in jobs:
        q = "" if j["queue_position"] is None else str(j["queue_position"])
        print(f"{j['id']:<24} {j['name'][:20]:<20} {j['state']:<9} {q:>5} {fmt(j['wait_s'], 2):>8} "
              f"{fmt(j['run_s'], 3):>7} {'' if j['spikes'] is None else j['spikes']:>7}")
        if j["state"] == "failed":
            print(f"    {j['error']}")
    return 0


def cmd_cancel(args) -> int:
    state = Client(args.url, args.token).job(args.job_id).cancel()
    print(f"job {args.job_id}: {state}")
    return 0


def cli_main(argv: list[str]) -> int:
    """These commands on their own (as ``bss2emu`` would run them)."""
    from ..cli import main

    return main(argv)
