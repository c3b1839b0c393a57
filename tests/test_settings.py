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
    with pytest.raises(
        ConfigError, match=r"RETURNWATCH_CONFIG = .*missing\.toml.* no such config file"
    ):
        load_settings()


def test_generated_pii_secret_is_stable_and_private(tmp_path):
    settings = load_settings(db=tmp_path / "w" / "x.duckdb")

    first = settings.pii_key()

    assert first == settings.pii_key() and len(first) == 64
    secret_file = tmp_path / "w" / ".returnwatch_pii_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600


# -- clear errors: one line per problem, naming file or variable, key, value, what is allowed


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    config = tmp_path / "rw.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(config))
    return config


def _problems(**overrides: object) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(**overrides)
    assert str(raised.value) == "\n".join(raised.value.problems)
    return raised.value.problems


def test_a_typo_in_a_section_names_the_closest_key(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, "[detection]\nlift_treshold = 0.3\n")

    assert _problems() == [
        f"{config}: [detection] lift_treshold is not a setting — did you mean lift_threshold?"
    ]


def test_an_unknown_key_far_from_any_lists_the_sections_keys(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, 'colour = "blue"\n')

    [line] = _problems()

    assert line.startswith(f"{config}: colour is not a setting — the top-level settings are: db,")
    assert "detection" in line


def test_bad_values_say_what_is_allowed(tmp_path, monkeypatch):
    config = _config(
        tmp_path,
        monkeypatch,
        '[detection]\nmode = "literall"\nwindow_days = 0\ndimensions = ["shop", "city"]\n'
        '[alerts]\nlanguage = "fr"\n',
    )

    assert _problems() == [
        f"{config}: [detection] mode = \"literall\" — must be 'default' or 'literal'",
        f"{config}: [detection] window_days = 0 — must be greater than or equal to 1",
        f"{config}: [detection] dimensions #2 = \"city\" — must be 'shop', 'region', 'sku', 'product', 'category', 'carrier' or 'carrier_region'",
        f"{config}: [alerts] language = \"fr\" — must be 'zh' or 'en'",
    ]


def test_a_bad_environment_variable_is_named(monkeypatch):
    monkeypatch.setenv("RETURNWATCH_DETECTION__MODE", "literall")
    monkeypatch.setenv("RETURNWATCH_DETECTION__LIFT_TRESHOLD", "0.3")

    assert _problems() == [
        "env RETURNWATCH_DETECTION__MODE = \"literall\" — must be 'default' or 'literal'",
        "env RETURNWATCH_DETECTION__LIFT_TRESHOLD is not a setting — did you mean lift_threshold?",
    ]


def test_other_returnwatch_variables_are_not_settings_and_stay_allowed(monkeypatch, tmp_path):
    monkeypatch.setenv("RETURNWATCH_TEST_CRASH_DURING_LOAD", "1")
    monkeypatch.setenv("RETURNWATCH_SOURCE__API__APP_KEY", "k")

    assert load_settings().source.api.app_key == "k"


def test_a_channel_url_that_is_not_a_url_fails_at_load_without_showing_it(tmp_path, monkeypatch):
    config = _config(
        tmp_path,
        monkeypatch,
        '[[alerts.channels]]\nname = "ok"\ntype = "slack"\nurl = "https://hooks.slack.com/x"\n'
        '[[alerts.channels]]\nname = "ops"\ntype = "wecom"\nurl = "qyapi.weixin.qq.com/send?key=SECRETKEY"\n',
    )

    [line] = _problems()

    assert line == (
        f"{config}: [alerts.channels #2] url = (value not shown: a secret) — must be the "
        "webhook's http:// or https:// URL, as the chat platform shows it"
    )


def test_a_misspelt_timezone_suggests_the_real_one(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, 'timezone = "Asia/Shangai"\n')

    assert _problems() == [
        f'{config}: timezone = "Asia/Shangai" — must be an IANA timezone such as '
        "'Asia/Shanghai' (did you mean 'Asia/Shanghai'?)"
    ]


def test_an_unwritable_warehouse_path_is_refused_at_load(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("RETURNWATCH_DB", str(blocker / "w.duckdb"))

    assert _problems() == [
        f'env RETURNWATCH_DB = "{blocker / "w.duckdb"}" — {blocker} is a file, not a folder; '
        "the warehouse needs a folder it can write"
    ]
    assert not (blocker.parent / "w.duckdb").exists()


def test_a_warehouse_path_under_a_missing_folder_is_fine(tmp_path):
    settings = load_settings(db=tmp_path / "new" / "deeper" / "w.duckdb")

    assert settings.db.name == "w.duckdb"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_invalid_toml_names_the_file_and_line(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, "[detection]\nmode = literal\n")

    [line] = _problems()

    assert line.startswith(f"{config}: not valid TOML — ") and "line 2" in line


def test_notice_settings_keep_the_valid_channels_of_a_broken_file(tmp_path, monkeypatch):
    from returnwatch.settings import notice_settings

    _config(
        tmp_path,
        monkeypatch,
        'db = "w/x.duckdb"\n[detection]\nmode = "literall"\n[alerts]\nlanguage = "en"\n'
        '[[alerts.channels]]\nname = "ops"\ntype = "generic"\nurl = "http://127.0.0.1:9/h"\n'
        'shops = ["a"]\ncolour = "red"\n'
        '[[alerts.channels]]\nname = "bad"\ntype = "generic"\nurl = "nope"\n',
    )

    settings = notice_settings()

    assert [c.name for c in settings.alerts.channels] == ["ops"]
    assert settings.alerts.channels[0].shops is None  # every shop hears of it
    assert settings.alerts.language == "en"
    assert settings.db == Path("w/x.duckdb")


def test_every_documented_config_example_loads():
    """The ```toml examples of the README and docs/ are real configs: a key the settings do
    not know (now an error) or a value they refuse would fail the user who copies it."""
    import re
    import tomllib

    from pydantic import ValidationError

    from returnwatch.settings import Settings, describe_errors

    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    examples = 0
    problems = []
    for page in pages:
        for block in re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            data = tomllib.loads(block)
            if "tool" in data or "project" in data:
                continue  # a pyproject.toml excerpt (docs/architecture.md), not a config
            examples += 1
            try:
                Settings.model_validate(data)
            except ValidationError as exc:
                problems += [f"{page.name}: {line}" for line in describe_errors(exc, None)]
    assert examples >= 3
    assert problems == []
