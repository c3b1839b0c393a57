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
