"""Running the rates: recompute `daily_return_rates`, `return_lags` and `buyer_returns`
where inputs changed.

The SQL and the day arithmetic are in `transforms.rates` (pure); this module opens nothing
itself but executes those statements on the connection it is handed, inside a transaction,
and consumes `dirty_days`. Every entry point widens the changed days by
`feed_days(settings)` (the days whose baselines they feed) before recomputing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import duckdb

from returnwatch.settings import Settings
from returnwatch.transforms.rates import (
    LINE_LOOKBACK_DAYS,
    RETURN_TYPES,
    STORED_LAG_DAYS,
    clusters,
    daily_rates_sql,
    date_range,
    feed_days,
    rates_params,
    reach_days,
    read_sql,
    widen_days,
)

# Per request day, from the same staged returns as the rates, and replaced with them: the
# detector's lag counts (migration 0008) and the serial-returner tracking's returns per
# buyer (migration 0020). Current wherever the rates are.
KEPT_WITH_RATES = ("return_lags", "buyer_returns")

__all__ = [
    "KEPT_WITH_RATES",
    "RETURN_TYPES",
    "STORED_LAG_DAYS",
    "affected_days",
    "clusters",
    "consume_dirty_days",
    "date_range",
    "feed_days",
    "last_day",
    "reach_days",
    "recompute_rates",
    "refresh_dirty",
    "refresh_rates",
    "resolve_returns",
    "shop_ids",
    "staged_returns",
    "transaction",
]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK and re-raise."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def shop_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every shop with order lines or refunds in the warehouse."""
    rows = con.execute(
        "SELECT shop_id FROM order_lines UNION SELECT shop_id FROM refund_records ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def last_day(con: duckdb.DuckDBPyConnection, shop_id: str) -> date | None:
    """The latest day with order lines, refunds or rates for the shop."""
    row = con.execute(
        """
        SELECT max(day) FROM (
            SELECT max(paid_at)::date AS day FROM order_lines WHERE shop_id = $shop_id
            UNION ALL
            SELECT max(requested_at)::date FROM refund_records WHERE shop_id = $shop_id
            UNION ALL
            SELECT max(day) FROM daily_return_rates WHERE shop_id = $shop_id
        )
        """,
        {"shop_id": shop_id},
    ).fetchone()
    return row[0] if row else None


def affected_days(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    changed: Iterable[date],
) -> list[date]:
    """The changed days and every day whose baselines they feed, up to the shop's last day."""
    changed = set(changed)
    if not changed:
        return []
    return widen_days(changed, last_day(con, shop_id), feed_days(settings))


_FALLBACKS_NEEDED = """
    SELECT
        count(*) FILTER (WHERE line_id IS NOT NULL AND NOT line_found),
        count(*) FILTER (WHERE own_province IS NULL AND line_province IS NULL)
    FROM _rw_returns
"""


def resolve_returns(
    con: duckdb.DuckDBPyConnection, shop_id: str, first_day: date, last_day: date
) -> None:
    """Fill the temp table `_rw_returns`: the shop's returns requested first_day ..
    last_day, with what their region is resolved from (`sql/scoped_returns.sql`).

    The `refunds` view joins every refund to every order line of the shop on each read, so
    its cost grows with the history. Here a refund's order line is looked for among the
    lines paid from `LINE_LOOKBACK_DAYS` before first_day (older row groups are skipped);
    the whole table is read only for the refunds whose line is not there, and for the
    order's region (which needs all the order's lines) only when a refund has no other.
    A night whose refunds all name a recent line with a province never scans the history.
    """
    paid_from = datetime.combine(first_day - timedelta(days=LINE_LOOKBACK_DAYS), time.min)
    paid_to = datetime.combine(last_day + timedelta(days=1), time.min)
    con.execute(
        read_sql("scoped_returns"),
        {
            "shop_id": shop_id,
            "first_day": first_day,
            "last_day": last_day,
            "paid_from": paid_from,
            "paid_to": paid_to,
        },
    )
    lines_missing, _ = _fallbacks_needed(con)
    if lines_missing:
        con.execute(read_sql("returns_line_fallback"), {"shop_id": shop_id})
    _, regions_missing = _fallbacks_needed(con)
    if regions_missing:
        con.execute(read_sql("returns_order_fallback"), {"shop_id": shop_id})


def _fallbacks_needed(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(staged returns whose line is still to be looked for in the whole table, staged
    returns that need their order's region)."""
    row = con.execute(_FALLBACKS_NEEDED).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


@contextmanager
def staged_returns(
    con: duckdb.DuckDBPyConnection, shop_id: str, first_day: date, last_day: date
) -> Iterator[str]:
    """`resolve_returns` for the block, then drop `_rw_returns`; yields the table's name."""
    resolve_returns(con, shop_id, first_day, last_day)
    try:
        yield "_rw_returns"
    finally:
        con.execute("DROP TABLE IF EXISTS _rw_returns")


def recompute_rates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: list[date],
    *,
    stored_history: bool = False,
) -> None:
    """Replace the rows of exactly these days (no widening), inside the caller's transaction:
    their `daily_return_rates` and the tables kept with them (KEPT_WITH_RATES).

    `stored_history`: a cluster of a few days takes its baselines' window from the stored
    rows (`daily_rates_sql`), read after the earlier clusters were replaced. Only for a
    caller that knows the stored rows are current: every changed day was widened into
    `days` (`affected_days`) and they were computed under today's `rates_fingerprint`.
    """
    window = settings.detection.window_days
    for group in clusters(days, window):
        sql = daily_rates_sql(settings, len(group), stored_history=stored_history)
        params = rates_params(settings, shop_id, group, stored_history=stored_history)
        con.execute(
            "DELETE FROM daily_return_rates WHERE shop_id = $shop_id AND day IN "
            "(SELECT unnest($days::DATE[]))",
            {"shop_id": shop_id, "days": group},
        )
        for table in KEPT_WITH_RATES:
            con.execute(
                f"DELETE FROM {table} WHERE shop_id = $shop_id AND day IN "
                "(SELECT unnest($days::DATE[]))",
                {"shop_id": shop_id, "days": group},
            )
        with staged_returns(con, shop_id, params["first_day"], group[-1]):
            # In day order (a GROUP BY's output is not): the file keeps rows in insertion
            # order, so each row group then holds a few days, and the nightly statements,
            # which read a few weeks, skip the others by their day range (migration 0021).
            con.execute(
                f"INSERT INTO daily_return_rates BY NAME SELECT * FROM ({sql}) ORDER BY ALL",
                params,
            )
            con.execute(
                f"INSERT INTO return_lags BY NAME {read_sql('return_lags')}",
                {"shop_id": shop_id, "days": group, "max_lag": STORED_LAG_DAYS},
            )
            con.execute(
                f"INSERT INTO buyer_returns BY NAME SELECT * FROM ({read_sql('buyer_returns')}) "
                "ORDER BY ALL",
                {"shop_id": shop_id, "days": group},
            )


def refresh_rates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: Iterable[date] | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    stored_history: bool = False,
) -> list[date]:
    """Recompute `daily_return_rates` for the given days and/or the start–end range, and
    for the days whose baselines they feed; returns the days recomputed (sorted).

    Idempotent: the days' rows are replaced in one transaction.
    """
    changed = set(days or ())
    if start is not None or end is not None:
        if start is None or end is None:
            raise ValueError("start and end go together")
        changed.update(date_range(start, end))
    targets = affected_days(con, settings, shop_id, changed)
    if targets:
        with transaction(con):
            recompute_rates(con, settings, shop_id, targets, stored_history=stored_history)
    return targets


def consume_dirty_days(con: duckdb.DuckDBPyConnection, shop_id: str) -> list[date]:
    """Read and delete the shop's dirty days, inside the caller's transaction.

    Rows a concurrent load commits after this transaction began are invisible to it, so
    they are neither read nor deleted: the next run picks them up.
    """
    rows = con.execute(
        "SELECT DISTINCT day FROM dirty_days WHERE shop_id = $shop_id ORDER BY day",
        {"shop_id": shop_id},
    ).fetchall()
    dirty = [row[0] for row in rows]
    if dirty:
        con.execute(
            "DELETE FROM dirty_days WHERE shop_id = $shop_id AND day IN "
            "(SELECT unnest($days::DATE[]))",
            {"shop_id": shop_id, "days": dirty},
        )
    return dirty


def refresh_dirty(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    *,
    stored_history: bool = False,
) -> list[date]:
    """Recompute the rates the shop's last loads changed, and consume its dirty days.

    Returns the days recomputed: the dirty days and the days whose baselines they feed
    (the list to hand to `detection.detect_days`). Rates and the consumed dirty_days rows
    commit together. `detection.detect_dirty` does this and the detection in one
    transaction.
    """
    with transaction(con):
        dirty = consume_dirty_days(con, shop_id)
        targets = affected_days(con, settings, shop_id, dirty)
        if targets:
            recompute_rates(con, settings, shop_id, targets, stored_history=stored_history)
    return targets
