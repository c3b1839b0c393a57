"""Versioned schema migrations: numbered SQL files applied in order, each exactly once.

A migration and its record in `schema_migrations` commit together, so a crash between
two migrations leaves a schema that is a whole number of versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")

# A migration may name a text column's compression (`USING COMPRESSION fsst`): methods of
# the v1.2.0 storage format every warehouse file is written in (see
# `connection.STORAGE_COMPATIBILITY`). Newer formats refuse those names and choose well
# on their own, so a database in another format (in-memory, or a file created outside
# `connect`) gets the migration without them.
_COMPRESSION_HINT = re.compile(r"\s+USING\s+COMPRESSION\s+\w+", re.IGNORECASE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, oldest first."""
    found = []
    for entry in resources.files("returnwatch.warehouse.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply every migration not yet recorded, in version order; returns those applied.

    Missing versions are applied even below the newest recorded one, so migrations
    developed side by side on branches land whatever order they merge in.
    """
    applied = []
    done = applied_versions(con)
    pending = [m for m in available_migrations() if m.version not in done]
    storage = storage_version(con) if pending else None
    for migration in pending:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_for_storage(migration.sql, storage))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration)
    return applied


def storage_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The storage format of the connection's database file ("v1.2.0+"); None in memory."""
    row = con.execute(
        "SELECT tags['storage_version'] FROM duckdb_databases() "
        "WHERE database_name = current_database()"
    ).fetchall()
    return row[0][0] if row else None


def _for_storage(sql: str, storage_version: str | None) -> str:
    """The migration as the database's storage format takes it (see `_COMPRESSION_HINT`)."""
    if storage_version is not None and storage_version.startswith("v1."):
        return sql
    return _COMPRESSION_HINT.sub("", sql)
