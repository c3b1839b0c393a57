"""Watermarks: how far an API stream is known to be in the warehouse (`source_watermarks`).

A watermark is written only after every load of a pull has committed, in a small
transaction of its own, and never moves backwards: a failed pull leaves it where it was,
so the next pull re-reads the same window (the upsert by id makes that harmless).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from returnwatch.sources.doudian_api.constants import SOURCE

UTC = dt.UTC


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a watermark must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def read_watermark(
    con: duckdb.DuckDBPyConnection, shop_id: str, stream: str, source: str = SOURCE
) -> dt.datetime | None:
    """The stream's watermark (aware, UTC), or None before its first complete pull."""
    row = con.execute(
        "SELECT watermark FROM source_watermarks WHERE shop_id = ? AND source = ? AND stream = ?",
        [shop_id, source, stream],
    ).fetchone()
    return row[0].replace(tzinfo=UTC) if row else None


def advance_watermark(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    stream: str,
    value: dt.datetime,
    source: str = SOURCE,
) -> dt.datetime:
    """Move the watermark forward to `value` (never back); returns the stored watermark."""
    stored = _naive_utc(value)
    now = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            """
            INSERT INTO source_watermarks AS w (shop_id, source, stream, watermark, updated_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (shop_id, source, stream) DO UPDATE SET
                watermark = greatest(w.watermark, excluded.watermark),
                updated_at = CASE WHEN excluded.watermark > w.watermark
                                  THEN excluded.updated_at ELSE w.updated_at END
            """,
            [shop_id, source, stream, stored, now],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result = read_watermark(con, shop_id, stream, source)
    assert result is not None
    return result
