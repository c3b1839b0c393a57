"""Canonical CSV import: values, accounting, idempotency, re-exports and refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from returnwatch.sources.ingest import import_file
from returnwatch.transforms.staging import hmac_hex
from returnwatch.warehouse.rates import refresh_dirty

from ..exports import ORDER_HEADER, REFUND_HEADER, table_snapshot, write_csv

pytestmark = pytest.mark.slow  # warehouse files


def test_orders_land_typed_with_hashed_customer(warehouse, settings, orders_csv):
    result = import_file(warehouse, settings, orders_csv)

    assert result.status == "loaded", result.message
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 4, 0)
    row = warehouse.execute(
        "SELECT shop_id, order_id, sku_id, quantity, amount, paid_at, province, carrier, customer_id "
        "FROM order_lines WHERE line_id = 'L1'"
    ).fetchone()
    assert row == (
        "test-shop",
        "O1",
        "S1",
        1,
        Decimal("99.50"),
        dt.datetime(2026, 8, 1, 10, 0),
        "广东省",
        "圆通速递",
        hmac_hex(b"test-pii-secret", "c1"),
    )
    assert (
        warehouse.execute("SELECT count(*) FROM order_lines WHERE customer_id = 'c1'").fetchone()[0]
        == 0
    )


def test_refund_region_resolves_whatever_the_import_order(
    warehouse, settings, orders_csv, refunds_csv
):
    import_file(warehouse, settings, refunds_csv)
    before = dict(warehouse.execute("SELECT refund_id, province FROM refunds").fetchall())
    assert before == {"R1": "unknown", "R2": "浙江省"}

    import_file(warehouse, settings, orders_csv)

    after = dict(warehouse.execute("SELECT refund_id, province FROM refunds").fetchall())
    assert after == {"R1": "广东省", "R2": "浙江省"}
    sources = dict(warehouse.execute("SELECT refund_id, province_source FROM refunds").fetchall())
    assert sources == {"R1": "order_line", "R2": "refund"}
    carrier = warehouse.execute("SELECT carrier FROM refunds WHERE refund_id = 'R1'").fetchone()
    assert carrier == ("圆通速递",)


def test_orders_load_marks_the_request_days_of_their_refunds(
    warehouse, settings, orders_csv, refunds_csv
):
    import_file(warehouse, settings, refunds_csv)
    warehouse.execute("DELETE FROM dirty_days")

    import_file(warehouse, settings, orders_csv)

    days = {r[0] for r in warehouse.execute("SELECT day FROM dirty_days").fetchall()}
    # paid days of the new lines, plus the request days of the refunds of those lines:
    # 08-03 (R1, region unknown until now) and 08-04 (R2: its own province, but its
    # carrier, SKU and buyer are its line's)
    assert days == {dt.date(2026, 8, d) for d in (1, 2, 3, 4)}


def test_lines_loaded_after_their_refunds_recompute_the_refunds_carrier(
    warehouse, settings, tmp_path
):
    """A refund with its own province still counts under its order line's carrier, SKU,
    product and buyer (issue 17's slices). Lines arriving after their refunds recompute
    the refunds' days, however late the refund: here a 仅退款 dispute requested 160 days
    after payment, beyond the days a paid day's rates widen to (`rates.reach_days`)."""
    late = ["R9", "O2", "L3", "S1", "refund_only", "质量问题", "completed",
            "2027-01-09 12:00:00", "", "50", 1, "浙江省", ""]  # fmt: skip
    import_file(warehouse, settings, write_csv(tmp_path / "r.csv", REFUND_HEADER, [late]))
    refresh_dirty(warehouse, settings, "test-shop")
    carrier_returns = (
        "SELECT coalesce(sum(returns), 0) FROM daily_return_rates "
        "WHERE day = DATE '2027-01-09' AND dimension = 'carrier' AND key = '中通快递'"
    )
    assert warehouse.execute(carrier_returns).fetchone()[0] == 0  # no line yet: no carrier
    assert warehouse.execute("SELECT count(*) FROM buyer_returns").fetchone()[0] == 0

    line = ["O2", "L3", "S1", "衬衫", 1, "99.50", "2026-08-02 11:00:00", "浙江省", "杭州市",
            "中通快递", "c2"]  # fmt: skip
    import_file(warehouse, settings, write_csv(tmp_path / "o.csv", ORDER_HEADER, [line]))
    refresh_dirty(warehouse, settings, "test-shop")

    assert warehouse.execute(carrier_returns).fetchone()[0] == 1
    # and its buyer's returns (serial returners), kept with the rates, now have it
    buyer = warehouse.execute(
        "SELECT customer_id, returns FROM buyer_returns WHERE day = DATE '2027-01-09'"
    ).fetchall()
    assert buyer == [(hmac_hex(b"test-pii-secret", "c2"), 1)]


def test_refunds_on_the_new_lines_bounds_are_found_and_others_left(warehouse, settings, tmp_path):
    """The refunds an orders load can resolve are looked for between the lowest and the
    highest of its ids: ids on the bounds count, one outside them is no match anyway."""

    def refund(refund_id, order_id, line_id, day):
        return [refund_id, order_id, line_id, "S1", "return_refund", "", "completed",
                f"2026-08-{day:02d} 12:00:00", "", "10", 1, "", ""]  # fmt: skip

    refunds = [refund("R1", "O1", "L1", 11), refund("R2", "O3", "", 12),
               refund("R3", "O9", "L9", 13)]  # fmt: skip
    import_file(warehouse, settings, write_csv(tmp_path / "r.csv", REFUND_HEADER, refunds))
    warehouse.execute("DELETE FROM dirty_days")
    lines = [[f"O{i}", f"L{i}", "S1", "a", 1, "10", "2026-08-01 10:00:00", "广东省", "", "", ""]
             for i in (1, 2, 3)]  # fmt: skip

    import_file(warehouse, settings, write_csv(tmp_path / "o.csv", ORDER_HEADER, lines))

    days = {r[0] for r in warehouse.execute("SELECT day FROM dirty_days").fetchall()}
    assert days == {dt.date(2026, 8, 1), dt.date(2026, 8, 11), dt.date(2026, 8, 12)}


def test_same_file_twice_changes_nothing(warehouse, settings, orders_csv):
    first = import_file(warehouse, settings, orders_csv)
    snapshot = table_snapshot(warehouse)

    second = import_file(warehouse, settings, orders_csv)

    assert first.status == "loaded"
    assert second.status == "skipped"
    assert second.load_batch_id == first.load_batch_id
    assert table_snapshot(warehouse) == snapshot


def test_overlapping_reexport_updates_rows_by_id(warehouse, settings, tmp_path, refunds_csv):
    import_file(warehouse, settings, refunds_csv)
    newer = write_csv(
        tmp_path / "refunds-reexport.csv",
        REFUND_HEADER,
        [
            ["R2", "O2", "L3", "S1", "refund_only", "质量问题", "completed", "2026-08-04 08:00:00", "2026-08-05 09:00:00", "50", 1, "浙江省", ""],
            ["R3", "O3", "L4", "S3", "return_refund", "质量问题", "requested", "2026-08-05 10:00:00", "", "120", 1, "", ""],
        ],
    )  # fmt: skip

    result = import_file(warehouse, settings, newer)

    assert (result.rows_inserted, result.rows_updated) == (1, 1)
    rows = warehouse.execute(
        "SELECT refund_id, status, completed_at FROM refund_records ORDER BY refund_id"
    ).fetchall()
    assert rows == [
        ("R1", "completed", dt.datetime(2026, 8, 6, 12, 0)),
        ("R2", "completed", dt.datetime(2026, 8, 5, 9, 0)),
        ("R3", "requested", None),
    ]
    batches = warehouse.execute("SELECT count(*) FROM load_batches").fetchone()[0]
    assert batches == 2


def test_status_only_change_does_not_dirty_days(warehouse, settings, tmp_path, refunds_csv):
    import_file(warehouse, settings, refunds_csv)
    warehouse.execute("DELETE FROM dirty_days")
    newer = write_csv(
        tmp_path / "r2.csv",
        REFUND_HEADER,
        [["R2", "O2", "L3", "S1", "refund_only", "质量问题", "completed", "2026-08-04 08:00:00", "2026-08-05 09:00:00", "50", 1, "浙江省", ""]],
    )  # fmt: skip

    import_file(warehouse, settings, newer)

    assert warehouse.execute("SELECT count(*) FROM dirty_days").fetchone()[0] == 0


def test_quarantine_accounting_and_reasons(warehouse, settings, tmp_path):
    good = [
        "O1",
        "L1",
        "S1",
        "衬衫",
        1,
        "10",
        "2026-08-01 10:00:00",
        "广东省",
        "广州市",
        "圆通速递",
        "c1",
    ]
    rows = [
        good,
        good,  # exact duplicate: skipped, counted
        ["O2", "L2", "S1", "衬衫", -1, "10", "2026-08-01 10:00:00", "广东省", "", "", ""],  # row 4
        ["O3", "L3", "6.9E+18", "衬衫", 1, "-5", "2026-02-30 10:00:00", "", "", "", ""],  # row 5
        ["O4", "L4", "", "衬衫", "1.5", "abc", "", "", "", "", ""],  # row 6
        ["O5", "L5", "S1", "衬衫", 1, "10", "2026/8/2 9:05", "", "", "", ""],  # accepted format
        ["O6", "L6", "S1", "a", 1, "10", "2026-08-02 10:00:00", "", "", "", ""],  # same line id,
        ["O7", "L6", "S2", "b", 1, "10", "2026-08-02 10:00:00", "", "", "", ""],  # different rows
    ]
    path = write_csv(tmp_path / "messy.csv", ORDER_HEADER, rows)

    result = import_file(warehouse, settings, path)

    assert result.rows_read == 8
    assert result.rows_duplicate == 1
    assert result.rows_quarantined == 5
    assert result.rows_loaded == 2
    assert result.rows_read == result.rows_loaded + result.rows_quarantined + result.rows_duplicate
    q = {
        r[0]: r[1:]
        for r in warehouse.execute(
            "SELECT source_row, rule, column_name, reason, file_name FROM quarantine ORDER BY source_row"
        ).fetchall()
    }
    assert sorted(q) == [4, 5, 6, 8, 9]
    assert q[4][:2] == ("quantity_at_least_1", "quantity")
    assert "value: -1" in q[4][2]
    assert q[5][:2] == ("sku_id_not_rounded", "sku_id")
    assert "paid_at is not a time" in q[5][2] and "amount is negative" in q[5][2]
    assert q[6][0] == "sku_id_present"
    assert "quantity is not a whole number" in q[6][2] and "paid_at is missing" in q[6][2]
    assert q[8][0] == q[9][0] == "line_id_unique"
    assert all(v[3] == "messy.csv" for v in q.values())
    loaded = warehouse.execute("SELECT line_id, paid_at FROM order_lines ORDER BY 1").fetchall()
    assert loaded == [("L1", dt.datetime(2026, 8, 1, 10, 0)), ("L5", dt.datetime(2026, 8, 2, 9, 5))]
    batch = warehouse.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate, validation_success "
        "FROM load_batches"
    ).fetchone()
    assert batch == (8, 2, 5, 1, False)


