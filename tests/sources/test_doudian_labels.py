"""Real 抖店 exports as they come: label variants, placeholders, header sets.

The fixtures under fixtures/doudian/ are written for these tests (one per distinct header
set found in public tools that read 抖店 exports; docs/formats.md lists the sources).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from returnwatch.sources.ingest import import_file
from returnwatch.transforms.profiles import (
    DOUDIAN_REFUNDS,
    DOUDIAN_STATUS_MAP,
    classify,
    match_profile,
)
from returnwatch.warehouse.load import unknown_values_since

FIXTURES = Path(__file__).parent / "fixtures" / "doudian"


def fixture(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(FIXTURES / name, tmp_path / name))


def refunds(con) -> dict[str, tuple]:
    rows = con.execute("""
        SELECT refund_id, refund_type, refund_type_raw, status, status_raw, refund_amount,
               approved_at, completed_at, arbitration_status
        FROM refund_records
    """).fetchall()
    return {r[0][-2:]: r[1:] for r in rows}


def test_every_refund_type_and_status_variant_of_the_aftersale_list(warehouse, settings, tmp_path):
    result = import_file(warehouse, settings, fixture(tmp_path, "refunds_aftersale_list.csv"))

    assert result.status == "loaded", result.message
    got = refunds(warehouse)
    expected_types = {
        "01": "return_refund", "02": "refund_only", "03": "refund_only", "04": "refund_only",
        "05": "refund_only", "06": "exchange", "07": "other", "08": "other", "09": "other",
        "10": "other", "11": "refund_only", "12": "return_refund", "13": "return_refund",
        "16": "refund_only", "17": "return_refund",
    }  # fmt: skip
    assert {k: v[0] for k, v in got.items()} == expected_types
    expected_status = {
        "01": "completed", "02": "requested", "03": "closed", "04": "requested",
        "05": "closed", "06": "completed", "07": "in_progress", "08": "in_progress",
        "09": "completed", "10": "in_progress", "11": None, "12": "in_progress",
        "13": "rejected", "16": "completed", "17": "in_progress",
    }  # fmt: skip
    assert {k: v[2] for k, v in got.items()} == expected_status
    # The label as the file wrote it stays beside the canonical value.
    assert got["04"][1] == "已发货退款" and got["11"][3] == "神秘状态"


def test_placeholders_are_empty_values(warehouse, settings, tmp_path):
    result = import_file(warehouse, settings, fixture(tmp_path, "refunds_aftersale_list.csv"))

    got = refunds(warehouse)
    # `-` / `无` in 退商品金额（元） and `-` / `--` in the times: NULL, and the refund loads.
    assert got["12"][4] is None and got["12"][5] is None and got["12"][6] is None
    assert got["13"][4] is None
    assert got["02"][6] is None  # 售后完结时间 "-"
    assert got["16"][7] is None  # 仲裁状态 "-": no arbitration
    # In a required column the row is quarantined, and the reason names the placeholder.
    reasons = dict(
        warehouse.execute("SELECT source_row, reason FROM quarantine ORDER BY 1").fetchall()
    )
    assert reasons == {
        15: "refund_type is missing (placeholder '-')",
        16: "requested_at is missing (placeholder '无')",
    }
    assert result.rows_quarantined == 2 and result.rows_loaded == 15


def test_whitespace_an_excel_cell_keeps_is_cleaned(warehouse, settings, tmp_path):
    import_file(warehouse, settings, fixture(tmp_path, "refunds_aftersale_list.csv"))

    row = warehouse.execute("""
        SELECT refund_type_raw, status_raw, refund_amount, requested_at::VARCHAR
        FROM refund_records WHERE refund_id LIKE '%17'
    """).fetchone()
    assert row == ("退货退款", "待商家二次同意", 59, "2026-08-04 08:26:00")


def test_unknown_labels_are_counted_named_and_stored(warehouse, settings, tmp_path):
    path = fixture(tmp_path, "refunds_aftersale_list.csv")
    result = import_file(warehouse, settings, path)

    line = result.line()
    assert "售后类型 '特殊售后' (1 rows) not recognised: counted as other" in line
    assert "售后状态 '待平台审核' (1 rows) not recognised: counted as in_progress" in line
    assert "售后状态 '神秘状态' (1 rows) not recognised: loaded without a status" in line
    assert "仲裁状态 '平台介入' (1 rows) not recognised: loaded as written" in line
    assert "已发货退款" not in line and "仲裁中" not in line  # known labels are not named
    stored = warehouse.execute("""
        SELECT field_name, column_name, label, row_count, mapped_to, kind
        FROM load_unknown_values ORDER BY ALL
    """).fetchall()
    assert stored == [
        ("arbitration_status", "仲裁状态", "平台介入", 1, "平台介入", "refunds"),
        ("refund_type", "售后类型", "特殊售后", 1, "other", "refunds"),
        ("status", "售后状态", "待平台审核", 1, "in_progress", "refunds"),
        ("status", "售后状态", "神秘状态", 1, None, "refunds"),
    ]
    night = unknown_values_since(warehouse, result_started(warehouse))
    assert sorted(u.line() for _, u in night) == sorted(u.line() for u in result.unknown_values)
    assert {f for f, _ in night} == {path.name}


def result_started(con):
    return con.execute("SELECT min(started_at) FROM load_batches").fetchone()[0]


def test_a_file_whose_ids_repeat_counts_unknown_labels_too(warehouse, settings, tmp_path):
    """Repeated ids send a file through the grouped staging path: same counts there."""
    src = (FIXTURES / "refunds_aftersale_list.csv").read_text(encoding="utf-8-sig")
    lines = src.splitlines(keepends=True)
    doubled = tmp_path / "doubled.csv"
    doubled.write_text("".join(lines) + "".join(lines[1:3]), encoding="utf-8-sig")

    result = import_file(warehouse, settings, doubled)

    assert result.rows_duplicate == 2
    assert {u.value: u.rows for u in result.unknown_values} == {
        "特殊售后": 1, "待平台审核": 1, "神秘状态": 1, "平台介入": 1,
    }  # fmt: skip


def test_workbench_export_with_its_own_header_set(warehouse, settings, tmp_path):
    result = import_file(warehouse, settings, fixture(tmp_path, "refunds_aftersale_workbench.csv"))

    assert result.status == "loaded" and result.rows_loaded == 4, result.line()
    assert result.unknown_values == ()
    rows = warehouse.execute("""
        SELECT order_id, line_id, refund_type, refund_amount, completed_at, arbitration_status
        FROM refund_records ORDER BY refund_id
    """).fetchall()
    assert [r[2] for r in rows] == ["refund_only", "refund_only", "return_refund", "exchange"]
    assert rows[0][:2] == ("6920000000000001", "6920000000000101")  # 订单编号, 子订单编号
    assert [r[3] for r in rows] == [129, 129, None, None]  # 退款金额（元）, "--", "/"
    assert [r[4] for r in rows[1:3]] == [None, None]
    assert {r[5] for r in rows} == {None}  # "-", "/", "无", ""


def test_order_list_export(warehouse, settings, tmp_path):
    result = import_file(warehouse, settings, fixture(tmp_path, "orders_order_list.csv"))

    assert result.profile == "doudian_orders"
    rows = warehouse.execute(
        "SELECT line_id, unit_price, amount, carrier FROM order_lines ORDER BY line_id"
    ).fetchall()
    assert rows == [("6910000000000101", 59, 59, "圆通速递"), ("6910000000000102", 59, None, None)]
    reason = warehouse.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert reason == "paid_at is missing (placeholder '-')"


def test_order_export_naming_the_unit_price_商品单价(warehouse, settings, tmp_path):
    path = fixture(tmp_path, "orders_unit_price.csv")
    result = import_file(warehouse, settings, path)

    assert result.status == "loaded" and result.rows_loaded == 2, result.line()
    rows = warehouse.execute(
        "SELECT unit_price, quantity, amount, province, city, product_name FROM order_lines "
        "ORDER BY line_id"
    ).fetchall()
    assert rows == [
        (129, 1, 119, "江苏省", "南京市", "加绒卫衣"),
        (129, 1, 129, "江苏省", "苏州市", "加绒卫衣"),
    ]


@pytest.mark.parametrize(
    ("label", "canonical"),
    [("退货退款", "return_refund"), ("已发货仅退款", "refund_only"), ("未发货仅退款", "refund_only"),
     ("已发货退款", "refund_only"), ("未发货退款", "refund_only"), ("仅退款", "refund_only"),
     ("退款", "refund_only"), ("换货", "exchange"), ("补寄", "other"), ("维修", "other"),
     ("价保", "other"), ("退货", "return_refund"), ("发货后退货退款", "return_refund"),
     ("退款（无需退货）", "refund_only"), ("退款不退货", "refund_only"), ("价保退款", "other"),
     ("换货（退货后补发）", "exchange"), ("售后退货退款", "return_refund"),
     ("售后仅退款", "refund_only"), ("发货前退款", "refund_only")],
)  # fmt: skip
def test_refund_types_by_meaning(label, canonical):
    field = DOUDIAN_REFUNDS.field("refund_type")
    assert classify(field, label) == (canonical, True)


def test_every_waiting_status_maps_explicitly():
    waiting = [label for label in DOUDIAN_STATUS_MAP if label.startswith("待")]
    assert "待商家审核" in waiting and DOUDIAN_STATUS_MAP["待商家审核"] == "requested"
    field = DOUDIAN_REFUNDS.field("status")
    assert all(classify(field, label)[1] for label in DOUDIAN_STATUS_MAP)
    assert classify(field, "待火星审核") == ("in_progress", False)  # placed, but named


def test_every_fixture_matches_its_profile_completely():
    for path in FIXTURES.glob("*.csv"):
        header = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
        match = match_profile(header)
        assert match.complete, path.name
        assert match.profile.name == (
            "doudian_orders" if "orders" in path.name else "doudian_refunds"
        )
