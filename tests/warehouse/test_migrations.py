"""Migrations: applied once each, in order, and a missing lower version is still applied."""

from __future__ import annotations

import duckdb
import pytest

from returnwatch.warehouse.migrate import (
    applied_versions,
    available_migrations,
    migrate,
    storage_version,
)

pytestmark = pytest.mark.slow  # warehouse files


def test_fresh_database_gets_every_migration_once(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))

    first = migrate(con)
    second = migrate(con)

    versions = [m.version for m in available_migrations()]
    assert [m.version for m in first] == versions == sorted(versions)
    assert second == []
    assert applied_versions(con) == set(versions)


def test_a_version_missing_below_the_newest_is_applied(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con)
    newest = max(m.version for m in available_migrations())
    # simulate a warehouse migrated before migration 0001's tables existed in a branch
    con.execute("DROP VIEW refunds")
    con.execute("DROP TABLE order_lines")
    con.execute("DELETE FROM schema_migrations WHERE version = 1")
    for table in ("refund_records", "load_batches", "quarantine", "dirty_days"):
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP SEQUENCE load_batch_id_seq")

    applied = migrate(con)

    assert [m.version for m in applied] == [1]
    assert max(applied_versions(con)) == newest
    assert con.execute("SELECT count(*) FROM order_lines").fetchone() == (0,)


def test_full_length_pseudonyms_are_cut_to_what_new_loads_write(tmp_path, settings):
    """A warehouse from before 0007 holds 64-digit customer ids; a buyer must keep one
    pseudonym across old and new loads."""
    import hashlib
    import hmac

    from returnwatch.transforms.staging import hmac_hex

    key = settings.pii_key()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con)
    con.execute("DELETE FROM schema_migrations WHERE version = 7")
    full = hmac.new(key, b"13812345678", hashlib.sha256).hexdigest()
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, customer_id,"
        " source_format, load_batch_id, loaded_at)"
        " VALUES ('s', 'O1', 'L1', 'S1', now(), ?, 'x', 1, now()), "
        "        ('s', 'O2', 'L2', 'S1', now(), NULL, 'x', 1, now())",
        [full],
    )

    assert [m.version for m in migrate(con)] == [7]
    rows = con.execute("SELECT customer_id FROM order_lines ORDER BY line_id").fetchall()
    assert rows == [(hmac_hex(key, "13812345678"),), (None,)]
    assert len(rows[0][0]) == 16


def _compression(con, table: str, column: str) -> set[str]:
    con.execute("CHECKPOINT")
    rows = con.execute(
        f"SELECT DISTINCT compression FROM pragma_storage_info('{table}') "
        "WHERE column_name = ? AND segment_type = 'VARCHAR'",
        [column],
    ).fetchall()
    return {r[0] for r in rows}


def _add_lines(con, n: int) -> None:
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, province,"
        " source_format, load_batch_id, loaded_at)"
        " SELECT 's', 'O' || i // 3, 'L' || i, 'S' || i % 50, now(),"
        "        ['广东省', '浙江省', '四川省'][i % 3 + 1], 'x', 1, now()"
        " FROM range(?) AS r(i)",
        [n],
    )


def test_warehouse_text_columns_are_written_with_the_named_compression(warehouse):
    """0009: ids in FSST, few-valued columns in a dictionary, without DuckDB trying each."""
    storage = storage_version(warehouse)
    assert storage.startswith("v1.2")
    _add_lines(warehouse, 300_000)

    assert _compression(warehouse, "order_lines", "line_id") == {"FSST"}
    assert _compression(warehouse, "order_lines", "province") == {"Dictionary"}
    ddl = warehouse.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = 'refund_records'"
    ).fetchall()[0][0]
    assert "refund_id VARCHAR USING COMPRESSION FSST" in ddl
    assert "reason_detail VARCHAR," in ddl  # free text: DuckDB's own choice


