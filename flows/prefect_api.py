"""Prefect's temporary API server, started at the very beginning of `returnwatch run`.

Without `PREFECT_API_URL`, Prefect starts a temporary server when a flow first talks to
its API: it imports the whole server package into this process (~5 s on the 2-core
machine, only to launch a subprocess) and then waits for that subprocess to boot (~5-8
s), all after returnwatch's own imports. `TemporaryServer` launches the very same
subprocess (same command and environment as `prefect.server.api.server.
SubprocessASGIServer`) before anything heavy is imported, so the server boots on one core
while this process imports Prefect, DuckDB and the detector on the other, and the flow
then runs against it as against any API URL. It is stopped when the command ends.

Nothing here imports Prefect. Whenever an API is configured — `PREFECT_API_URL` in the
environment, or in the active Prefect profile (checked once Prefect is imported) — the
early server is not used and Prefect behaves as it always does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

API_URL_ENV = "PREFECT_API_URL"
# Prefect's own default for PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.
DEFAULT_STARTUP_TIMEOUT = 20.0
# SubprocessASGIServer's exit code when the port was taken between choosing and binding.
PORT_IN_USE_EXIT = 3

# What Prefect's SubprocessASGIServer._run_uvicorn_command sets for its temporary server
# (prefect 3.8): no UI, and `create_app` reads the two private PREFECT__SERVER_* variables
# (with os.getenv, not through Prefect's settings) as "ephemeral: no background services"
# and "the last app of the process". Private to Prefect, so they are kept here only;
# tests/flows/test_prefect_api.py compares this launch with Prefect's own and fails, naming
# what changed, when a Prefect upgrade moves them.
SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
SERVER_APP = "prefect.server.api.server:create_app"


def server_command(port: int, app_dir: Path) -> list[str]:
    """The uvicorn command line SubprocessASGIServer runs, for `port`."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(app_dir),
        "--factory",
        SERVER_APP,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "error",
        "--lifespan",
        "on",
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _startup_timeout() -> float:
    value = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    try:
        return float(value) if value else DEFAULT_STARTUP_TIMEOUT
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT


class TemporaryServer:
    """Prefect's temporary API server in a subprocess, launched now and awaited later."""

    def __init__(self) -> None:
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._ready: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> TemporaryServer:
        """Launch the server; returns at once (the server boots while the caller works)."""
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            raise RuntimeError("prefect is not installed")
        self.port = _free_port()
        env = {**os.environ, **SERVER_ENV}
        # a temporary server's usage report only costs a DNS lookup that fails offline
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        app_dir = Path(spec.origin).parent.parent  # the folder holding the prefect package
        self.process = subprocess.Popen(server_command(self.port, app_dir), env=env)
        return self

    def wait(self, timeout: float | None = None) -> str | None:
        """The API URL once the server answers /health; None if it could not start (then
        Prefect starts its own, as it would have without us)."""
        if self._ready or self.process is None:
            return self._ready
        deadline = time.monotonic() + (timeout or _startup_timeout())
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == PORT_IN_USE_EXIT:
                self.start()
                continue
            if code is not None:
                log.warning("Prefect's temporary server exited with %s; Prefect starts one", code)
                self.process = None
                return None
            if self._healthy():
                self._ready = self.api_url
                return self._ready
            time.sleep(0.05)
        log.warning("Prefect's temporary server did not answer in time; Prefect starts one")
        self.stop()
        return None

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Terminate the server (as Prefect does: SIGTERM, then SIGKILL after 5 s)."""
        process, self.process, self._ready = self.process, None, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def api_configured_in_env() -> bool:
    return bool(os.environ.get(API_URL_ENV))


@contextlib.contextmanager
def early_server(enabled: bool = True) -> Iterator[TemporaryServer | None]:
    """A temporary server started now and stopped at the end of the block; None when an
    API URL is set in the environment (or `enabled` is false)."""
    if not enabled or api_configured_in_env():
        yield None
        return
    server = TemporaryServer().start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def use_server(server: TemporaryServer | None) -> Iterator[None]:
    """Point Prefect at `server` for the block, unless Prefect already has an API URL (a
    profile may set one): then the early server is stopped unused and Prefect's own
    settings win."""
    if server is None:
        yield
        return
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_UI_URL,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        server.stop()
        yield
        return
    url = server.wait()
    if url is None:
        yield
        return
    # No "View at <url>" line: this server has no UI, and is gone when the command ends.
    # No flow-run heartbeats either: they let a lasting server mark a run whose process
    # died as crashed, and this one dies with the process. Their thread sleeps in 1 s steps
    # and is joined when the flow run ends, which rounded every run up to a whole second.
    updates = {PREFECT_API_URL: url, PREFECT_UI_URL: "", PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=updates):
        try:
            yield
        finally:
            _flush_to_api()


def _flush_to_api(timeout: float = 5.0) -> None:
    """Send the logs and events still queued before the server goes away (Prefect's own
    temporary server outlives them: it is stopped at exit, after they drain)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout)
