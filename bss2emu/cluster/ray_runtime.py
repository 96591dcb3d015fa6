"""Ray as a local runtime: how the embedded instance is started, and that it ends.

``init_ray(address)`` is what ``ray_backend.ensure_ray`` calls. With an ``address`` it joins
that cluster exactly as given. Without one it starts an embedded Ray that serves this one
local user:

* **loopback only** — the node's address is 127.0.0.1, and Ray's GCS, raylet, agents and
  workers listen on it alone (Ray does so when cluster mode is off, as on macOS and Windows:
  ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, set for the start only, so that a later
  ``address=`` still resolves this machine's real address);
* **no unneeded processes** — no dashboard API server, no autoscaler monitor, no log
  monitor (the emulator neither autoscales, nor submits jobs, nor streams worker logs to the
  driver); the raylet's two agents stay, as the raylet needs them to start workers;
* **token authentication, explained once** — Ray enables token authentication for a new
  local cluster (unless ``RAY_AUTH_MODE`` says otherwise) and warns about it at every start.
  We keep it on, drop that one warning, and say once per machine — when Ray is about to
  create the token file — what it is;
* **nothing left behind** — a watchdog process (``_reaper``) ends Ray's processes when the
  driver dies, even by SIGKILL; Ray's own fate sharing stops only the driver's direct
  children, and the raylet's agents and workers lingered for minutes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path

_log = logging.getLogger(__name__)

AUTH_MODE_ENV = "RAY_AUTH_MODE"
CLUSTER_MODE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
TOKEN_PATH = Path.home() / ".ray" / "auth_token"  # where Ray keeps the token of local clusters
_watchdog: subprocess.Popen | None = None


def init_ray(address: str | None, **options) -> None:
    """``ray.init`` for bss2emu: ``address`` as given, or an embedded local instance."""
    import ray

    if address:
        ray.init(address=address, **options)
        return
    _explain_token_once()
    with _loopback_only(), _without_unused_processes(), _token_warning_dropped():
        # "local" starts our own instance even if another process runs one on this machine
        ray.init(address="local", _node_ip_address="127.0.0.1", include_dashboard=False, **options)
    start_watchdog()


class _TokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


@contextlib.contextmanager
def _token_warning_dropped():
    logger = logging.getLogger("ray._private.authentication.authentication_token_setup")
    dropped = _TokenWarning()
    logger.addFilter(dropped)
    try:
        yield
    finally:
        logger.removeFilter(dropped)


def _explain_token_once() -> None:
    if AUTH_MODE_ENV in os.environ:
        return  # the user chose; Ray respects it without a warning
    if not TOKEN_PATH.exists():
        _log.warning("bss2emu starts Ray on 127.0.0.1 with token authentication (Ray's default for a local "
                     "instance); Ray creates the token in %s, readable by you only. Set %s=disabled to opt "
                     "out. This note is shown once.", TOKEN_PATH, AUTH_MODE_ENV)


@contextlib.contextmanager
def _loopback_only():
    """Cluster mode off while Ray starts: the node address resolves to 127.0.0.1 and the
    servers Ray starts listen on it alone (they inherit the variable)."""
    from ray._private import ray_constants

    saved_env, saved_const = os.environ.get(CLUSTER_MODE_ENV), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[CLUSTER_MODE_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_const
        if saved_env is None:
            os.environ.pop(CLUSTER_MODE_ENV, None)
        else:
            os.environ[CLUSTER_MODE_ENV] = saved_env


@contextlib.contextmanager
def _without_unused_processes():
    """No autoscaler monitor, no log monitor and no dashboard API server for the embedded
    node: ``ray.init`` has no option for them (``include_dashboard=False`` still starts a
    minimal API server), so ``RayParams`` gets ``no_monitor``/``include_log_monitor`` and the
    head skips ``start_api_server`` while Ray starts. Where this Ray lacks one of these
    hooks, that process starts as Ray would."""
    import inspect

    from ray._private import node, parameter

    original_params, original_api = parameter.RayParams.__init__, getattr(node.Node, "start_api_server", None)
    try:
        fields = inspect.signature(original_params).parameters
    except (TypeError, ValueError):
        fields = {}

    def params(self, *args, **kwargs):
        if "no_monitor" in fields:
            kwargs.setdefault("no_monitor", True)
        if "include_log_monitor" in fields:
            kwargs.setdefault("include_log_monitor", False)
        original_params(self, *args, **kwargs)

    parameter.RayParams.__init__ = params
    if original_api is not None:
        node.Node.start_api_server = lambda self, **kwargs: None
    try:
        yield
    finally:
        parameter.RayParams.__init__ = original_params
        if original_api is not None:
            node.Node.start_api_server = original_api


def ray_process_ids() -> list[int]:
    """The processes the embedded Ray node of this driver started (GCS, raylet, …)."""
    from ray._private import worker

    node = worker._global_node
    if node is None:
        return []
    return [info.process.pid for infos in node.all_processes.values() for info in infos
            if info.process is not None]


def start_watchdog() -> None:
    """Start the ``_reaper`` process for this driver's Ray processes (replacing an earlier one)."""
    global _watchdog
    stop_watchdog()
    roots = ray_process_ids()
    if not roots or not sys.platform.startswith("linux"):
        return
    _watchdog = subprocess.Popen(
        [sys.executable, "-I", str(Path(__file__).with_name("_reaper.py")), *map(str, roots)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True)


def stop_watchdog() -> None:
    """Close the pipe to the watchdog: it ends what is left of its Ray processes and exits."""
    global _watchdog
    if _watchdog is not None:
        with contextlib.suppress(OSError):
            _watchdog.stdin.close()
        _watchdog = None
