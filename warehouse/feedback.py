"""What ops say back about alerts, stored in the warehouse: mutes ("known, stop") and
annotations (expected / new-normal / confirmed), and the precision they add up to.

Used by `returnwatch alerts mute|unmute|mutes|annotate|stats`. Every row records who
(the OS user, or --by) and why, so a silence can always be explained.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from returnwatch.transforms.incidents import Slice

VERDICTS = ("expected", "new-normal", "confirmed")


def current_user() -> str:
    """Who is typing: the OS login (what `--by` defaults to)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


@dataclass(frozen=True)
class Mute:
    mute_id: int
    shop_id: str
    dimension: str
    key: str
    until_day: date
    reason: str
    created_by: str
    created_at: datetime
    unmuted_at: datetime | None = None

    @property
    def slice(self) -> Slice:
        return Slice(self.dimension, self.key)

    def in_force(self, on: date) -> bool:
        return self.unmuted_at is None and self.until_day >= on


def add_mute(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    slice_: Slice,
    until: date,
    reason: str,
    by: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Mute a slice through `until` (inclusive); returns the mute's id. A slice muted
    again gets the new end and reason (the old mute is ended, kept for the record)."""
    if not reason.strip():
        raise ValueError("a mute needs a --reason: the next person must know why it is quiet")
    now = now or datetime.now()
    by = by or current_user()
    unmute(con, shop_id, slice_, by, now=now)
    row = con.execute(
        "INSERT INTO alert_mutes (shop_id, dimension, key, until_day, reason, created_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING mute_id",
        [shop_id, slice_.dimension, slice_.key, until, reason.strip(), by, now],
    ).fetchone()
    return int(row[0])


def unmute(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    slice_: Slice,
    by: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """End the slice's mutes now; returns how many were in force."""
    rows = con.execute(
        "UPDATE alert_mutes SET unmuted_at = ?, unmuted_by = ? WHERE shop_id = ? "
        "AND dimension = ? AND key = ? AND unmuted_at IS NULL RETURNING mute_id",
        [now or datetime.now(), by or current_user(), shop_id, slice_.dimension, slice_.key],
    ).fetchall()
    return len(rows)


def active_mutes(
    con: duckdb.DuckDBPyConnection,
    on: date,
    shop_id: str | None = None,
    *,
    include_ended: bool = False,
) -> list[Mute]:
    """Mutes in force on night `on` (not ended, `until_day` not passed); with
    `include_ended`, every mute ever typed (the record of who silenced what)."""
    query = (
        "SELECT mute_id, shop_id, dimension, key, until_day, reason, created_by, created_at, "
        "unmuted_at FROM alert_mutes WHERE "
        + ("true" if include_ended else "unmuted_at IS NULL AND until_day >= ?")
    )
    params: list[object] = [] if include_ended else [on]
    if shop_id is not None:
        query += " AND shop_id = ?"
        params.append(shop_id)
    query += " ORDER BY shop_id, until_day, dimension, key"
    return [Mute(*row) for row in con.execute(query, params).fetchall()]


def muted_anomalies(con: duckdb.DuckDBPyConnection, mute: Mute) -> int:
    """Nights the mute kept out of digests so far (anomaly rows marked muted)."""
    return con.execute(
        "SELECT count(DISTINCT day) FROM anomalies WHERE shop_id = ? AND dimension = ? "
        "AND key = ? AND muted AND day <= ?",
        [mute.shop_id, mute.dimension, mute.key, mute.until_day],
    ).fetchone()[0]


def annotate(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    slice_: Slice,
    day: date,
    verdict: str,
    note: str | None = None,
    by: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Record a verdict on a slice-day; the latest verdict of a slice-day counts."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r}: one of {', '.join(VERDICTS)}")
    row = con.execute(
        "INSERT INTO alert_annotations (shop_id, dimension, key, day, verdict, note, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING annotation_id",
        [
            shop_id,
            slice_.dimension,
            slice_.key,
            day,
            verdict,
            note,
            by or current_user(),
            now or datetime.now(),
        ],
    ).fetchone()
    return int(row[0])


@dataclass(frozen=True)
class StatsRow:
    dimension: str
    severity: str
    incidents: int
    confirmed: int
    expected: int  # expected or new-normal: not a problem to act on
    unreviewed: int

    @property
    def precision(self) -> float | None:
        """Confirmed share of the reviewed incidents; None before any review."""
        reviewed = self.confirmed + self.expected
        return self.confirmed / reviewed if reviewed else None


def stats(con: duckdb.DuckDBPyConnection, shop_id: str | None = None) -> list[StatsRow]:
    """Per dimension and severity (the incident's worst): incidents, and how many were
    confirmed vs expected/new-normal by their latest annotation on any of their days."""
    where = "WHERE i.shop_id = ?" if shop_id else ""
    rows = con.execute(
        f"""
        WITH latest AS (
            SELECT * FROM alert_annotations
            QUALIFY row_number() OVER (
                PARTITION BY shop_id, dimension, key, day
                ORDER BY created_at DESC, annotation_id DESC) = 1
        ),
        incident_severity AS (
            SELECT i.incident_id, i.shop_id, i.dimension,
                   max(CASE a.severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END)
                       AS rank
            FROM incidents AS i
            JOIN anomalies AS a ON a.incident_id = i.incident_id AND a.shop_id = i.shop_id
            {where}
            GROUP BY ALL
        ),
        verdicts AS (
            SELECT i.incident_id, arg_max(l.verdict, l.created_at) AS verdict
            FROM incidents AS i
            JOIN latest AS l
              ON l.shop_id = i.shop_id AND l.dimension = i.dimension AND l.key = i.key
             AND l.day BETWEEN i.first_day AND i.last_day
            GROUP BY ALL
        )
        SELECT s.dimension,
               ['info', 'warning', 'critical'][s.rank + 1] AS severity,
               count(*),
               count(*) FILTER (WHERE v.verdict = 'confirmed'),
               count(*) FILTER (WHERE v.verdict IN ('expected', 'new-normal')),
               count(*) FILTER (WHERE v.verdict IS NULL)
        FROM incident_severity AS s
        LEFT JOIN verdicts AS v USING (incident_id)
        GROUP BY s.dimension, s.rank
        ORDER BY s.dimension, s.rank DESC
        """,
        [shop_id] if shop_id else [],
    ).fetchall()
    return [StatsRow(*row) for row in rows]
