"""Reason classes and categories on tiny in-memory tables: the rules, in their order."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from returnwatch.report import metrics
from returnwatch.report.metrics import Period
from returnwatch.settings import ReportSettings, Settings
from tests.helpers import connect_memory


def load_frames(con, order_lines=None, refunds=None) -> None:
    """Canonical frames straight into order_lines / refund_records (no importer)."""
    for table, frame in (("order_lines", order_lines), ("refund_records", refunds)):
        if frame is None:
            continue
        con.register("_frame", frame)
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT *, 'test' AS source_format, "
            "0 AS load_batch_id, now()::TIMESTAMP AS loaded_at FROM _frame"
        )
        con.unregister("_frame")


AUG = Period.parse("2026-08")


def refunds(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
    """One return per (售后原因, 用户售后说明), all requested in August."""
    n = len(rows)
    return pd.DataFrame(
        {
            "shop_id": "s",
            "refund_id": [f"R{i}" for i in range(n)],
            "order_id": [f"O{i}" for i in range(n)],
            "line_id": [f"L{i}" for i in range(n)],
            "sku_id": "S1",
            "refund_type": "return_refund",
            "reason": [r[0] for r in rows],
            "reason_detail": [r[1] for r in rows],
            "status": "completed",
            "requested_at": pd.Timestamp("2026-08-10 12:00"),
            "refund_amount": 10.0,
            "quantity": 1,
            "province": "广东省",
            "carrier": "中通快递",
        }
    )


def classify(rows, report: ReportSettings | None = None) -> list[tuple[str, str, str]]:
    con = connect_memory()
    frame = refunds(rows)
    load_frames(con, refunds=frame)
    out = metrics.reasons(con, report or ReportSettings(), "s", AUG)
    con.close()
    out = out[out["period"] == "current"]
    return sorted(zip(out["reason"], out["reason_class"], out["decided_by"], strict=True))


def test_mapped_labels_take_their_class():
    assert classify([("尺码不合适", "做工太差")]) == [("尺码不合适", "尺码不符", "label")]


def test_vague_and_unknown_labels_are_classified_from_the_buyers_words():
    got = classify(
        [
            ("其他", "开线了，做工太差"),  # vague label, quality words
            ("其他", "和客服协商退款"),  # vague label, no rule matches
            ("买家原因", "偏小一码，穿不上"),  # unknown label
            ("包装丑", None),  # unknown label, no words at all
            ("不想要了", "快递压坏了"),  # mapped, not vague: the label decides
        ]
    )
    assert got == sorted(
        [
            ("不想要了", "冲动消费/七天无理由", "label"),
            ("其他", "其他", "default"),
            ("其他", "质量问题", "keywords"),
            ("买家原因", "尺码不符", "keywords"),
            ("包装丑", "其他", "default"),
        ]
    )


def test_config_changes_the_map_and_the_rule_order():
    report = ReportSettings(
        reason_map={"发错货": "其他"},  # merged over the defaults
        vague_reasons=["其他", "七天无理由退货"],
        reason_keywords={"物流问题": ["压坏"], "质量问题": ["压坏", "坏"]},  # order = priority
    )
    assert report.reason_map["尺码不合适"] == "尺码不符"
    got = classify(
        [("发错货", None), ("七天无理由退货", "箱子压坏了"), ("质量问题", "坏了")], report
    )
    assert got == [
        ("七天无理由退货", "物流问题", "keywords"),
        ("发错货", "其他", "label"),
        ("质量问题", "质量问题", "label"),
    ]


def test_categories_follow_product_names_with_the_shop_category_as_default():
    con = connect_memory()
    lines = pd.DataFrame(
        {
            "shop_id": "s",
            "order_id": ["O1", "O2", "O3", "O4"],
            "line_id": ["L1", "L2", "L3", "L4"],
            "sku_id": ["A", "B", "C", "C"],
            "product_name": ["法式连衣裙", "运动鞋 黑色", "神秘礼物", "神秘礼物"],
            "quantity": 1,
            "amount": 10.0,
            "paid_at": pd.Timestamp("2026-08-03 10:00"),
            "province": "广东省",
        }
    )
    load_frames(con, order_lines=lines)
    frame = metrics.categories(con, ReportSettings(shop_category="礼品"), "s", AUG)
    con.close()
    got = dict(zip(frame["category"], frame["order_lines"], strict=True))
    assert got == {"服饰": 1, "鞋靴": 1, "礼品": 2}
    assert metrics.shop_benchmark(frame) == pytest.approx((0.175, 0.275))  # 礼品 has none


def test_report_settings_from_toml(tmp_path, monkeypatch):
    config = tmp_path / "rw.toml"
    config.write_text(
        '[report]\nhealthy_return_rate = 0.25\nshop_category = "服饰"\n'
        '[report.reason_map]\n"做工瑕疵" = "质量问题"\n'
        '[report.benchmarks]\n"服饰" = [0.22, 0.32]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RETURNWATCH_CONFIG", str(config))
    report = Settings().report
    assert report.healthy_return_rate == 0.25 and report.shop_category == "服饰"
    assert report.reason_map["做工瑕疵"] == "质量问题"
    assert report.reason_map["尺码不合适"] == "尺码不符"  # defaults kept
    assert report.benchmarks["服饰"] == (0.22, 0.32) and "食品" in report.benchmarks


def test_period_params_cover_exactly_the_month():
    params = Period.parse("2026-02").params()
    assert params == {
        "start": dt.datetime(2026, 2, 1),
        "end": dt.datetime(2026, 3, 1),
    }
