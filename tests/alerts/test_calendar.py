"""The promo calendar: a rise the event explains does not alarm, a spike beyond it says
which event it is in, last year's same event sets the expectation when the history has
it, and the promo days are what detection must keep out of baselines."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import send_pending
from returnwatch.settings import CalendarEvent, ChannelSettings, load_settings
from returnwatch.transforms.calendar import event_days, event_on

LIVE = CalendarEvent(
    name="818直播", start=date(2026, 8, 10), end=date(2026, 8, 12), expected_lift=0.5
)


@pytest.fixture
def generic(kit, receiver, settings):
    channel = ChannelSettings(name="bi", type="generic", url=receiver.url("/generic/hook"))
    return kit.with_channels(settings, [channel])


def with_calendar(settings, *events, default=False):
    return settings.model_copy(update={"calendar": list(events), "default_calendar": default})


def send(con, settings, kit, clock, receiver) -> list[dict]:
    enqueue_digests(con, settings, kit.SHOP, [kit.NIGHT])
    send_pending(con, settings, clock=clock, sleep=clock.sleep)
    return [r.json for r in receiver.accepted("/generic")]


def test_a_rise_the_event_explains_would_have_alarmed_without_it(
    con, kit, receiver, generic, clock
):
    # 60 returns where 40 were expected: +50%, what the live-stream event is expected to do
    kit.add_anomaly(con, "shop", "*", returns=60, expected_returns=40.0, extra_returns=20.0)

    assert send(con, with_calendar(generic, LIVE), kit, clock, receiver) == []
    assert con.execute("SELECT count(*) FROM alert_outbox").fetchone() == (0,)

    [without] = send(con, with_calendar(generic), kit, clock, receiver)
    assert without["summary"]["slices"] == ["shop:*"]


def test_a_spike_beyond_the_event_says_which_event(con, kit, receiver, generic, clock):
    kit.add_anomaly(con, "sku", "111", returns=90, expected_returns=40.0, extra_returns=50.0)
    kit.add_anomaly(con, "region", "浙江省", returns=45, expected_returns=30.0, extra_returns=15.0)

    [body] = send(con, with_calendar(generic, LIVE), kit, clock, receiver)

    assert body["summary"]["slices"] == ["sku:111"]  # the region rose as the event expects
    assert body["summary"]["event"] == "818直播" and body["summary"]["event_expected"] == 1
    [sku] = body["anomalies"]
    assert sku["event"] == {
        "name": "818直播",
        "lift": 0.5,
        "learned": False,
        "expected_returns": 60.0,
        "extra_returns": 30.0,
    }
    assert "今天在「818直播」大促或其退货期内" in body["text"]
    assert "大促「818直播」：按预期 +50% 衡量，仍多出 30" in body["text"]
    assert "「818直播」预期内的上涨 1 个，未列出" in body["text"]


def test_last_years_same_event_sets_the_expectation(con, kit, receiver, generic, clock):
    last_year = CalendarEvent(
        name="818直播", start=date(2025, 8, 10), end=date(2025, 8, 12), return_days=5
    )
    # a year ago: 100 lines a day at 10% before the event, 20% during it and its returns
    for k in range(-28, 8):
        day = last_year.start + timedelta(days=k)
        returns = 20 if k >= 0 else 10
        con.execute(
            "INSERT INTO daily_return_rates (shop_id, day, dimension, key, order_lines, returns, return_rate, baseline_rate, baseline_days, lift, computed_at) "
            "VALUES (?, ?, 'shop', '*', 100, ?, ?, 0.1, 28, 0, ?)",
            [kit.SHOP, day, returns, returns / 100, datetime(2025, 9, 1)],
        )
    kit.add_anomaly(con, "sku", "111", returns=90, expected_returns=40.0, extra_returns=50.0)

    [body] = send(con, with_calendar(generic, last_year, LIVE), kit, clock, receiver)

    [sku] = body["anomalies"]
    assert sku["event"]["learned"] is True and sku["event"]["lift"] == pytest.approx(1.0)
    assert sku["event"]["expected_returns"] == pytest.approx(80.0)
    assert "按去年同期 +100% 衡量，仍多出 10" in body["text"]


def test_promo_days_are_kept_out_of_baselines(con, kit, generic):
    kit.add_anomaly(con, "sku", "111")
    enqueue_digests(con, with_calendar(generic, LIVE), kit.SHOP, [kit.NIGHT])

    days = con.execute(
        "SELECT day, event, phase FROM promo_days WHERE shop_id = ? ORDER BY day", [kit.SHOP]
    ).fetchall()
    assert days[0] == (date(2026, 8, 10), "818直播", "event")
    assert days[-1] == (date(2026, 8, 27), "818直播", "return_window")  # 15 days of returns
    assert len(days) == 18
    excluded = con.execute(
        "SELECT count(*) FROM baseline_exclusions WHERE shop_id = ? AND dimension = '*' "
        "AND key = '*'",
        [kit.SHOP],
    ).fetchone()
    assert excluded == (18,)


def test_the_default_calendar_has_the_platform_events_of_this_and_next_year():
    events = load_settings().calendar_for("any-shop")
    names = {(e.name, e.start.year) for e in events}
    for year in (2026, 2027):
        for name in ("618", "双11"):
            assert (name, year) in names
    assert {e.name for e in events if e.end.year == 2027 and e.end.month <= 2} == {"年货节"}
    assert event_on(events, date(2026, 11, 20)).name == "双11"  # in its return window
    assert event_on(events, date(2026, 8, 14)) is None
    off = load_settings(default_calendar=False, calendar=[LIVE.model_dump()])
    assert [e.name for e in off.calendar_for("x")] == ["818直播"]
    assert [e.name for e in off.calendar_for("x")] == [e[1] for e in event_days([LIVE])][:1]


def test_calendar_from_toml(tmp_path, monkeypatch):
    config = tmp_path / "rw.toml"
    config.write_text(
        '[[calendar]]\nname = "店庆"\nstart = 2026-09-01\nend = 2026-09-03\n'
        'return_days = 10\nexpected_lift = 0.4\nshops = ["shop-a"]\n'
    )
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(config))
    settings = load_settings()
    [event] = [e for e in settings.calendar_for("shop-a") if e.name == "店庆"]
    assert (event.return_days, event.expected_lift) == (10, 0.4)
    assert all(e.name != "店庆" for e in settings.calendar_for("shop-b"))


def test_bad_calendar_and_owner_entries_are_refused_with_their_name():
    from pydantic import ValidationError

    from returnwatch.settings import OwnerSettings

    with pytest.raises(ValidationError, match="店庆"):
        CalendarEvent(name="店庆", start=date(2026, 9, 3), end=date(2026, 9, 1))
    with pytest.raises(ValidationError, match="广东省"):
        OwnerSettings(name="李", slices=["广东省"])
