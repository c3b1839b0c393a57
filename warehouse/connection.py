"""Opening the warehouse: one place that sets memory limits and brings the schema up to date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from returnwatch.settings import Settings
from returnwatch.warehouse.compaction import compact, is_sparse
from returnwatch.warehouse.disk import ensure_working
from returnwatch.warehouse.migrate import migrate

# Files DuckDB 2.0 creates in its default format cannot be opened by DuckDB 1.x, which
# analysts' tools (DBeaver drivers, older CLIs, notebooks) often still ship. A warehouse
# created with this setting stays readable by DuckDB >= 1.2.
STORAGE_COMPATIBILITY = "v1.2.0"


def connect(settings: Settings, *, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the warehouse, migrated to the newest schema.

    By default this is the private *working* file (`disk.working_path`): analysts open
    the published file, which only `publish.publish` replaces, so writers never wait on
    them and they never see half a load. The memory limit keeps a big import from swapping
    an analyst's laptop: DuckDB spills to its temp directory instead of growing.
    """
    if path is None:
        path = ensure_working(settings)
    db_path = Path(path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "memory_limit": settings.memory_limit,
        "storage_compatibility_version": STORAGE_COMPATIBILITY,
    }
    if settings.threads:
        config["threads"] = settings.threads
    con = duckdb.connect(str(db_path), config=config)
    if migrate(con) and is_sparse(con) and compact(con, db_path, STORAGE_COMPATIBILITY):
        # A migration rebuilt a big table: the file was rewritten without the freed space.
        con = duckdb.connect(str(db_path), config=config)
    return con


@contextmanager
def joins_as_written(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Hash joins build on the side the SQL puts on the right, for the statements inside.

    DuckDB cannot estimate how many rows a read_csv with explicit columns returns (it
    guesses a few dozen), so it builds the hash table of `file LEFT JOIN hashes` on the
    file: 10M wide rows instead of the 1.25M distinct buyer hashes, 2.5 s of CPU per
    million rows instead of 0.2 s. Statements joining a file to a small table say which
    side is small by writing it on the right.
    """
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before.replace(chr(39), chr(39) * 2)}'")