def test_rebuilding_the_tables_for_compression_keeps_their_rows(warehouse):
    _add_lines(warehouse, 1_000)
    warehouse.execute(
        "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, refund_type,"
        " requested_at, source_format, load_batch_id, loaded_at)"
        " VALUES ('s', 'R1', 'O0', 'L1', 'S1', 'return_refund', now(), 'x', 1, now())"
    )
    # The schema 0009 met: without the columns later migrations (0015) add.
    warehouse.execute("ALTER TABLE order_lines DROP COLUMN product_id")
    warehouse.execute("ALTER TABLE order_lines DROP COLUMN category")
    warehouse.execute("ALTER TABLE refund_records DROP COLUMN product_id")
    before = warehouse.execute("SELECT * FROM order_lines ORDER BY line_id").fetchall()
    columns = [d[0] for d in warehouse.description]
    warehouse.execute("DELETE FROM schema_migrations WHERE version IN (9, 15)")

    assert [m.version for m in migrate(warehouse)] == [9, 15]
    after = warehouse.execute(f"SELECT {', '.join(columns)} FROM order_lines ORDER BY line_id")
    assert after.fetchall() == before
    # the views over the rebuilt tables still resolve
    assert warehouse.execute("SELECT refund_id, province FROM refunds").fetchall() == [
        ("R1", "浙江省")
    ]


def test_a_database_in_a_newer_storage_format_gets_the_migrations_without_hints(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))  # DuckDB 2.0's own format
    migrate(con)
    ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'order_lines'").fetchall()
    assert "COMPRESSION" not in ddl[0][0]
    _add_lines(con, 10)
    assert con.execute("SELECT count(*) FROM order_lines").fetchall() == [(10,)]


def test_top_return_skus_counts_reasons_under_the_order_lines_sku(tmp_path):
    """A 售后 row names its item by 商品ID while the order line has the 商家编码: the
    view's returns (from the rates) and its top reasons land on the same SKU (0019)."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con)
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, quantity, amount, "
        "paid_at, source_format, load_batch_id, loaded_at) VALUES "
        "('s', 'o1', 'l1', 'SKU-RED-M', 1, 10, TIMESTAMP '2026-09-01 10:00', 'x', 0, now())"
    )
    con.execute(
        "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, "
        "refund_type, reason, status, requested_at, source_format, load_batch_id, loaded_at) "
        "VALUES ('s', 'r1', 'o1', 'l1', '3590001', 'return_refund', '尺码不合适', "
        "'completed', TIMESTAMP '2026-09-02 10:00', 'x', 0, now())"
    )
    con.execute(
        "INSERT INTO daily_return_rates (shop_id, day, dimension, key, order_lines, returns, "
        "baseline_days, computed_at) "
        "VALUES ('s', DATE '2026-09-02', 'sku', 'SKU-RED-M', 1, 1, 0, now())"
    )
    rows = con.execute("SELECT sku_id, returns, top_reasons FROM v_top_return_skus").fetchall()
    assert rows == [("SKU-RED-M", 1, ["尺码不合适 1"])]


def _rates_row(shop: str, day: str, key: str) -> list:
    return [shop, day, "sku", key, 10, 1, 0.1, None, 0, None, "2026-01-01 00:00:00"]


def test_migration_0021_puts_the_rates_in_day_order_and_keeps_them(tmp_path):
    """Rates a backfill wrote in a GROUP BY's order (days interleaved): the rewrite keeps
    every row and stores them by shop and day, so a night's scan skips the other days."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    migrate(con)
    rows = [_rates_row(shop, f"2026-03-{d:02d}", key)
            for d in (9, 2, 30, 1, 15) for shop in ("b", "a") for key in ("k2", "k1")]  # fmt: skip
    con.executemany(
        "INSERT INTO daily_return_rates (shop_id, day, dimension, key, order_lines, returns, "
        "return_rate, baseline_rate, baseline_days, lift, computed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    everything = "SELECT * FROM daily_return_rates ORDER BY ALL"
    before = con.execute(everything).fetchall()
    stored = "SELECT shop_id, day, key FROM daily_return_rates ORDER BY rowid"
    assert con.execute(stored).fetchall() != sorted(con.execute(stored).fetchall())
    con.execute("DELETE FROM schema_migrations WHERE version = 21")
    con.close()

    con = duckdb.connect(str(path))
    assert [m.version for m in migrate(con)] == [21]
    assert con.execute(everything).fetchall() == before
    assert con.execute(stored).fetchall() == sorted(con.execute(stored).fetchall())
    con.close()
