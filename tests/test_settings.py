"""Settings: defaults with no file, TOML overridden by environment, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from returnwatch.settings import ConfigError, load_settings


def test_defaults_without_any_config(tmp_path):
    settings = load_settings()

    assert settings.db == Path("data/returnwatch.duckdb")
    assert settings.shop_id == "default"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.detection.lift_threshold == 0.20
    assert settings.alerts.channels == []


def test_toml_file_then_env_override(tmp_path, monkeypatch):
    config = tmp_path / "rw.toml"
    config.write_text(
        'shop_id = "from-file"\n'
        'pii_secret = "file-secret"\n'
        "[detection]\nlift_threshold = 0.5\nwindow_days = 21\n"
        '[[alerts.channels]]\nname = "ops"\ntype = "wecom"\n'
        'url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY"\n'
    )
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(config))
    monkeypatch.setenv("RETURNWATCH_DB", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("RETURNWATCH_DETECTION__LIFT_THRESHOLD", "0.3")

    settings = load_settings()

    assert settings.shop_id == "from-file"
    assert settings.db == tmp_path / "env.duckdb"
    assert settings.detection.lift_threshold == 0.3  # env beats file
    assert settings.detection.window_days == 21  # file beats default
    assert settings.alerts.channels[0].name == "ops"
    printed = repr(settings) + str(settings.model_dump())
    assert "SECRETKEY" not in printed and "file-secret" not in printed


def test_default_config_file_in_working_directory(tmp_path):
    Path("returnwatch.toml").write_text('shop_id = "cwd-shop"\n')
    assert load_settings().shop_id == "cwd-shop"


def test_named_config_file_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"RETURNWATCH_CONFIG = .*missing\.toml.* no such config file"):
        load_settings()


def test_generated_pii_secret_is_stable_and_private(tmp_path):
    settings = load_settings(db=tmp_path / "w" / "x.duckdb")

    first = settings.pii_key()

    assert first == settings.pii_key() and len(first) == 64
    secret_file = tmp_path / "w" / ".returnwatch_pii_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