def test_unknown_header_is_refused_and_changes_nothing(warehouse, settings, tmp_path, orders_csv):
    import_file(warehouse, settings, orders_csv)
    snapshot = table_snapshot(warehouse)
    path = write_csv(tmp_path / "inventory.csv", ["sku", "stock"], [["S1", 3]])

    result = import_file(warehouse, settings, path)

    assert result.status == "refused"
    assert "inventory.csv" in result.line()
    assert "matches no known export format" in result.message
    assert table_snapshot(warehouse) == snapshot


def test_missing_required_column_is_named(warehouse, settings, tmp_path):
    header = [h for h in ORDER_HEADER if h != "sku_id"]
    path = write_csv(
        tmp_path / "no-sku.csv",
        header,
        [["O1", "L1", "x", 1, "1", "2026-08-01 00:00:00", "", "", "", ""]],
    )

    result = import_file(warehouse, settings, path)

    assert result.status == "refused"
    assert "sku_id" in result.message
    assert "no-sku.csv" in result.line()
    assert warehouse.execute("SELECT count(*) FROM load_batches").fetchone()[0] == 0


def test_ragged_csv_is_refused_naming_the_line(warehouse, settings, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(",".join(ORDER_HEADER) + "\nO1,L1,S1,x,1,1,2026-08-01 00:00:00,,,,\nO2,L2\n")

    result = import_file(warehouse, settings, path)

    assert result.status == "refused"
    assert "Line: 3" in result.message
    assert warehouse.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 0


def test_multiline_quoted_field_keeps_spreadsheet_row_numbers(warehouse, settings, tmp_path):
    rows = [
        ["O1", "L1", "S1", "line one\nline two", 1, "1", "2026-08-01 00:00:00", "", "", "", ""],
        ["O2", "L2", "S1", "x", 0, "1", "2026-08-01 00:00:00", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "multiline.csv", ORDER_HEADER, rows)

    import_file(warehouse, settings, path)

    assert warehouse.execute("SELECT source_row FROM quarantine").fetchall() == [(3,)]


def test_shop_id_column_wins_over_the_configured_shop(warehouse, settings, tmp_path):
    path = write_csv(
        tmp_path / "two-shops.csv",
        ["shop_id", *ORDER_HEADER],
        [
            ["A", "O1", "L1", "S1", "x", 1, "1", "2026-08-01 00:00:00", "", "", "", ""],
            ["", "O2", "L2", "S1", "x", 1, "1", "2026-08-01 00:00:00", "", "", "", ""],
        ],
    )

    import_file(warehouse, settings, path)

    shops = warehouse.execute("SELECT line_id, shop_id FROM order_lines ORDER BY 1").fetchall()
    assert shops == [("L1", "A"), ("L2", "test-shop")]


def test_refund_enums_are_checked(warehouse, settings, tmp_path):
    path = write_csv(
        tmp_path / "refunds-bad.csv",
        REFUND_HEADER,
        [
            [
                "R1",
                "O1",
                "",
                "S1",
                "chargeback",
                "",
                "lost",
                "2026-08-01 00:00:00",
                "",
                "1",
                1,
                "",
                "",
            ]
        ],
    )

    import_file(warehouse, settings, path)

    reason = warehouse.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert "refund_type is not one of" in reason and "chargeback" in reason
    assert "status is not one of" in reason and "lost" in reason


def test_checksum_skip_is_by_content_not_name(warehouse, settings, tmp_path, orders_csv):
    import_file(warehouse, settings, orders_csv)
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(Path(orders_csv).read_bytes())

    assert import_file(warehouse, settings, copy).status == "skipped"


def test_columns_a_format_lacks_keep_their_earlier_values(
    warehouse, settings, tmp_path, refunds_csv
):
    import_file(warehouse, settings, refunds_csv)
    # a later source without reason/completed_at/quantity columns (an API, another export)
    header = ["refund_id", "order_id", "line_id", "sku_id", "refund_type", "status", "requested_at"]
    later = write_csv(
        tmp_path / "narrow.csv",
        header,
        [["R1", "O1", "L1", "S1", "return_refund", "closed", "2026-08-03 12:00:00"]],
    )

    import_file(warehouse, settings, later)

    row = warehouse.execute(
        "SELECT status, reason, completed_at, refund_amount, quantity FROM refund_records "
        "WHERE refund_id = 'R1'"
    ).fetchone()
    assert row == ("closed", "尺码不合适", dt.datetime(2026, 8, 6, 12, 0), Decimal("99.50"), 1)


def test_refund_without_line_takes_its_orders_region(warehouse, settings, tmp_path, orders_csv):
    import_file(warehouse, settings, orders_csv)
    path = write_csv(
        tmp_path / "no-line.csv",
        REFUND_HEADER,
        [
            ["R9", "O2", "", "S1", "return_refund", "", "", "2026-08-04 08:00:00", "", "1", 1, "", ""],
            ["R8", "O404", "", "S1", "return_refund", "", "", "2026-08-04 08:00:00", "", "1", 1, "", ""],
        ],
    )  # fmt: skip

    import_file(warehouse, settings, path)

    rows = warehouse.execute(
        "SELECT refund_id, province, province_source, carrier FROM refunds ORDER BY 1"
    ).fetchall()
    assert rows == [("R8", "unknown", "unknown", None), ("R9", "浙江省", "order", "中通快递")]
