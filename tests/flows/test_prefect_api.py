"""`returnwatch run` starts Prefect's temporary server itself, early, and stops it."""

from __future__ import annotations

import urllib.request

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
