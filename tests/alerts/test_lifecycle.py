"""The alert lifecycle on a real warehouse file and real local receivers: incidents
(new → ongoing/worse → resolved), mutes, owners' @-mentions per platform. Each night is
enqueued (as the detection transaction does) and sent; reruns send nothing new."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import send_pending
from returnwatch.settings import ChannelSettings, OwnerSettings
from returnwatch.transforms.incidents import Slice, parse_slice, slice_matches
from returnwatch.warehouse.feedback import add_mute, unmute

D1 = date(2026, 8, 10)


def night(n: int) -> date:
    return D1 + timedelta(days=n - 1)


@pytest.fixture
def generic(kit, receiver, settings):
    channel = ChannelSettings(
        name="bi", type="generic", url=receiver.url("/generic/hook"), secret=kit.GENERIC_SECRET
    )
    receiver.secrets.update(kit.secrets_for_receiver())
    return kit.with_channels(settings.model_copy(update={"shop_id": kit.SHOP}), [channel])


def bodies(receiver) -> list[dict]:
    return [r.json for r in receiver.accepted("/generic")]


def test_a_spike_over_nights_is_one_incident(con, kit, receiver, generic, clock):
    # night 1: new; night 2: about as bad (ongoing); night 3: 2x its peak (worse);
    # nights 4 and 5 quiet: resolved on night 5 (incident_gap_nights = 2)
    for n, extra in ((1, 20.0), (2, 22.0), (3, 45.0)):
        kit.add_anomaly(con, "sku", "111", day=night(n), severity="critical", extra_returns=extra)
    kit.add_anomaly(con, "region", "广东省", day=night(1), explained_by="sku:111")

    def one_night(n: int) -> list[dict]:
        before = len(bodies(receiver))
        enqueue_digests(con, generic, kit.SHOP, [night(n)])
        send_pending(con, generic, clock=clock, sleep=clock.sleep)
        return bodies(receiver)[before:]

    [first] = one_night(1)
    sku = next(a for a in first["anomalies"] if a["key"] == "111")
    assert sku["incident"]["status"] == "new" and sku["incident"]["nights"] == 1
    assert sku["incident"]["first_day"] == night(1).isoformat() and sku["muted"] is False
    assert first["resolved"] == [] and first["data_health"] == []
    assert first["summary"]["muted"] == 0
    assert "状态：新问题" in first["text"]
    assert "静默：returnwatch alerts mute sku:111 --days 7" in first["text"]

    assert one_night(2) == []  # ongoing, not worse: no message by itself
    row = con.execute(
        "SELECT incident_status, incident_id FROM anomalies WHERE day = ? AND key = '111'",
        [night(2)],
    ).fetchone()
    assert row == ("ongoing", sku["incident"]["id"])

    [third] = one_night(3)
    [worse] = [a for a in third["anomalies"] if a["key"] == "111"]
    assert worse["incident"] == {
        "id": sku["incident"]["id"],
        "status": "worse",
        "first_day": night(1).isoformat(),
        "nights": 3,
    }
    assert "恶化 · 持续第 3 天" in third["text"]
    assert third["resolved"] == []  # the region the SKU lifted resolves unlisted

    assert one_night(4) == []  # one quiet night: still open
    [fifth] = one_night(5)
    assert fifth["kind"] == "digest" and fifth["anomalies"] == []
    assert fifth["resolved"] == [
        {
            "dimension": "sku",
            "key": "111",
            "first_day": night(1).isoformat(),
            "last_day": night(3).isoformat(),
            "nights": 3,
            "incident_id": sku["incident"]["id"],
            "peak_extra_returns": 45.0,
        }
    ]  # the region it lifted resolves with it, unlisted
    assert "已恢复：" in fifth["text"] and "今晚没有新的异常。" in fifth["text"]

    incidents = con.execute(
        "SELECT dimension, key, nights, peak_extra_returns, status, resolved_day "
        "FROM incidents ORDER BY dimension"
    ).fetchall()
    assert incidents == [
        ("region", "广东省", 1, 40.0, "resolved", night(3)),
        ("sku", "111", 3, 45.0, "resolved", night(5)),
    ]
    # a rerun of every night sends nothing new, and the resolution is listed once
    for n in range(1, 7):
        assert one_night(n) == []


def test_repeat_daily_relists_ongoing_incidents(con, kit, receiver, generic, clock):
    daily = generic.model_copy(
        update={"alerts": generic.alerts.model_copy(update={"repeat": "daily"})}
    )
    for n in (1, 2):
        kit.add_anomaly(con, "sku", "111", day=night(n), extra_returns=20.0)
    enqueue_digests(con, daily, kit.SHOP, [night(1), night(2)])
    send_pending(con, daily, clock=clock, sleep=clock.sleep)
    statuses = [b["anomalies"][0]["incident"]["status"] for b in bodies(receiver)]
    assert statuses == ["new", "ongoing"]
    assert "状态：持续第 2 天" in bodies(receiver)[1]["text"]


def test_with_send_all_clear_an_ongoing_night_is_not_all_clear(con, kit, receiver, generic, clock):
    loud = generic.model_copy(
        update={"alerts": generic.alerts.model_copy(update={"send_all_clear": True})}
    )
    for n in (1, 2):
        kit.add_anomaly(con, "sku", "111", day=night(n), extra_returns=20.0)
    enqueue_digests(con, loud, kit.SHOP, [night(1), night(2)])
    send_pending(con, loud, clock=clock, sleep=clock.sleep)
    second = bodies(receiver)[1]
    assert second["kind"] == "digest" and second["summary"]["slices"] == []
    assert "持续中（未恶化）：" in second["text"] and "退货率正常" not in second["text"]


def test_ongoing_incidents_ride_along_in_one_compact_line(con, kit, receiver, generic, clock):
    for n in (1, 2):
        kit.add_anomaly(con, "sku", "111", day=night(n), extra_returns=20.0)
    kit.add_anomaly(con, "region", "浙江省", day=night(2), extra_returns=8.0)
    enqueue_digests(con, generic, kit.SHOP, [night(1), night(2)])
    send_pending(con, generic, clock=clock, sleep=clock.sleep)

    second = bodies(receiver)[1]
    assert second["summary"]["slices"] == ["region:浙江省"]  # the news
    assert "持续中（未恶化）：\n· SKU 111：持续第 2 天，多出 20" in second["text"]
    assert {a["key"]: a["incident"]["status"] for a in second["anomalies"]} == {
        "111": "ongoing",
        "浙江省": "new",
    }


def test_a_mute_is_stored_counted_and_expires(con, kit, receiver, generic, clock):
    for n in (1, 2, 3):
        kit.add_anomaly(con, "sku", "111", day=night(n), severity="critical", extra_returns=20.0)
        kit.add_anomaly(con, "region", "浙江省", day=night(n), extra_returns=5.0 * n * n)
    add_mute(con, kit.SHOP, parse_slice("sku:111"), night(2), "补货中，已知", by="ops-li")

    enqueue_digests(con, generic, kit.SHOP, [night(1)])
    send_pending(con, generic, clock=clock, sleep=clock.sleep)
    [first] = bodies(receiver)
    assert [a["key"] for a in first["anomalies"]] == ["浙江省"]  # muted ones are not listed
    assert first["summary"]["muted"] == 1 and first["summary"]["slices"] == ["region:浙江省"]
    assert "已静默 1 个（查看：returnwatch alerts mutes）" in first["text"]
    stored = con.execute(
        "SELECT day, muted FROM anomalies WHERE key = '111' ORDER BY day"
    ).fetchall()
    assert stored[0] == (night(1), True)  # still detected and stored, marked muted
    who = con.execute("SELECT created_by, reason, until_day FROM alert_mutes").fetchall()
    assert who == [("ops-li", "补货中，已知", night(2))]

    # night 3: the mute has ended by itself; the SKU is listed again (its incident ongoing,
    # but new to the reader: listed in full because a digest goes out for the region)
    enqueue_digests(con, generic, kit.SHOP, [night(2), night(3)])
    send_pending(con, generic, clock=clock, sleep=clock.sleep)
    third = bodies(receiver)[-1]
    assert third["day"] == night(3).isoformat() and third["summary"]["muted"] == 0
    assert "111" in {a["key"] for a in third["anomalies"]}
    assert con.execute(
        "SELECT muted FROM anomalies WHERE key = '111' AND day = ?", [night(3)]
    ).fetchone() == (False,)


def test_unmute_ends_a_mute_early(con, kit, generic):
    kit.add_anomaly(con, "sku", "111", day=night(1))
    add_mute(con, kit.SHOP, Slice("sku", "111"), night(9), "promo", by="a")
    assert unmute(con, kit.SHOP, Slice("sku", "111"), by="b") == 1
    enqueue_digests(con, generic, kit.SHOP, [night(1)])
    assert con.execute("SELECT muted FROM anomalies").fetchone() == (False,)
    assert con.execute("SELECT unmuted_by FROM alert_mutes").fetchone() == ("b",)


def test_a_mute_needs_a_reason(con, kit):
    with pytest.raises(ValueError, match="reason"):
        add_mute(con, kit.SHOP, Slice("sku", "1"), night(2), "  ")


@pytest.mark.parametrize(
    ("text", "dimension", "key"),
    [
        ("shop", "shop", "*"),
        ("region:广东省", "region", "广东省"),
        ("sku:3712345678901", "sku", "3712345678901"),
        ("carrier_region:中通快递:广东省", "carrier_region", "中通快递:广东省"),
        ("category:服饰", "category", "服饰"),
    ],
)
def test_slices_are_any_dimension_and_key(text, dimension, key):
    assert parse_slice(text) == Slice(dimension, key)
    assert str(parse_slice(text)) == text


def test_a_slice_needs_a_dimension_and_a_key():
    for bad in ("广东省", "sku:", ":1"):
        with pytest.raises(ValueError, match="dimension"):
            parse_slice(bad)


def test_owner_patterns_are_exact_prefix_or_glob():
    assert slice_matches("sku:3580*", "sku", "3580123")
    assert not slice_matches("sku:3580*", "sku", "3680123")
    assert slice_matches("region:广东省", "region", "广东省")
    assert not slice_matches("region:广东省", "sku", "广东省")
    assert slice_matches("category:服*", "category", "服饰")
    assert slice_matches("shop", "shop", "*")


OWNER = OwnerSettings(
    name="王店长",
    slices=["sku:3712*"],
    feishu_open_id="ou_7d8a6e6df7621556ce0d21922b676706ccs",
    dingtalk_mobile="13800001111",
    wecom_userid="wangdianzhang",
    slack_member_id="U024BE7LH",
)
REGION_OWNER = OwnerSettings(name="李运营", slices=["region:广东省"], dingtalk_user_id="manager7")


def test_owners_are_mentioned_in_each_platforms_syntax(con, kit, receiver, settings, clock):
    kit.add_anomaly(con, "sku", "3712345678901", severity="critical", extra_returns=54.0)
    kit.add_anomaly(con, "region", "广东省", explained_by="sku:3712345678901")
    kit.add_anomaly(con, "region", "浙江省", extra_returns=3.0)  # nobody's: no mention
    receiver.secrets.update(kit.secrets_for_receiver())
    configured = kit.with_channels(
        settings,
        kit.channel_configs(receiver.url("").rstrip("/")),
        owners=[OWNER, REGION_OWNER],
    )
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)
    assert summary.sent == 5 and summary.failed == 0

    [feishu] = [r.json for r in receiver.accepted("/feishu")]
    blocks = [e["text"]["content"] for e in feishu["card"]["elements"] if e["tag"] == "div"]
    sku_block = next(b for b in blocks if "3712345678901" in b)
    assert sku_block.endswith("负责人：<at id=ou_7d8a6e6df7621556ce0d21922b676706ccs></at> 李运营")
    assert not any("<at" in b for b in blocks if "浙江省" in b and "3712" not in b)

    [ding] = [r.json for r in receiver.accepted("/dingtalk")]
    assert ding["at"] == {"atMobiles": ["13800001111"], "atUserIds": ["manager7"], "isAtAll": False}
    assert "负责人：@13800001111 @manager7" in ding["markdown"]["text"]

    [wecom] = [r.json for r in receiver.accepted("/wecom")]
    assert "负责人：<@wangdianzhang> 李运营" in wecom["markdown"]["content"]

    [slack] = [r.json for r in receiver.accepted("/slack")]
    sections = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    assert any(s.endswith("Owner: <@U024BE7LH> 李运营") for s in sections)

    [generic] = [r.json for r in receiver.accepted("/generic")]
    sku = next(a for a in generic["anomalies"] if a["key"] == "3712345678901")
    assert "mentioned_mobile_list" not in str(wecom)  # everyone had a userid
    assert sku["owners"] == ["王店长"]
    assert "负责人：王店长 李运营" in generic["text"]


def test_a_wecom_owner_known_only_by_mobile_gets_a_text_ping(con, kit, receiver, settings, clock):
    kit.add_anomaly(con, "sku", "3712345678901", severity="critical", extra_returns=54.0)
    owner = OwnerSettings(name="赵仓管", slices=["sku:3712*"], wecom_mobile="13900002222")
    [wecom] = [c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == "wecom"]
    configured = kit.with_channels(settings, [wecom], owners=[owner])
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    assert send_pending(con, configured, clock=clock, sleep=clock.sleep).sent == 2

    digest, ping = [r.json for r in receiver.accepted("/wecom")]
    assert "负责人：赵仓管" in digest["markdown"]["content"]  # markdown cannot @ a mobile
    assert ping == {
        "msgtype": "text",
        "text": {
            "content": f"退货率异常 · {kit.SHOP} · {kit.NIGHT}\n负责人：赵仓管",
            "mentioned_mobile_list": ["13900002222"],
        },
    }
    assert kit.outbox(con, "part", "parts", "status") == [(1, 2, "sent"), (2, 2, "sent")]


def test_an_owner_channel_gets_only_the_owners_slices(con, kit, receiver, settings, clock):
    kit.add_anomaly(con, "sku", "3712345678901", severity="critical", extra_returns=54.0)
    kit.add_anomaly(con, "region", "浙江省", extra_returns=9.0)
    base = receiver.url("").rstrip("/")
    shop_channel = ChannelSettings(name="ops", type="generic", url=f"{base}/generic/ops")
    own = ChannelSettings(name="wang", type="generic", url=f"{base}/generic/wang")
    owner = OWNER.model_copy(update={"channel": "wang"})
    configured = kit.with_channels(settings, [shop_channel, own], owners=[owner])
    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    send_pending(con, configured, clock=clock, sleep=clock.sleep)

    by_path = {r.path: r.json for r in receiver.accepted("/generic")}
    assert by_path["/generic/ops"]["summary"]["slices"] == ["region:浙江省", "sku:3712345678901"]
    assert by_path["/generic/wang"]["summary"]["slices"] == ["sku:3712345678901"]


def test_incidents_are_derived_from_the_anomalies_on_every_rerun(con, kit, settings):
    from returnwatch.warehouse.incidents import update_incidents

    kit.add_anomaly(con, "carrier", "中通快递", day=night(1))
    kit.add_anomaly(con, "carrier", "中通快递", day=night(2))
    update_incidents(con, settings, kit.SHOP, night(2), now=datetime(2026, 8, 12))
    first = con.execute("SELECT * FROM incidents").fetchall()
    update_incidents(con, settings, kit.SHOP, night(2), now=datetime(2026, 8, 12))
    assert con.execute("SELECT * FROM incidents").fetchall() == first
    assert [r[2:7] for r in first] == [("carrier", "中通快递", night(1), night(2), 2)]


def test_incidents_are_kept_without_any_channel(con, kit, settings):
    kit.add_anomaly(con, "sku", "111", day=night(1))
    add_mute(con, kit.SHOP, Slice("sku", "111"), night(1), "known", by="a")
    assert enqueue_digests(con, settings, kit.SHOP, [night(1)]) == 0  # no channels
    assert con.execute("SELECT incident_status, muted FROM anomalies").fetchall() == [("new", True)]
    assert con.execute("SELECT count(*) FROM incidents").fetchone() == (1,)


def test_one_quiet_night_does_not_split_an_incident_two_do(con, kit, settings):
    from returnwatch.warehouse.incidents import update_incidents

    for n in (1, 3, 6):  # 3 follows one quiet night; 6 follows two
        kit.add_anomaly(con, "sku", "111", day=night(n))
    update_incidents(con, settings, kit.SHOP, night(6))
    rows = con.execute(
        "SELECT day, incident_id, incident_status FROM anomalies ORDER BY day"
    ).fetchall()
    assert rows[0][1] == rows[1][1] != rows[2][1]
    assert [status for _, _, status in rows] == ["new", "ongoing", "new"]
    assert con.execute(
        "SELECT first_day, last_day, nights, status, resolved_day FROM incidents ORDER BY 1"
    ).fetchall() == [
        (night(1), night(3), 2, "resolved", night(5)),
        (night(6), night(6), 1, "open", None),
    ]
