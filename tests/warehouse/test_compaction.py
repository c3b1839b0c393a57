"""Compaction: a migration's table rebuild does not leave the warehouse file doubled."""

from __future__ import annotations

import pytest

from returnwatch.warehouse import compaction
from returnwatch.warehouse.connection import STORAGE_COMPATIBILITY, connect
from returnwatch.warehouse.disk import working_path
from returnwatch.warehouse.migrate import storage_version

pytestmark = pytest.mark.slow  # warehouse files rebuilt and compacted


def _fill(con, lines: int) -> None:
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, province,"
        " customer_id, source_format, load_batch_id, loaded_at)"
        " SELECT 's', 'O' || i // 3, 'L' || i, 'S' || i % 500,"
        "        TIMESTAMP '2026-01-01' + INTERVAL (i % 90) DAY,"
        "        ['广东省', '浙江省', '四川省'][i % 3 + 1], md5(i::VARCHAR)[:16], 'x', 1, now()"
        " FROM range(?) AS r(i)",
        [lines],
    )
    con.execute(
        "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, refund_type,"
        " requested_at, source_format, load_batch_id, loaded_at)"
        " SELECT 's', 'R' || i, 'O' || i // 3, 'L' || i, 'S' || i % 500, 'return_refund',"
        "        TIMESTAMP '2026-01-05' + INTERVAL (i % 90) DAY, 'x', 1, now()"
        " FROM range(0, ?, 10) AS r(i)",
        [lines],
    )
    con.execute("SELECT nextval('load_batch_id_seq')").fetchall()


def _snapshot(con) -> dict[str, object]:
    return {
        "lines": con.execute("SELECT count(*), sum(hash(line_id)) FROM order_lines").fetchall(),
        "refunds": con.execute(
            "SELECT count(*), count(*) FILTER (WHERE province = '广东省') FROM refunds"
        ).fetchall(),
        "migrations": con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall(),
    }


@pytest.fixture
def rebuilt_warehouse(settings):
    """A warehouse with rows whose next connect re-runs the rebuild of migration 0009 (and
    0015, which adds columns to the tables 0009 rebuilds)."""
    con = connect(settings)
    _fill(con, 400_000)
    before = _snapshot(con)
    # the schema 0009 met: without the columns 0015 adds (re-applied after it)
    con.execute("ALTER TABLE order_lines DROP COLUMN product_id")
    con.execute("ALTER TABLE order_lines DROP COLUMN category")
    con.execute("ALTER TABLE refund_records DROP COLUMN product_id")
    con.execute("DELETE FROM schema_migrations WHERE version IN (9, 15)")
    con.close()
    return working_path(settings), before


def test_a_connect_that_rebuilt_tables_leaves_the_file_compacted(
    settings, rebuilt_warehouse, monkeypatch
):
    path, before = rebuilt_warehouse
    dense = path.stat().st_size
    monkeypatch.setattr(compaction, "MIN_FILE_BYTES", 0)

    con = connect(settings)  # applies 0009 again: both tables rebuilt, then compacted

    assert _snapshot(con) == before
    assert path.stat().st_size <= dense * 1.1
    assert not (path.parent / f".{path.name}.compacting").exists()
    # what DuckDB keeps beside the rows comes through: sequences, hints, storage format
    assert con.execute("SELECT nextval('load_batch_id_seq')").fetchall() == [(2,)]
    ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'order_lines'")
    assert "line_id VARCHAR USING COMPRESSION FSST" in ddl.fetchall()[0][0]
    assert storage_version(con).startswith("v1.2")
    con.close()


def test_without_compaction_the_rebuild_leaves_the_file_doubled(settings, rebuilt_warehouse):
    """The case compaction exists for (the file is under MIN_FILE_BYTES, so it is kept)."""
    path, before = rebuilt_warehouse
    dense = path.stat().st_size

    con = connect(settings)

    assert _snapshot(con) == before
    assert compaction.is_sparse(con) is False  # too small to be worth it
    assert path.stat().st_size > dense * 1.5
    con.close()


def test_a_dense_file_is_not_sparse(warehouse, monkeypatch):
    monkeypatch.setattr(compaction, "MIN_FILE_BYTES", 0)
    _fill(warehouse, 100_000)
    assert compaction.is_sparse(warehouse) is False


def test_a_failed_compaction_leaves_the_file_and_connection_as_they_were(settings, tmp_path):
    con = connect(settings)
    _fill(con, 10_000)
    path = working_path(settings)
    (path.parent / f".{path.name}.compacting").mkdir()  # where the fresh file must go
    size = path.stat().st_size

    assert compaction.compact(con, path, STORAGE_COMPATIBILITY) is False

    assert path.stat().st_size == size
    assert con.execute("SELECT count(*) FROM order_lines").fetchall() == [(10_000,)]
    con.close()
