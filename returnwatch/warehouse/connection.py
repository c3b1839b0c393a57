"""Opening the warehouse: one place that sets memory limits and brings the schema up to date."""

from __future__ import annotations

from pathlib import Path

import duckdb

from returnwatch.settings import Settings
from returnwatch.warehouse.migrate import migrate


def connect(settings: Settings, *, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the warehouse, migrated to the newest schema.

    The memory limit keeps a big import from swapping an analyst's laptop: DuckDB spills
    to its temp directory instead of growing.
    """
    db_path = Path(path or settings.db)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": settings.memory_limit}
    if settings.threads:
        config["threads"] = settings.threads
    con = duckdb.connect(str(db_path), config=config)
    migrate(con)
    return con


def connect_memory(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the full schema, for fast pure tests."""
    con = duckdb.connect(":memory:")
    migrate(con)
    return con
