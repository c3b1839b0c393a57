"""Data health: each code on a real warehouse file, in Chinese and English, each saying
what to do; a night with nothing else to say sends a short `data_health` message; a
rerun sends it once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from returnwatch.alerts.digest import health_message
from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import send_pending
from returnwatch.settings import ChannelSettings
from returnwatch.warehouse.health import TokenState, night_health, unknown_values_since

NOW = datetime(2026, 8, 15, 7, 0)


@pytest.fixture
def generic(kit, receiver, settings):
    channel = ChannelSettings(name="bi", type="generic", url=receiver.url("/generic/hook"))
    return kit.with_channels(settings.model_copy(update={"shop_id": kit.SHOP}), [channel])


def shop_days(con, kit, lines: dict[date, int]) -> None:
    for day, n in lines.items():
        con.execute(
            "INSERT INTO daily_return_rates (shop_id, day, dimension, key, order_lines, returns, return_rate, baseline_rate, baseline_days, lift, computed_at) "
            "VALUES (?, ?, 'shop', '*', ?, ?, 0.1, 0.1, 28, 0, ?)",
            [kit.SHOP, day, n, n // 10, NOW],
        )


def a_week_before(night: date, n: int = 200) -> dict[date, int]:
    return {night - timedelta(days=k): n for k in range(1, 8)}


def some_orders(con, kit, shop_id: str) -> None:
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, source_format, "
        "load_batch_id, loaded_at) VALUES (?, 'O1', 'L1', '1', ?, 'test', 1, ?)",
        [shop_id, NOW - timedelta(days=3), NOW],
    )


def load_batch(con, kit, batch: int, read: int, quarantined: int, loaded_at: datetime) -> None:
    con.execute(
        "INSERT INTO load_batches (load_batch_id, shop_id, source, file_name, checksum, kind, "
        "profile, rows_read, rows_loaded, rows_inserted, rows_updated, rows_quarantined, "
        "rows_duplicate, validation_success, started_at, loaded_at) "
        "VALUES (?, ?, 'file', ?, 'x', 'orders', 'doudian', ?, ?, ?, 0, ?, 0, true, ?, ?)",
        [
            batch,
            kit.SHOP,
            f"订单导出_{batch}.csv",
            read,
            read - quarantined,
            read - quarantined,
            quarantined,
            loaded_at,
            loaded_at,
        ],
    )


def codes(con, settings, kit, night=None) -> list[str]:
    return [f.code for f in night_health(con, settings, kit.SHOP, night or kit.NIGHT, now=NOW)]


def test_no_orders_sends_a_short_data_health_message_once(con, kit, receiver, generic, clock):
    some_orders(con, kit, kit.SHOP)
    shop_days(con, kit, a_week_before(kit.NIGHT))

    enqueue_digests(con, generic, kit.SHOP, [kit.NIGHT])
    enqueue_digests(con, generic, kit.SHOP, [kit.NIGHT])  # a rerun of the night
    send_pending(con, generic, clock=clock, sleep=clock.sleep)

    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["kind"] == "data_health" and body["anomalies"] == []
    [finding] = body["data_health"]
    assert finding["code"] == "no_orders" and finding["trailing_median"] == 200
    assert "今晚没有订单" in finding["message"] and "处理：" in finding["message"]
    assert body["title"] == f"数据健康提醒 · {kit.SHOP} · {kit.NIGHT}"
    assert "没有告警不代表一切正常" in body["text"]


def test_a_shop_that_sells_on_some_days_only_is_not_flagged(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    week = a_week_before(kit.NIGHT)
    week[kit.NIGHT - timedelta(days=3)] = 0
    shop_days(con, kit, week)
    assert codes(con, settings, kit) == []


def test_partial_orders(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    shop_days(con, kit, {**a_week_before(kit.NIGHT), kit.NIGHT: 60})
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW)
    assert finding.code == "partial_orders" and finding.details["share"] == 0.3
    zh = health_message("zh", finding, kit.SHOP, kit.NIGHT)
    en = health_message("en", finding, kit.SHOP, kit.NIGHT)
    assert "订单只有 60 行，是近 7 天中位数 200 的 30.0%" in zh
    assert "Only 60 order lines, 30.0% of the 7-night median 200" in en
    assert "returnwatch run --date 2026-08-14" in en
    shop_days(con, kit, {kit.NIGHT - timedelta(days=20): 1})  # unrelated history
    assert codes(con, settings, kit) == ["partial_orders"]


def test_files_refused_are_named_with_why(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    con.execute(
        "INSERT INTO inbox_files VALUES (?, 'notes.pdf', NULL, 10, 'refused', NULL, "
        "'unsupported file type .pdf', 'inbox/rejected/notes.pdf', 'run-1', ?)",
        [kit.SHOP, NOW],
    )
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW)
    assert finding.code == "files_refused"
    assert finding.details["files"] == [{"file": "notes.pdf", "why": "unsupported file type .pdf"}]
    assert "notes.pdf（unsupported file type .pdf）" in health_message(
        "zh", finding, kit.SHOP, kit.NIGHT
    )
    # once a later night's run succeeded, the file is old news
    con.execute(
        "INSERT INTO nightly_runs VALUES ('r', ?, ?, ?, 'success', ?, ?, NULL)",
        [kit.SHOP, kit.NIGHT, kit.NIGHT, NOW, NOW + timedelta(minutes=1)],
    )
    assert codes(con, settings, kit, kit.NIGHT + timedelta(days=1)) == []


def test_quarantine_high_by_share_or_against_its_usual(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    load_batch(con, kit, 1, 10_000, 50, NOW)  # 0.5%: under 1%
    assert codes(con, settings, kit) == []

    con.execute(
        "INSERT INTO nightly_runs VALUES ('r', ?, ?, ?, 'success', ?, ?, NULL)",
        [kit.SHOP, kit.NIGHT - timedelta(days=1), kit.NIGHT, NOW, NOW],
    )
    load_batch(con, kit, 2, 10_000, 5, NOW - timedelta(days=2))  # usual: (50+5)/20,000
    load_batch(con, kit, 3, 10_000, 90, NOW + timedelta(hours=1))  # 0.9%: over 3x usual
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW)
    assert finding.code == "quarantine_high"
    assert (finding.details["rows_quarantined"], finding.details["rows_read"]) == (90, 10_000)
    assert "90/10,000 行被隔离（0.9%，平时 0.3%）" in health_message(
        "zh", finding, kit.SHOP, kit.NIGHT
    )


def test_unknown_values_come_from_load_unknown_values(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    assert unknown_values_since(con, kit.SHOP, datetime(1970, 1, 1)) == []
    assert codes(con, settings, kit) == []

    # what a load writes for a label it did not recognise (migration 0010)
    load_batch(con, kit, 1, 100, 0, NOW)
    con.execute(
        "INSERT INTO load_unknown_values VALUES "
        "(1, ?, 'refunds', 'refund_type', '售后类型', '特殊售后', 12, 'other', ?)",
        [kit.SHOP, NOW],
    )
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW)
    assert finding.code == "unknown_values"
    assert finding.details["values"] == ["售后类型 '特殊售后' (12 rows: counted as other)"]
    en = health_message("en", finding, kit.SHOP, kit.NIGHT)
    assert "1 value(s) not recognised: 售后类型 '特殊售后' (12 rows: counted as other)" in en


def test_token_expiring_or_refresh_failed(con, kit, settings):
    some_orders(con, kit, kit.SHOP)
    assert codes(con, settings, kit) == []  # no API token state: skipped
    soon = TokenState(NOW + timedelta(days=2), None)
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW, token=soon)
    assert finding.code == "token_expiring"
    assert "抖店 API 授权将于 2026-08-17 07:00:00 到期" in health_message(
        "zh", finding, kit.SHOP, kit.NIGHT
    )
    later = TokenState(NOW + timedelta(days=9), None)
    assert night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW, token=later) == []
    failed = TokenState(NOW - timedelta(days=1), "isv.refresh-token-expired")
    [finding] = night_health(con, settings, kit.SHOP, kit.NIGHT, now=NOW, token=failed)
    assert "Refreshing the 抖店 API token failed: isv.refresh-token-expired" in health_message(
        "en", finding, kit.SHOP, kit.NIGHT
    )


def test_the_token_file_of_the_api_source_feeds_the_token_line(con, kit, settings, clock):
    """The state comes from the token file the pull keeps (sources/doudian_api/tokens.py):
    2.5 days left of a 14-day refresh token gives a line; secrets never reach it."""
    from returnwatch.alerts.digest import api_token
    from returnwatch.settings import ApiSourceSettings, SourceSettings
    from returnwatch.sources.doudian_api.credentials import resolve_credentials
    from returnwatch.sources.doudian_api.tokens import (
        TokenPair,
        TokenStore,
        configured_fingerprint,
        token_file,
    )

    api = ApiSourceSettings(
        app_key="7000000000000000001", app_secret="s3cret-app", refresh_token="r1"
    )
    configured = settings.model_copy(update={"source": SourceSettings(api=api)})
    assert api_token(settings, kit.SHOP) is None  # no API source
    assert api_token(configured, kit.SHOP, now=clock()) is None  # no renewal stored yet
    credentials = resolve_credentials(api)
    renewed = clock() - 11.5 * 86_400
    TokenStore(token_file(configured), api.app_key, configured_fingerprint(credentials)).save(
        TokenPair("access-x1", "refresh-x1", renewed + 7 * 86_400, renewed + 14 * 86_400, renewed)
    )
    state = api_token(configured, kit.SHOP, now=clock())
    now = datetime.fromtimestamp(clock())
    assert state is not None and state.refresh_error is None
    assert timedelta(days=2.4) < state.expires_at - now < timedelta(days=2.6)
    some_orders(con, kit, kit.SHOP)
    [finding] = night_health(con, configured, kit.SHOP, kit.NIGHT, now=now, token=state)
    assert finding.code == "token_expiring"
    text = health_message("zh", finding, kit.SHOP, kit.NIGHT)
    assert "重新授权" in text
    for secret in ("access-x1", "refresh-x1", "s3cret-app"):
        assert secret not in text
    other = configured.model_copy(
        update={"source": SourceSettings(api=api.model_copy(update={"shop_id": "another-shop"}))}
    )
    assert api_token(other, kit.SHOP, now=clock()) is None  # the credentials are another shop's


def test_shop_without_data_names_the_shops_the_warehouse_holds(con, kit, receiver, generic, clock):
    some_orders(con, kit, "抖店-旗舰店")
    some_orders(con, kit, "shop-b")
    assert codes(con, generic, kit) == ["shop_without_data"]

    enqueue_digests(con, generic, kit.SHOP, [kit.NIGHT])
    send_pending(con, generic, clock=clock, sleep=clock.sleep)
    [body] = [r.json for r in receiver.accepted("/generic")]
    [finding] = body["data_health"]
    assert finding["other_shops"] == ["shop-b", "抖店-旗舰店"]
    assert (
        f"仓库里没有店铺 {kit.SHOP} 的任何数据，却有其他店铺：shop-b、抖店-旗舰店"
        in (finding["message"])
    )


def test_english_channel_gets_english_health(con, kit, receiver, settings, clock):
    some_orders(con, kit, kit.SHOP)
    shop_days(con, kit, a_week_before(kit.NIGHT))
    channel = ChannelSettings(
        name="bi", type="generic", url=receiver.url("/generic/hook"), language="en"
    )
    configured = kit.with_channels(settings, [channel])
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    send_pending(con, configured, clock=clock, sleep=clock.sleep)
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["title"].startswith("Data health · ")
    assert body["data_health"][0]["message"].startswith("⚠️ No order lines tonight")


def test_health_rides_along_with_spikes(con, kit, receiver, generic, clock):
    some_orders(con, kit, kit.SHOP)
    shop_days(con, kit, a_week_before(kit.NIGHT))
    kit.add_anomaly(con, "sku", "111", severity="critical")
    enqueue_digests(con, generic, kit.SHOP, [kit.NIGHT])
    send_pending(con, generic, clock=clock, sleep=clock.sleep)
    [body] = [r.json for r in receiver.accepted("/generic")]
    assert body["kind"] == "digest" and [f["code"] for f in body["data_health"]] == ["no_orders"]
    assert "数据健康：" in body["text"]


@pytest.mark.parametrize("channel_type", ["feishu", "dingtalk", "wecom", "slack"])
def test_every_platform_takes_the_data_health_message(
    con, kit, receiver, settings, clock, channel_type
):
    some_orders(con, kit, kit.SHOP)
    shop_days(con, kit, a_week_before(kit.NIGHT))
    receiver.secrets.update(kit.secrets_for_receiver())
    [channel] = [
        c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == channel_type
    ]
    configured = kit.with_channels(settings, [channel])
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)
    assert summary.sent == 1 and summary.failed == 0
    [got] = receiver.accepted(f"/{channel_type}")
    assert ("今晚没有订单" in got.raw.decode()) or ("No order lines" in got.raw.decode())
