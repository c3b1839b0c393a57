"""Incident bookkeeping, run after detection has written a night's anomalies and inside
the same transaction (so incidents, anomalies and the outbox commit together).

The shop's incidents are re-derived from all its anomalies each time
(`transforms/sql/incident_nights.sql`): re-detected history re-draws them, a rerun of a
night writes the same rows, and no state can drift from the anomalies it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from returnwatch.settings import Settings
from returnwatch.transforms.incidents import incident_nights_sql


@dataclass(frozen=True)
class Resolved:
    """An incident whose slice has been quiet for `incident_gap_nights` nights."""

    incident_id: str
    dimension: str
    key: str
    first_day: date
    last_day: date
    nights: int
    peak_extra_returns: float | None


def update_incidents(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    night: date,
    *,
    now: datetime | None = None,
) -> None:
    """Re-derive the shop's incidents, stamp every anomaly row with its incident and
    status, and mark tonight's anomalies of muted slices. The caller owns the transaction.

    `night` is the night being reported: incidents are open or resolved as of the latest
    of it and the shop's last successful night (a rerun of an old night does not reopen
    what a later night resolved).
    """
    alerts = settings.alerts
    params = {
        "shop_id": shop_id,
        "gap_nights": alerts.incident_gap_nights,
        "worse_ratio": alerts.worse_ratio,
    }
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _rw_incident_nights AS {incident_nights_sql()}", params
    )
    try:
        as_of = con.execute(
            "SELECT greatest(?::DATE, coalesce((SELECT max(day) FROM nightly_runs "
            "WHERE shop_id = ? AND status = 'success'), ?::DATE))",
            [night, shop_id, night],
        ).fetchone()[0]
        con.execute("DELETE FROM incidents WHERE shop_id = ?", [shop_id])
        con.execute(
            """
            INSERT INTO incidents
            SELECT
                incident_id, $shop_id, dimension, key, min(day), max(day), count(*)::INTEGER,
                max(extra_returns), arg_max(day, extra_returns),
                CASE WHEN max(day) + $gap_nights::INTEGER <= $as_of::DATE
                     THEN 'resolved' ELSE 'open' END,
                CASE WHEN max(day) + $gap_nights::INTEGER <= $as_of::DATE
                     THEN max(day) + $gap_nights::INTEGER END,
                $now::TIMESTAMP
            FROM _rw_incident_nights
            GROUP BY incident_id, dimension, key
            """,
            {
                "shop_id": shop_id,
                "gap_nights": alerts.incident_gap_nights,
                "as_of": as_of,
                "now": now or datetime.now(),
            },
        )
        con.execute(
            """
            UPDATE anomalies AS a
            SET incident_id = n.incident_id, incident_status = n.incident_status
            FROM _rw_incident_nights AS n
            WHERE a.shop_id = ? AND a.dimension = n.dimension AND a.key = n.key
              AND a.day = n.day
              AND (a.incident_id IS DISTINCT FROM n.incident_id
                   OR a.incident_status IS DISTINCT FROM n.incident_status)
            """,
            [shop_id],
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _rw_incident_nights")
    mark_muted(con, shop_id, night)


def mark_muted(con: duckdb.DuckDBPyConnection, shop_id: str, night: date) -> None:
    """Set `muted` on the night's anomaly rows from the mutes in force that night. Only
    this night's rows: older rows keep saying whether they were muted when reported."""
    con.execute(
        """
        UPDATE anomalies AS a
        SET muted = EXISTS (
            SELECT 1 FROM alert_mutes AS m
            WHERE m.shop_id = a.shop_id AND m.dimension = a.dimension AND m.key = a.key
              AND m.until_day >= a.day AND m.unmuted_at IS NULL
        )
        WHERE a.shop_id = ? AND a.day = ?
        """,
        [shop_id, night],
    )


def resolved_on(con: duckdb.DuckDBPyConnection, shop_id: str, night: date) -> list[Resolved]:
    """Incidents resolved on `night` (quiet for incident_gap_nights nights), listed once:
    only those with a primary anomaly (a region lifted by a SKU resolves with the SKU)
    and whose slice is not muted tonight. Biggest peak first."""
    rows = con.execute(
        """
        SELECT i.incident_id, i.dimension, i.key, i.first_day, i.last_day, i.nights,
               i.peak_extra_returns
        FROM incidents AS i
        WHERE i.shop_id = ? AND i.resolved_day = ?
          AND EXISTS (SELECT 1 FROM anomalies AS a WHERE a.incident_id = i.incident_id
                      AND a.shop_id = i.shop_id AND a.explained_by IS NULL)
          AND NOT EXISTS (SELECT 1 FROM alert_mutes AS m
                          WHERE m.shop_id = i.shop_id AND m.dimension = i.dimension
                            AND m.key = i.key AND m.until_day >= ?::DATE
                            AND m.unmuted_at IS NULL)
        ORDER BY i.peak_extra_returns DESC NULLS LAST, i.dimension, i.key
        """,
        [shop_id, night, night],
    ).fetchall()
    return [Resolved(*row) for row in rows]
