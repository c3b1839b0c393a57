"""The direct load (ids unique: rows checked in one pass, loaded straight from the file)
against the grouped one (every row staged), and what the direct load relies on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from returnwatch.sources import ingest
from returnwatch.sources.ingest import import_file
from returnwatch.warehouse.connection import connect

from ..exports import ORDER_HEADER, REFUND_HEADER, table_snapshot, write_csv

pytestmark = pytest.mark.slow  # warehouse files

# Messy, but every id once: the direct path takes it.
MESSY_ORDERS = [
    ["O1", "L1", "S1", "a", 1, "10", "2026-08-01 10:00:00", "广东省", "", "", "c1"],
    ["O2", "L2", "S1", "a", -1, "10", "2026-08-01 10:00:00", "", "", "", "13812345678"],
    ["O3", "L3", "6.9E+18", "a", 0, "-5", "2026-02-30 10:00:00", "", "", "", ""],
    ["", "L4", "", "a", "1.5", "abc", "", "", "", "", ""],
    ["O5", " L5", "S1", "a", "2.0", "¥1,234.50", "2026/8/2 9:05", " 浙江省 ", "", "", "c1"],
    ["O6", "\tL6", "S1", "a", 1, "10", "2026-08-02", "", "", "", "+86 138-1234-5678"],
    ["O7", '="L7"', "S2", "b", 1, "10", "2026-13-02 10:00:00", "", "", "", ""],
    ["O8", "\t6.91234E+18", "S3", "c", "x", "", "yesterday", "", "", "", ""],
    ["O9", "L9", "S3", "line\nbreak", "3", "1e5", "2026-08-03T08:00:00Z", "", "", "", "c9"],
]
MESSY_REFUNDS = [
    ["R1", "O1", "L1", "S1", "return_refund", "", "completed", "2026-08-03 12:00:00", "2026-08-06 12:00:00", "1", 1, "", ""],
    ["R2", "O1", "", "S1", "chargeback", "", "lost", "2026-08-03 12:00:00", "soon", "-1", 0, "", ""],
    ["R3", "O2", "", "S1", "refund_only", "call 13812345678", "", "2026-08-03", "", "", "", "", ""],
    ["R4", "", "1E+5", "", "", "", "closed", "", "", "abc", "1.2", "", ""],
]  # fmt: skip
_PER_LOAD = {"load_batch_id", "loaded_at", "started_at", "duration_seconds", "file_path",
             "quarantined_at", "marked_at"}  # fmt: skip


def _comparable(con) -> dict[str, list]:
    """Every table, without the columns that differ between any two loads."""
    snapshot = {}
    for table in set(table_snapshot(con)) - {"schema_migrations"}:
        columns = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table],
            ).fetchall()
            if r[0] not in _PER_LOAD
        ]
        if "validation_result" in columns:
            columns.remove("validation_result")
        select = ", ".join(f'"{c}"' for c in columns)
        snapshot[table] = sorted(
            map(repr, con.execute(f'SELECT {select} FROM "{table}"').fetchall())
        )
    results = con.execute("SELECT validation_result FROM load_batches ORDER BY kind").fetchall()
    snapshot["validation"] = [json.loads(r[0])["results"] for r in results]
    return snapshot


def _load(settings, tmp_path: Path, name: str, monkeypatch=None) -> dict[str, list]:
    folder = tmp_path / name
    folder.mkdir()
    orders = write_csv(folder / "orders.csv", ORDER_HEADER, MESSY_ORDERS)
    refunds = write_csv(folder / "refunds.csv", REFUND_HEADER, MESSY_REFUNDS)
    con = connect(settings.model_copy(update={"db": folder / "w.duckdb"}))
    results = [import_file(con, settings, p) for p in (orders, refunds)]
    assert [r.status for r in results] == ["loaded", "loaded"]
    snapshot = _comparable(con)
    con.close()
    return snapshot


def test_direct_and_grouped_loads_write_the_same_warehouse(settings, tmp_path, monkeypatch):
    calls = []
    real = ingest.stage_direct

    def spy(*args, **kwargs):
        staged = real(*args, **kwargs)
        calls.append(staged is not None)
        return staged

    monkeypatch.setattr(ingest, "stage_direct", spy)
    direct = _load(settings, tmp_path, "direct")
    assert calls == [True, True]  # both files really took the direct path
    monkeypatch.setattr(ingest, "stage_direct", lambda *args, **kwargs: None)
    grouped = _load(settings, tmp_path, "grouped")

    assert direct == grouped
    assert (len(direct["quarantine"]), len(direct["order_lines"])) == (8, 3)


def test_quarantined_rows_are_numbered_as_the_spreadsheet_shows_them(warehouse, settings, tmp_path):
    """Across many read buffers and threads, with quoted line breaks on the way."""
    path = tmp_path / "big.csv"
    bad = set(range(2, 300_002, 9_973)) | {300_001}
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(ORDER_HEADER)
        for row in range(2, 300_002):
            name = "two\nlines" if row % 7_919 == 0 else f"product {row % 97}"
            quantity = -1 if row in bad else 1
            out.writerow(
                [f"O{row}", f"L{row}", f"S{row % 500}", name, quantity, "9.90",
                 "2026-08-01 10:00:00", "广东省", "", "", f"c{row % 3000}"]
            )  # fmt: skip

    result = import_file(warehouse, settings, path)

    assert (result.rows_read, result.rows_quarantined) == (300_000, len(bad))
    rows = warehouse.execute("SELECT source_row, raw_row FROM quarantine ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == sorted(bad)
    assert all(json.loads(raw)["line_id"] == f"L{n}" for n, raw in rows)


def test_gbk_bytes_past_the_sniffed_start_are_read_as_gbk(warehouse, settings, tmp_path):
    path = tmp_path / "late_gbk.csv"
    filler = [f"O{i},L{i},S1,plain,1,10,2026-08-01 10:00:00,,,,c{i}" for i in range(120_000)]
    late = "O-late,L-late,S1,衬衫,1,10,2026-08-01 10:00:00,广东省,广州市,,c"
    text = ",".join(ORDER_HEADER) + "\n" + "\n".join([*filler, late]) + "\n"
    path.write_bytes(text.encode("gb18030"))
    assert path.stat().st_size > 4 * 2**20  # past what Python sniffs

    result = import_file(warehouse, settings, path)

    assert (result.status, result.encoding, result.rows_loaded) == ("loaded", "gb18030", 120_001)
    row = warehouse.execute(
        "SELECT product_name, province FROM order_lines WHERE line_id = 'L-late'"
    ).fetchone()
    assert row == ("衬衫", "广东省")


@pytest.mark.parametrize("reexport", ["same ids", "one id new"])
def test_direct_load_replaces_rows_already_loaded(warehouse, settings, tmp_path, reexport):
    first = write_csv(tmp_path / "a.csv", ORDER_HEADER, MESSY_ORDERS[:2])
    again = [list(MESSY_ORDERS[0]), list(MESSY_ORDERS[1])]
    again[0][7] = "浙江省"
    if reexport == "one id new":
        again[1][1], again[1][4] = "L-new", 1
    second = write_csv(tmp_path / "b.csv", ORDER_HEADER, again)
    import_file(warehouse, settings, first)

    result = import_file(warehouse, settings, second)

    assert (result.rows_inserted, result.rows_updated) == (int(reexport == "one id new"), 1)
    assert warehouse.execute(
        "SELECT province, count(*) OVER () FROM order_lines WHERE line_id = 'L1'"
    ).fetchall() == [("浙江省", 1)]


def test_columns_no_valid_row_needs_cleaned_are_loaded_uncleaned(settings, tmp_path, monkeypatch):
    """The load skips cleaning a column only where no *valid* row needed it: a bad row's
    messy amount does not cost the column its shortcut, a valid row's padded province
    does; and the bad row, its id cleaned, stays out."""
    rows = [
        ["O1", "L1", "S1", "a", 1, "10.50", "2026-08-01 10:00:00", "广东省", "", "", "c1"],
        ["O2", "L2", "S1", "a", 1, "7", "2026-08-01 11:00:00", " 浙江省 ", "", "", "c2"],
        ["O3", "\tL3", "S1", "a", 0, "¥5", "2026-08-01 12:00:00", "", "", "", "c3"],
    ]
    seen = []
    real = ingest.loadable_sql

    def spy(match, source, shop, plain):
        seen.append(plain)
        return real(match, source, shop, plain)

    monkeypatch.setattr(ingest, "loadable_sql", spy)
    con = connect(settings.model_copy(update={"db": tmp_path / "w.duckdb"}))
    result = import_file(con, settings, write_csv(tmp_path / "o.csv", ORDER_HEADER, rows))

    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert {"amount", "paid_at", "sku_id"} <= seen[0] and "province" not in seen[0]
    assert "line_id" not in seen[0]  # the id is how a bad row is left out: always cleaned
    loaded = con.execute(
        "SELECT line_id, amount::VARCHAR, province FROM order_lines ORDER BY 1"
    ).fetchall()
    assert loaded == [("L1", "10.50", "广东省"), ("L2", "7.00", "浙江省")]
    assert con.execute("SELECT raw_row FROM quarantine").fetchone()[0].count("¥5") == 1
