"""Helpers tests share that are plain functions, not fixtures."""

from __future__ import annotations

import duckdb

from returnwatch.warehouse.migrate import migrate


def connect_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the full schema, for fast pure tests (the product
    always works on a file: `warehouse.connection.connect`)."""
    con = duckdb.connect(":memory:")
    migrate(con)
    return con
