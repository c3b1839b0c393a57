"""Bad configuration and bad arguments, as a new user meets them: one clear line on stderr
and exit code 2, never a traceback, never "0 shops: 0 anomalies" as if all were fine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from returnwatch.cli import app


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def config(tmp_path, monkeypatch):
    def write(text: str) -> Path:
        path = tmp_path / "returnwatch.toml"
        path.write_text(f'db = "{tmp_path / "w" / "x.duckdb"}"\n{text}', encoding="utf-8")
        monkeypatch.setenv("RETURNWATCH_CONFIG", str(path))
        return path

    return write


def test_a_typo_in_the_config_file_stops_every_command(config):
    path = config("[detection]\nlift_treshold = 0.3\n")

    for args in (
        ["detect", "--start", "2026-08-01", "--end", "2026-08-02"],
        ["import", str(path.parent)],
        ["alerts", "list"],
    ):
        result = invoke(*args)

        assert result.exit_code == 2, args
        assert lines(result.stderr) == [
            f"{path}: [detection] lift_treshold is not a setting — did you mean lift_threshold?"
        ]
        assert result.stdout == ""


def test_a_bad_value_is_one_line_not_a_traceback(config):
    path = config('[detection]\nmode = "literall"\n')

    result = invoke("detect", "--start", "2026-08-01", "--end", "2026-08-02")

    assert result.exit_code == 2
    assert lines(result.stderr) == [
        f"{path}: [detection] mode = \"literall\" — must be 'default' or 'literal'"
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--date", "2031-13-01"],
            "--date 2031-13-01: not a date — use YYYY-MM-DD (month must be in 1..12)",
        ),
        (
            ["detect", "--start", "2026-8-1", "--end", "2026-08-02"],
            "--start 2026-8-1: not a date — use YYYY-MM-DD (expected 10 characters)",
        ),
        (
            ["backfill", "--start", "2026-08-01", "--end", "yesterday"],
            "--end yesterday: not a date — use YYYY-MM-DD (expected 10 characters)",
        ),
        (
            ["detect", "--start", "2026-08-05", "--end", "2026-08-01"],
            "--end 2026-08-01 is before --start 2026-08-05",
        ),
    ],
)
def test_a_bad_date_argument_is_one_line(args, expected):
    result = invoke(*args)

    assert result.exit_code == 2
    assert lines(result.stderr) == [expected]


def test_detect_without_a_warehouse_says_so(tmp_path, monkeypatch):
    db = tmp_path / "nothing-here" / "w.duckdb"
    monkeypatch.setenv("RETURNWATCH_DB", str(db))

    result = invoke("detect", "--start", "2026-08-01", "--end", "2026-08-02")

    assert result.exit_code == 2
    assert lines(result.stderr) == [
        f"db = {db}: no warehouse there — import exports first (`returnwatch import FILES`), "
        "or set db to the warehouse file"
    ]
    assert not db.parent.exists()  # the check created nothing


def test_detect_on_an_empty_warehouse_says_so(settings, warehouse, monkeypatch):
    monkeypatch.setenv("RETURNWATCH_DB", str(settings.db))
    warehouse.close()

    result = invoke("detect", "--start", "2026-08-01", "--end", "2026-08-02")

    assert result.exit_code == 2
    assert lines(result.stderr) == [
        f"db = {settings.db}: the warehouse holds no order lines or refunds — import exports "
        "first (`returnwatch import FILES`)"
    ]


def test_detect_for_a_shop_not_in_the_warehouse_names_the_shops(settings, warehouse, monkeypatch):
    warehouse.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, source_format, "
        "load_batch_id, loaded_at) VALUES ('shop-a', 'o1', 'l1', 's1', "
        "TIMESTAMP '2026-08-01 10:00:00', 'canonical', 1, now()::TIMESTAMP)"
    )
    warehouse.close()
    monkeypatch.setenv("RETURNWATCH_DB", str(settings.db))

    result = invoke("detect", "--start", "2026-08-01", "--end", "2026-08-02", "--shop", "shop-b")

    assert result.exit_code == 2
    assert lines(result.stderr) == ["--shop shop-b: not in the warehouse; its shops: shop-a"]


def test_an_unwritable_warehouse_path_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RETURNWATCH_DB", str(blocker / "w.duckdb"))

    result = invoke("import", str(tmp_path))

    assert result.exit_code == 2
    assert lines(result.stderr) == [
        f'env RETURNWATCH_DB = "{blocker / "w.duckdb"}" — {blocker} is a file, not a folder; '
        "the warehouse needs a folder it can write"
    ]


def test_a_channel_url_that_is_not_a_url_is_found_at_load(config):
    path = config('[[alerts.channels]]\nname = "ops"\ntype = "feishu"\nurl = "hook-SECRET"\n')

    result = invoke("alerts", "test", "ops")

    assert result.exit_code == 2
    assert lines(result.stderr) == [
        f"{path}: [alerts.channels #1] url = (value not shown: a secret) — must be the "
        "webhook's http:// or https:// URL, as the chat platform shows it"
    ]
    assert "SECRET" not in result.output


@pytest.fixture
def received(httpserver) -> list[dict]:
    """What a generic channel on 127.0.0.1 received: one JSON body per request."""
    bodies: list[dict] = []

    def handle(request):
        from werkzeug import Response

        bodies.append(json.loads(request.get_data()))
        return Response('{"ok": true}', content_type="application/json")

    httpserver.expect_request("/hook").respond_with_handler(handle)
    return bodies


def test_run_with_bad_settings_tells_the_chat_the_same_line(config, httpserver, received, tmp_path):
    path = config(
        'shop_id = "shop-a"\n[detection]\nlift_treshold = 0.3\n'
        f'[[alerts.channels]]\nname = "ops"\ntype = "generic"\nurl = "{httpserver.url_for("/hook")}"\n'
    )
    line = f"{path}: [detection] lift_treshold is not a setting — did you mean lift_threshold?"

    result = invoke("run", "--date", "2026-08-19")

    assert result.exit_code == 2
    assert lines(result.stderr) == [line]
    [notice] = received
    assert notice["kind"] == "failure" and notice["shop_id"] == "shop-a"
    assert notice["day"] == "2026-08-19"
    assert notice["failure"]["what_failed"] == f"reading the settings: {line}"
    assert "returnwatch run --date 2026-08-19" in notice["failure"]["what_to_do"]
    assert not (tmp_path / "w").exists()  # no warehouse created just to hold the notice


def test_the_settings_notice_goes_through_the_outbox_once_per_night(
    config, httpserver, received, tmp_path
):
    import duckdb

    from returnwatch.settings import Settings
    from returnwatch.warehouse.connection import connect

    db = tmp_path / "w" / "x.duckdb"
    connect(Settings(db=db, pii_secret="k")).close()
    config(
        '[detection]\nmode = "literall"\n'
        f'[[alerts.channels]]\nname = "ops"\ntype = "generic"\nurl = "{httpserver.url_for("/hook")}"\n'
    )

    first = invoke("run", "--date", "2026-08-19")
    again = invoke("run", "--date", "2026-08-19")

    assert first.exit_code == again.exit_code == 2
    assert len(received) == 1  # the second run found the notice already sent
    con = duckdb.connect(str(db.parent / ".work" / db.name), read_only=True)
    rows = con.execute("SELECT kind, status FROM alert_outbox").fetchall()
    con.close()
    assert rows == [("failure", "sent")]
