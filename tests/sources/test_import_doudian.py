"""抖店 exports in every shape they arrive in, and buyer PII that must never land."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from returnwatch.demo.exports import write_doudian_exports
from returnwatch.demo.shop import generate_shop
from returnwatch.sources.ingest import import_file, import_paths
from returnwatch.warehouse.connection import connect

pytestmark = pytest.mark.slow  # warehouse files, XLSX, a subprocess

COMPARED = {
    "order_lines": "shop_id, order_id, line_id, sku_id, product_name, quantity, unit_price, amount, "
    "paid_at, province, city, carrier, customer_id, order_status",
    "refund_records": "shop_id, refund_id, order_id, line_id, sku_id, refund_type, refund_type_raw, "
    "reason, reason_detail, status, status_raw, requested_at, approved_at, completed_at, "
    "refund_amount, return_carrier, arbitration_status",
}


@pytest.fixture(scope="module")
def shop():
    return generate_shop(
        seed=11, start=dt.date(2026, 7, 1), days=45, n_skus=12, lines_per_day=60, n_random_spikes=1
    )


def none_if_na(value):
    return None if pd.isna(value) else value


def load(settings, tmp_path: Path, shop, name: str, **export) -> tuple:
    files = write_doudian_exports(shop, tmp_path / name, by="all", **export)
    s = settings.model_copy(update={"db": tmp_path / f"{name}.duckdb", "shop_id": "demo-shop"})
    con = connect(s)
    results = import_paths(con, s, files)
    return con, results


def rows(con, table: str) -> list:
    return con.execute(f"SELECT {COMPARED[table]} FROM {table} ORDER BY ALL").fetchall()


def test_bom_csv_with_tabbed_ids_loads_every_row(settings, tmp_path, shop):
    con, results = load(settings, tmp_path, shop, "csv")

    assert [r.status for r in results] == ["loaded", "loaded"]
    assert {r.encoding for r in results} == {"utf-8-sig"}
    orders, refunds = results
    assert orders.profile == "doudian_orders" and refunds.profile == "doudian_refunds"
    assert orders.rows_read == orders.rows_loaded == len(shop.order_lines)
    assert refunds.rows_read == refunds.rows_loaded == len(shop.refunds)
    ids = con.execute(
        "SELECT count(*) FROM order_lines WHERE line_id LIKE '%\t%' OR order_id LIKE '%\t%'"
    ).fetchone()
    assert ids == (0,)
    want = shop.order_lines.set_index("line_id")
    got = con.execute(
        "SELECT line_id, sku_id, carrier, province, quantity FROM order_lines"
    ).fetchall()
    for line_id, sku_id, carrier, province, quantity in got[:200]:
        assert (sku_id, carrier, province, quantity) == (
            want.at[line_id, "sku_id"], none_if_na(want.at[line_id, "carrier"]), want.at[line_id, "province"],
            int(want.at[line_id, "quantity"]),
        )  # fmt: skip
    types = dict(con.execute("SELECT refund_id, refund_type FROM refund_records").fetchall())
    assert types == dict(zip(shop.refunds["refund_id"], shop.refunds["refund_type"], strict=True))
    regions = con.execute("SELECT count(*) FROM refunds WHERE province = 'unknown'").fetchone()
    assert regions == (0,)  # every 售后 row found its order line's province


def test_xlsx_and_gbk_give_the_same_rows_as_csv(settings, tmp_path, shop):
    csv_con, _ = load(settings, tmp_path, shop, "csv")
    xlsx_con, xlsx = load(settings, tmp_path, shop, "xlsx", fmt="xlsx")
    gbk_con, gbk = load(settings, tmp_path, shop, "gbk", encoding="gb18030")

    assert {r.encoding for r in xlsx} == {"xlsx"}
    assert {r.encoding for r in gbk} == {"gb18030"}
    for table in COMPARED:
        expected = rows(csv_con, table)
        assert rows(xlsx_con, table) == expected, table
        assert rows(gbk_con, table) == expected, table


def test_excel_rounded_ids_are_quarantined_not_guessed(settings, tmp_path, shop):
    files = write_doudian_exports(shop, tmp_path / "x", by="all")
    orders = files[0]
    lines = orders.read_text(encoding="utf-8-sig").splitlines()
    first_id = lines[1].split(",")[1]
    lines[1] = lines[1].replace(first_id, "6.94E+18", 1)
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    con = connect(settings)

    result = import_file(con, settings, orders)

    assert result.rows_quarantined == 1
    rule, row = con.execute("SELECT rule, source_row FROM quarantine").fetchone()
    assert (rule, row) == ("line_id_not_rounded", 2)


def planted_pii(shop) -> set[str]:
    values = set()
    for column in ("buyer_name", "buyer_phone", "address", "street"):
        values.update(str(v) for v in shop.order_lines[column].dropna().unique())
    return {v for v in values if len(v) >= 2}


def test_no_buyer_pii_anywhere_in_the_warehouse_or_the_output(settings, tmp_path, shop):
    files = write_doudian_exports(shop, tmp_path / "pii", by="all")
    # a buyer who typed her phone number into the refund note, and a broken row to quarantine
    refunds = files[1]
    text = refunds.read_text(encoding="utf-8-sig").splitlines()
    phone = str(shop.order_lines["buyer_phone"].iloc[0])
    header = text[0].split(",")
    cells = text[1].split(",")
    cells[header.index("用户售后说明")] = f"请联系我{phone}"
    text[1] = ",".join(cells)
    cells = text[2].split(",")
    cells[header.index("售后申请时间")] = "not a time"
    text[2] = ",".join(cells)
    refunds.write_text("\n".join(text) + "\n", encoding="utf-8-sig")
    env = {**os.environ, "RETURNWATCH_DB": str(settings.db), "RETURNWATCH_PII_SECRET": "k"}
    exe = Path(sys.executable).with_name("returnwatch")

    out = subprocess.run(
        [str(exe), "import", str(tmp_path / "pii")], capture_output=True, text=True, env=env
    )

    assert out.returncode == 0, out.stdout + out.stderr
    pii = planted_pii(shop)
    assert len(pii) > 50 and phone in pii
    con = connect(settings)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    tables = [
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    ]
    dump = []
    for table in tables:
        for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
            dump.append("\x1f".join(map(str, row)))
    text = "\n".join(dump) + out.stdout + out.stderr
    leaked = sorted(v for v in pii if v in text)
    assert leaked == []
    assert phone[-8:] not in text  # not even the number without its prefix
    detail = con.execute(
        "SELECT reason_detail FROM refund_records WHERE reason_detail LIKE '请联系我%'"
    ).fetchone()
    assert detail == ("请联系我***********",)
