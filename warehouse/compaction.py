"""Giving back the space a migration's table rebuild leaves in the working file.

DuckDB reuses the blocks a dropped table frees but never shrinks its file. A migration
that rebuilds a big table (0009 rebuilds `order_lines` and `refund_records`) therefore
leaves the file about twice its size, and publishing copies it: the working, published
and standby files would all stay doubled until new data filled them. So after
migrations, a file that is mostly free space is rewritten without it (`COPY FROM
DATABASE` into a fresh file in the same storage format), once.

The fresh file is renamed over the working file while this process still holds the old
one (checkpointed, nothing left in its WAL); a writer that opens the path from then on
gets the compacted file, whole, and the old file is closed without being written again.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import duckdb

from returnwatch.sql import lit, q
from returnwatch.warehouse.disk import fsync_dir

log = logging.getLogger(__name__)

# Rewriting costs about what the rebuild did (5 s per 10M order lines); a file under this
# size, or less sparse than this, is not worth it.
MIN_FILE_BYTES = 64 * 1024 * 1024
MIN_FREE_SHARE = 1 / 3


def is_sparse(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the database's file is at least `MIN_FILE_BYTES` and at least
    `MIN_FREE_SHARE` of it is free blocks."""
    con.execute("CHECKPOINT")  # frees the blocks of tables dropped since the last one
    row = con.execute(
        "SELECT block_size, total_blocks, free_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchall()
    if not row:
        return False
    block_size, total, free = (int(v) for v in row[0])
    return total * block_size >= MIN_FILE_BYTES and free >= total * MIN_FREE_SHARE


def compact(con: duckdb.DuckDBPyConnection, path: Path, storage_version: str) -> bool:
    """Rewrite the database `con` holds at `path` without its free blocks; True when done,
    and then `con` is closed (the caller reconnects). On failure the file is left as it
    was, `con` stays open and the warehouse simply keeps its free space."""
    path = Path(path)
    fresh = path.with_name(f".{path.name}.compacting")
    name = con.execute("SELECT current_database()").fetchall()[0][0]
    before = path.stat().st_size
    try:
        fresh.unlink(missing_ok=True)  # left by a run that died half-way
        con.execute("CHECKPOINT")
        con.execute(f"ATTACH {lit(fresh)} AS rw_compacted (STORAGE_VERSION {lit(storage_version)})")
        try:
            con.execute(f"COPY FROM DATABASE {q(name)} TO rw_compacted")
        finally:
            con.execute("DETACH rw_compacted")  # checkpoints and syncs the fresh file
        fresh.replace(path)
    except (duckdb.Error, OSError) as exc:
        with contextlib.suppress(OSError):
            fresh.unlink(missing_ok=True)
        log.warning("could not compact %s, it keeps its free space: %s", path, exc)
        return False
    fsync_dir(path.parent)
    con.close()
    log.info("compacted %s: %.0f MB -> %.0f MB", path, before / 1e6, path.stat().st_size / 1e6)
    return True
