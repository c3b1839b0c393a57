"""The nightly run with broken settings or a configured source that cannot load: the run
fails, and the channels hear why — in the same words the command line prints."""

from __future__ import annotations

import sys
import time

import pytest

from returnwatch.flows.nightly import nightly
from returnwatch.flows.shops import use_settings
from returnwatch.settings import ApiSourceSettings, ConfigError, SourceSettings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_a_config_typo_fails_the_night_and_tells_the_chat(tmp_path, monkeypatch, receiver, kit):
    config = tmp_path / "returnwatch.toml"
    config.write_text(
        f'db = "{tmp_path / "w" / "x.duckdb"}"\nshop_id = "shop-a"\n'
        "[detection]\nlift_treshold = 0.3\n"
        f'[[alerts.channels]]\nname = "ops"\ntype = "generic"\nurl = "{receiver.url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(config))
    line = f"{config}: [detection] lift_treshold is not a setting — did you mean lift_threshold?"

    state = nightly(date=kit.LAST, return_state=True)

    assert state.is_failed()
    with pytest.raises(ConfigError) as raised:
        state.result()
    assert raised.value.problems == [line]
    [notice] = receiver.of_kind("failure", "shop-a")
    assert notice["day"] == kit.LAST.isoformat()
    assert notice["failure"]["what_failed"] == f"reading the settings: {line}"


def test_a_configured_api_source_that_cannot_load_fails_the_night(
    flow_settings, shop_files, receiver, monkeypatch, kit
):
    # What a broken install or a syntax error in the source looks like to the importer.
    monkeypatch.setitem(sys.modules, "returnwatch.sources.doudian_api", None)
    api = ApiSourceSettings(app_key="app", app_secret="s", access_token="t")
    settings = flow_settings.model_copy(update={"source": SourceSettings(api=api)})
    shop_files.drop(settings.inbox)

    started = time.perf_counter()
    with use_settings(settings):
        state = nightly(date=kit.LAST, shop_id="shop-a", return_state=True)

    assert state.is_failed()
    assert time.perf_counter() - started < 25  # not retried: the pull task's waits are 30 s+
    [notice] = receiver.of_kind("failure")
    what = notice["failure"]["what_failed"]
    assert what.startswith(
        "pulling from the 抖店 API: SourceUnavailable: [source.api] is configured"
    )
    assert "cannot be loaded" in what
    assert not settings.db.exists()  # nothing half-done was published


def test_without_the_api_configured_a_missing_source_is_no_error(flow_settings, monkeypatch):
    from returnwatch.flows import steps

    monkeypatch.setitem(sys.modules, "returnwatch.sources.doudian_api", None)

    assert steps.pull_api(None, flow_settings, "shop-a") is None
