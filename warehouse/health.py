"""Data health: the facts a night's digest must state so that silence can mean "all fine".

Each check reads the warehouse and returns a `Finding` (a code and its details) or
nothing; the wording, in Chinese or English with what to do, is `alerts/i18n.py`'s. The
codes: no_orders, partial_orders, files_refused, quarantine_high, unknown_values,
token_expiring, shop_without_data (docs/alerts.md, "Data health").

"The night's loads" are the loads and inbox files since the shop's last successful run of
an earlier night, so a rerun of a night states the same facts (and sends nothing new),
and catch-up nights state each fact once, on the first of them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from returnwatch.settings import Settings
from returnwatch.warehouse.load import unknown_values_since as load_unknown_values_since

TRAILING_NIGHTS = 7
MAX_NAMED = 5  # files, shops or values named in one finding; the rest are counted


@dataclass(frozen=True)
class Finding:
    code: str
    details: dict[str, Any] = field(default_factory=dict)


def night_health(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    night: date,
    *,
    now: datetime | None = None,
    token: TokenState | None = None,
) -> list[Finding]:
    """Every data-health finding of one shop-night, in a fixed order. `token` is the 抖店
    API token's state, read by the caller from the token file the API source keeps
    (sources/doudian_api/tokens.py sits above this layer)."""
    other_shops = _shop_without_data(con, shop_id)
    if other_shops is not None:
        return [Finding("shop_without_data", {"other_shops": other_shops})]
    since = _last_run_before(con, shop_id, night)
    findings = [
        *_orders(con, settings, shop_id, night),
        *_files_refused(con, shop_id, since),
        *_quarantine(con, settings, shop_id, since),
        *_unknown_values(con, shop_id, since),
        *_token(token, settings, now or datetime.now()),
    ]
    return findings


def _shop_without_data(con: duckdb.DuckDBPyConnection, shop_id: str) -> list[str] | None:
    """The other shops the warehouse holds when this shop has no data at all (a shop_id
    mismatch between config and files), else None."""
    mine = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM order_lines WHERE shop_id = ? LIMIT 1))"
        " + (SELECT count(*) FROM (SELECT 1 FROM refund_records WHERE shop_id = ? LIMIT 1))",
        [shop_id, shop_id],
    ).fetchone()[0]
    if mine:
        return None
    others = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT shop_id FROM order_lines WHERE shop_id <> ? "
            "UNION SELECT DISTINCT shop_id FROM refund_records WHERE shop_id <> ? ORDER BY 1",
            [shop_id, shop_id],
        ).fetchall()
    ]
    return others or None


def _last_run_before(con: duckdb.DuckDBPyConnection, shop_id: str, night: date) -> datetime:
    row = con.execute(
        "SELECT max(finished_at) FROM nightly_runs "
        "WHERE shop_id = ? AND status = 'success' AND day < ?",
        [shop_id, night],
    ).fetchone()
    return row[0] if row and row[0] else datetime(1970, 1, 1)


def _orders(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: date
) -> list[Finding]:
    """no_orders / partial_orders: the night's order lines against the 7 before it."""
    rows = dict(
        con.execute(
            "SELECT day, order_lines FROM daily_return_rates WHERE shop_id = ? "
            "AND dimension = 'shop' AND key = '*' AND day BETWEEN ? AND ?",
            [shop_id, night - timedelta(days=TRAILING_NIGHTS), night],
        ).fetchall()
    )
    tonight = int(rows.get(night) or 0)
    before = [int(rows.get(night - timedelta(days=k)) or 0) for k in range(1, TRAILING_NIGHTS + 1)]
    if not all(before):
        return []  # a shop that does not sell every day: no expectation to miss
    median = statistics.median(before)
    if tonight == 0:
        return [Finding("no_orders", {"order_lines": 0, "trailing_median": median})]
    if tonight < settings.alerts.partial_share * median:
        share = tonight / median
        return [
            Finding(
                "partial_orders",
                {"order_lines": tonight, "trailing_median": median, "share": round(share, 3)},
            )
        ]
    return []


def _files_refused(con: duckdb.DuckDBPyConnection, shop_id: str, since: datetime) -> list[Finding]:
    rows = con.execute(
        "SELECT file_name, coalesce(reason, '') FROM inbox_files WHERE shop_id = ? "
        "AND status = 'refused' AND processed_at > ? ORDER BY processed_at, file_name",
        [shop_id, since],
    ).fetchall()
    if not rows:
        return []
    files = [{"file": name, "why": why} for name, why in rows]
    return [Finding("files_refused", {"files": files, "count": len(files)})]


def _quarantine(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, since: datetime
) -> list[Finding]:
    """quarantine_high: the night's loads quarantined over `quarantine_share` of their rows,
    or over `quarantine_factor` x the shop's share of the 30 days before."""
    read, quarantined, trailing_read, trailing_q = con.execute(
        """
        SELECT
            sum(rows_read) FILTER (WHERE loaded_at > $since),
            sum(rows_quarantined) FILTER (WHERE loaded_at > $since),
            sum(rows_read) FILTER (WHERE loaded_at <= $since
                                   AND loaded_at > $since - INTERVAL 30 DAY),
            sum(rows_quarantined) FILTER (WHERE loaded_at <= $since
                                          AND loaded_at > $since - INTERVAL 30 DAY)
        FROM load_batches WHERE shop_id = $shop_id
        """,
        {"shop_id": shop_id, "since": since},
    ).fetchone()
    if not read or not quarantined:
        return []
    share = quarantined / read
    trailing = (trailing_q or 0) / trailing_read if trailing_read else None
    alerts = settings.alerts
    high = share > alerts.quarantine_share or (
        trailing is not None and trailing > 0 and share > alerts.quarantine_factor * trailing
    )
    if not high:
        return []
    return [
        Finding(
            "quarantine_high",
            {
                "rows_read": int(read),
                "rows_quarantined": int(quarantined),
                "share": round(share, 4),
                "trailing_share": None if trailing is None else round(trailing, 4),
            },
        )
    ]


def unknown_values_since(
    con: duckdb.DuckDBPyConnection, shop_id: str, since: datetime
) -> list[str]:
    """The values the importer did not recognise in the loads since `since`, one readable
    string each ("售后类型 '特殊售后' (12 rows: counted as other)"); [] when there were none.

    Each load writes them to `load_unknown_values` (migration 0010, always there: every
    connection migrates to the newest schema); `warehouse.load.unknown_values_since` reads
    them back.
    """
    return [
        f"{u.column} '{u.value}' ({u.rows:,} rows: {u.outcome()})"
        for _, u in load_unknown_values_since(con, since, shop_id)
    ]


def _unknown_values(con: duckdb.DuckDBPyConnection, shop_id: str, since: datetime):
    values = unknown_values_since(con, shop_id, since)
    if not values:
        return []
    return [Finding("unknown_values", {"values": values[:MAX_NAMED], "count": len(values)})]


@dataclass(frozen=True)
class TokenState:
    expires_at: datetime | None  # when the refresh token ends: no renewal after it
    refresh_error: str | None  # the last refresh's error, if it failed


def _token(state: TokenState | None, settings: Settings, now: datetime):
    if state is None:
        return []
    soon = now + timedelta(days=settings.alerts.token_warning_days)
    if state.refresh_error:
        return [Finding("token_expiring", {"refresh_error": state.refresh_error[:200]})]
    if state.expires_at is not None and state.expires_at <= soon:
        return [Finding("token_expiring", {"expires_at": state.expires_at.isoformat(sep=" ")})]
    return []
