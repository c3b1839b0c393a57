"""Serial-returner alerts through real nightly runs (Prefect harness, 抖店 export files
with buyer names, phones and addresses, a real HTTP receiver): a buyer who becomes a
serial returner is announced once, on the night they become one, by pseudonym prefix
only; catch-up and a rerun of the night announce nothing again; a first run on a shop that
already has one records it as the starting point."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from returnwatch.flows.nightly import run_nightly

from .conftest import DAYS, LAST, START, ShopFiles

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

# The buyer: 8 lines paid 12 nights before the last, 7 returned 3 nights before it.
PAID = LAST - dt.timedelta(days=12)
RETURNED = LAST - dt.timedelta(days=3)
BUYER = {
    "customer_id": "u999999",
    "buyer_name": "甄有钱",
    "buyer_phone": "13912345678",
    "address": "幸福路88号9栋1单元101室",
    "street": "幸福街道",
}
REASONS = ["尺码不合适"] * 4 + ["质量问题"] * 3


def _with_a_serial_returner(shop):
    """The shop with BUYER's lines and returns added, built from rows of its own (every
    export column filled the way the generator fills it)."""
    lines = shop.order_lines
    shipped = lines[lines["shipped_at"].notna() & lines["carrier"].notna()].head(8).copy()
    shipped["order_id"] = [f"69999999990000{i:05d}" for i in range(8)]
    shipped["line_id"] = [f"69499999990000{i:05d}" for i in range(8)]
    shipped["paid_at"] = [pd.Timestamp(PAID) + pd.Timedelta(hours=10, minutes=i) for i in range(8)]
    shipped["shipped_at"] = shipped["paid_at"] + pd.Timedelta(days=1)
    for column, value in BUYER.items():
        shipped[column] = value
    template = shop.refunds[shop.refunds["refund_type"] == "return_refund"].iloc[0]
    refunds = pd.DataFrame([template] * len(REASONS)).reset_index(drop=True)
    returned = shipped.head(len(REASONS)).reset_index(drop=True)
    for column in ("order_id", "line_id", "sku_id", "product_id", "product_name", "province"):
        refunds[column] = returned[column]
    refunds["refund_id"] = [f"71299999990000{i:05d}" for i in range(len(REASONS))]
    refunds["reason"] = REASONS
    refunds["reason_detail"] = f"我是{BUYER['buyer_name']}，电话 {BUYER['buyer_phone']}"
    refunds["requested_at"] = pd.Timestamp(RETURNED) + pd.Timedelta(hours=11)
    for column in ("approved_at", "completed_at", "return_shipped_at"):
        refunds[column] = pd.NaT
    refunds = refunds.astype(shop.refunds.dtypes.to_dict())
    return type(shop)(
        **{
            **{f: getattr(shop, f) for f in shop.__dataclass_fields__},
            "order_lines": pd.concat([lines, shipped], ignore_index=True),
            "refunds": pd.concat([shop.refunds, refunds], ignore_index=True),
        }
    )


@pytest.fixture(scope="module")
def serial_shop(tmp_path_factory) -> ShopFiles:
    from returnwatch.demo.exports import write_doudian_exports
    from returnwatch.demo.shop import generate_shop

    shop = generate_shop(
        seed=11, start=START, days=DAYS, n_skus=20, lines_per_day=200, shop_id="shop-a",
        n_random_spikes=0, spikes=[],
    )  # fmt: skip
    root = tmp_path_factory.mktemp("serial-exports")
    files = write_doudian_exports(_with_a_serial_returner(shop), root, by="all")
    text = "".join(f.read_text(encoding="utf-8-sig") for f in files)
    assert BUYER["buyer_name"] in text and BUYER["buyer_phone"] in text  # PII in the input
    return ShopFiles("shop-a", files)


def pseudonym(db: Path, kit) -> str:
    [(customer_id,)] = kit.query(
        db,
        "SELECT DISTINCT customer_id FROM order_lines WHERE line_id LIKE '69499999990000%'",
    )
    return customer_id


def serial_bodies(receiver) -> list[dict]:
    return [b for b in receiver.bodies if b.get("serial_returners")]


def assert_no_pii(receiver, customer_id: str) -> None:
    for body in receiver.bodies:
        raw = json.dumps(body, ensure_ascii=False)
        for value in BUYER.values():
            assert value not in raw
        assert customer_id not in raw  # the prefix only, never the whole pseudonym


def test_announced_once_on_the_night_they_become_one(flow_settings, serial_shop, receiver, kit):
    serial_shop.drop(flow_settings.inbox)
    first = LAST - dt.timedelta(days=8)
    [summary] = run_nightly(flow_settings, date=first)
    assert summary.status == "success", summary.message
    assert "Serial returners: 0 new." in summary.paragraph()
    assert serial_bodies(receiver) == []

    # Catch-up over the next eight nights, each tracked as of itself.
    [summary] = run_nightly(flow_settings, date=LAST)
    assert summary.status == "success", summary.message
    assert summary.nights[0] == first + dt.timedelta(days=1) and summary.nights[-1] == LAST
    assert "Serial returners: 1 new." in summary.paragraph()
    customer_id = pseudonym(flow_settings.db, kit)
    [body] = serial_bodies(receiver)
    assert body["day"] == RETURNED.isoformat()
    assert body["kind"] in ("serial_returners", "digest")
    [buyer] = body["serial_returners"]["new"]
    assert buyer["customer_id_prefix"] == customer_id[:8]
    assert (buyer["returns"], buyer["order_lines"]) == (7, 8)
    assert (
        f"· 买家 {customer_id[:8]}…：90 天退货 7 次（占其订单行 88%），最常见原因：尺码不合适 4"
        in (body["text"])
    )
    assert_no_pii(receiver, customer_id)
    [(day, starting)] = kit.query(
        flow_settings.db,
        "SELECT first_seen_day, is_starting_point FROM serial_returners_seen WHERE customer_id = ?",
        [customer_id],
    )
    assert (day, starting) == (RETURNED, False)
    nights = kit.query(
        flow_settings.db,
        "SELECT day, json_extract(summary, '$.serial_returners_new')::INTEGER FROM nightly_runs "
        "WHERE status = 'success' AND day = ? ORDER BY finished_at",
        [RETURNED],
    )
    assert nights == [(RETURNED, 1)]

    # A rerun of that night, in full: nothing recorded, nothing sent again.
    receiver.bodies.clear()
    [summary] = run_nightly(flow_settings, date=RETURNED)
    assert summary.status == "success", summary.message
    assert summary.nights == [RETURNED] and "Serial returners: 1 new." in summary.paragraph()
    assert serial_bodies(receiver) == []
    assert kit.query(flow_settings.db, "SELECT count(*) FROM serial_returners_seen") == [(1,)]


def test_a_first_run_records_the_starting_point_without_announcing(
    flow_settings, serial_shop, receiver, kit
):
    serial_shop.drop(flow_settings.inbox)
    [summary] = run_nightly(flow_settings, date=LAST)
    assert summary.status == "success", summary.message
    assert "Serial returners: 0 new, 1 already there recorded as the starting point" in (
        summary.paragraph()
    )
    customer_id = pseudonym(flow_settings.db, kit)
    [body] = serial_bodies(receiver)
    assert body["serial_returners"] == {"new": [], "starting_point": 1}
    assert "已把现有的 1 位记为起点" in body["text"] and customer_id[:8] not in body["text"]
    assert_no_pii(receiver, customer_id)


def test_setting_off_tracks_nothing(flow_settings, serial_shop, receiver, kit):
    off = flow_settings.model_copy(
        update={
            "detection": flow_settings.detection.model_copy(
                update={"serial_returner_alerts": False}
            )
        }
    )
    serial_shop.drop(off.inbox)
    [summary] = run_nightly(off, date=LAST)
    assert summary.status == "success", summary.message
    assert "Serial returners" not in summary.paragraph()
    assert serial_bodies(receiver) == []
    assert kit.query(off.db, "SELECT count(*) FROM serial_returner_tracking") == [(0,)]


def test_a_tracking_failure_is_a_warning_not_a_failed_night(
    flow_settings, serial_shop, receiver, kit, monkeypatch
):
    from returnwatch.warehouse import serial_returners

    def broken(*args, **kwargs):
        raise RuntimeError("serial tracking broke")

    monkeypatch.setattr(serial_returners, "track_serial_returners", broken)
    serial_shop.drop(flow_settings.inbox)
    [summary] = run_nightly(flow_settings, date=LAST)
    assert summary.status == "success", summary.message
    text = summary.paragraph()
    assert f"Serial returners not tracked for {LAST}: RuntimeError: serial tracking broke" in text
    assert len(receiver.bodies) == 1 and serial_bodies(receiver) == []  # the night still reported
