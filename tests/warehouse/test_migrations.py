"""Migrations: applied once each, in order, and a missing lower version is still applied."""

from __future__ import annotations

import duckdb

from returnwatch.warehouse.migrate import applied_versions, available_migrations, migrate


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
