"""Enqueueing: one digest per shop, night and channel, in the caller's transaction, and a
re-run of a night adds nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from returnwatch.alerts.outbox import enqueue_digests, list_alerts, retry_failed
from returnwatch.settings import ChannelSettings

WECOM = ChannelSettings(name="ops-wecom", type="wecom", url="http://127.0.0.1:9/wecom?key=k")
FEISHU = ChannelSettings(
    name="ops-feishu", type="feishu", url="http://127.0.0.1:9/feishu", min_severity="critical"
)


@pytest.fixture
def configured(settings, kit):
    return kit.with_channels(settings, [WECOM, FEISHU])


def test_one_digest_per_night_and_channel_inside_the_callers_transaction(con, kit, configured):
    kit.add_anomaly(con, "sku", "111", severity="critical")
    kit.add_anomaly(con, "region", "广东省", explained_by="sku:111")

    con.execute("BEGIN TRANSACTION")
    added = enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    con.execute("ROLLBACK")
    assert added == 2
    assert kit.outbox(con) == []  # it rolled back with the anomalies' transaction

    con.execute("BEGIN TRANSACTION")
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    con.execute("COMMIT")
    assert kit.outbox(con, "channel", "kind", "status", "slices") == [
        ("ops-wecom", "digest", "pending", ["sku:111"]),
        ("ops-feishu", "digest", "pending", ["sku:111"]),
    ]


def test_a_rerun_of_the_night_enqueues_nothing(con, kit, configured):
    kit.add_anomaly(con, "sku", "111", severity="critical")
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 2
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 0
    con.execute("UPDATE alert_outbox SET status = 'sent'")
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 0
    # numbers moving a little (late refunds) is not a new alert: same slices
    con.execute("UPDATE anomalies SET return_rate = 0.31, extra_returns = 41")
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 0


def test_new_slices_supersede_pending_rows_or_send_an_update(con, kit, configured):
    only_wecom = configured.model_copy(
        update={"alerts": configured.alerts.model_copy(update={"channels": [WECOM]})}
    )
    kit.add_anomaly(con, "sku", "111")
    enqueue_digests(con, only_wecom, kit.SHOP, [kit.NIGHT])
    kit.add_anomaly(con, "sku", "222")

    enqueue_digests(con, only_wecom, kit.SHOP, [kit.NIGHT])
    assert kit.outbox(con, "status", "slices") == [
        ("superseded", ["sku:111"]),
        ("pending", ["sku:111", "sku:222"]),
    ]

    con.execute("UPDATE alert_outbox SET status = 'sent' WHERE status = 'pending'")
    kit.add_anomaly(con, "sku", "333")
    enqueue_digests(con, only_wecom, kit.SHOP, [kit.NIGHT])
    (update,) = con.execute("SELECT title FROM alert_outbox WHERE status = 'pending'").fetchall()
    assert update == ("退货率异常（更新） · demo-shop · 2026-08-14",)

    # a slice going away is not worth another message
    con.execute("UPDATE alert_outbox SET status = 'sent' WHERE status = 'pending'")
    con.execute("DELETE FROM anomalies WHERE key = '333'")
    assert enqueue_digests(con, only_wecom, kit.SHOP, [kit.NIGHT]) == 0


def test_a_quiet_night_sends_nothing_unless_all_clear(con, kit, configured):
    kit.add_headline(con)
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 0

    loud = configured.model_copy(
        update={"alerts": configured.alerts.model_copy(update={"send_all_clear": True})}
    )
    assert enqueue_digests(con, loud, kit.SHOP, [kit.NIGHT]) == 2
    assert enqueue_digests(con, loud, kit.SHOP, [kit.NIGHT]) == 0
    assert {row[0] for row in kit.outbox(con, "kind")} == {"all_clear"}


def test_catch_up_nights_get_one_dated_digest_each_oldest_first(con, kit, configured):
    # the same slice every night is one incident: "daily" re-lists it each night
    configured = configured.model_copy(
        update={"alerts": configured.alerts.model_copy(update={"repeat": "daily"})}
    )
    days = [date(2026, 8, 14), date(2026, 8, 12), date(2026, 8, 13)]
    for day in days:
        kit.add_anomaly(con, "sku", "111", day=day, severity="critical")

    enqueue_digests(con, configured, kit.SHOP, days)

    titles = con.execute(
        "SELECT title FROM alert_outbox WHERE channel = 'ops-wecom' ORDER BY alert_id"
    ).fetchall()
    assert [title for (title,) in titles] == [
        f"退货率异常 · demo-shop · 2026-08-{d}" for d in (12, 13, 14)
    ]
    listed = list_alerts(con, day=date(2026, 8, 13))
    assert [(a.channel, a.day, a.status) for a in listed] == [
        ("ops-feishu", date(2026, 8, 13), "pending"),
        ("ops-wecom", date(2026, 8, 13), "pending"),
    ]
    assert len(list_alerts(con)) == 6


def test_the_outbox_stores_the_channel_name_never_its_url(con, kit, configured):
    kit.add_anomaly(con, "sku", "111", severity="critical")
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])

    dump = str(con.execute("SELECT * FROM alert_outbox").fetchall())
    assert "127.0.0.1" not in dump and "key=k" not in dump


def test_failed_rows_can_be_put_back(con, kit, configured):
    kit.add_anomaly(con, "sku", "111", severity="critical")
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    con.execute("UPDATE alert_outbox SET status = 'failed'")

    assert retry_failed(con, channel="ops-wecom") == 1
    assert kit.outbox(con, "channel", "status") == [
        ("ops-wecom", "pending"),
        ("ops-feishu", "failed"),
    ]


def test_history_re_detected_by_a_first_import_does_not_flood_the_chat(con, kit, configured):
    configured = configured.model_copy(
        update={"alerts": configured.alerts.model_copy(update={"repeat": "daily"})}
    )
    days = [date(2026, 7, 1) + timedelta(days=i) for i in range(45)]  # through 2026-08-14
    for day in days:
        kit.add_anomaly(con, "sku", "111", day=day, severity="critical")

    enqueue_digests(con, configured, kit.SHOP, days)

    nights = [
        d for (d,) in con.execute("SELECT DISTINCT day FROM alert_outbox ORDER BY day").fetchall()
    ]
    assert nights == [date(2026, 8, 7) + timedelta(days=i) for i in range(8)]  # catch_up_days = 7
