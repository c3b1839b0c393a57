"""`returnwatch run` starts Prefect's temporary server itself, early, and stops it."""

from __future__ import annotations

import inspect
import os
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from returnwatch.flows import prefect_api


def test_no_early_server_when_an_api_url_is_set(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with prefect_api.early_server() as server:
        assert server is None
    with prefect_api.use_server(None):
        pass  # Prefect's own settings, untouched


def test_no_early_server_when_disabled(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with prefect_api.early_server(enabled=False) as server:
        assert server is None


@pytest.mark.slow
def test_the_temporary_server_boots_answers_and_stops(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    with prefect_api.early_server() as server:
        assert server is not None
        url = server.wait()
        assert url == server.api_url
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
        from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

        # (the suite's Prefect test harness sets an API URL: not here, as in a real run)
        with temporary_settings(updates={PREFECT_API_URL: ""}), prefect_api.use_server(server):
            current = get_current_settings()
            assert str(current.api.url) == url
            # nobody would watch heartbeats of a server gone with the command
            assert current.flows.heartbeat_frequency is None
        process = server.process
    assert server.process is None and process.poll() is not None  # stopped with the block


@pytest.mark.slow  # imports Prefect's server package
def test_the_server_is_launched_as_prefect_launches_it(monkeypatch):
    """flows/prefect_api.py starts Prefect's temporary server the way Prefect does, with
    Prefect's private PREFECT__SERVER_* variables. When a Prefect upgrade changes that
    launch, this fails and names the difference: update SERVER_ENV / server_command."""
    import prefect
    from prefect.server.api import server as prefect_server

    launcher = prefect_server.SubprocessASGIServer
    assert hasattr(launcher, "_run_uvicorn_command"), (
        "Prefect no longer launches its temporary server with "
        "SubprocessASGIServer._run_uvicorn_command: compare flows/prefect_api.py with how "
        "this Prefect version starts it"
    )
    launched: dict = {}

    def record(args, env=None, **kwargs):
        launched.update(args=list(args), env=dict(env or {}))
        return SimpleNamespace(poll=lambda: None)

    monkeypatch.setattr(prefect_server.subprocess, "Popen", record)
    monkeypatch.setattr(launcher, "_instances", {})  # Prefect keeps one server per port
    launcher(port=54321)._run_uvicorn_command()

    app_dir = Path(prefect.__module_path__).parent
    assert launched["args"] == prefect_api.server_command(54321, app_dir)
    ours, theirs = prefect_api.SERVER_ENV, launched["env"]
    assert {k: theirs.get(k) for k in ours} == ours, "SERVER_ENV differs from what Prefect sets"
    private = {k for k, v in theirs.items() if k.startswith("PREFECT__") and os.environ.get(k) != v}
    assert private == {k for k in ours if k.startswith("PREFECT__")}, (
        "Prefect's private PREFECT__SERVER_* variables changed"
    )
    # and the app still reads them (os.getenv in create_app, not Prefect's settings)
    source = inspect.getsource(prefect_server.create_app)
    for name in private:
        assert f'"{name}"' in source, f"prefect's create_app no longer reads {name}"
