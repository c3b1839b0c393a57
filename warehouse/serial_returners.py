"""Serial returners the shop has been told about: find a night's new ones, remember them,
and read back what a night's digest says (issue 17, the "customer" slice).

Each buyer (the pseudonym `customer_id`, never any PII) is announced once, on the night
they first meet the definition of `v_serial_returners` as of that night
(`transforms/sql/serial_returners.sql`). The first night tracked for a shop records the
serial returners it already has as the *starting point*, without announcing them one by
one: an upgrade on a shop with forty of them must not flood the chat. Nights before that
one are history and record nothing.

Idempotent by construction, as the incidents are: the digest reads the buyers whose
`first_seen_day` is the night, so a rerun of the night finds nothing new to record and
says the same again (the outbox sends the same content once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from returnwatch.transforms.customers import serial_returners_sql, top_reason


@dataclass(frozen=True)
class SerialReturner:
    """One buyer with the figures of the night they were first seen."""

    customer_id: str  # the pseudonym (keyed hash); the digest shows its first characters
    returns: int  # in the 90 days up to the night
    last_30_days_returns: int
    order_lines: int  # paid in those 90 days
    return_rate: float | None  # returns / order_lines; None without order lines
    top_reasons: str | None  # '尺码不合适 3; 质量问题 2', the three most frequent

    @property
    def top_reason(self) -> tuple[str | None, int] | None:
        return top_reason(self.top_reasons)


@dataclass(frozen=True)
class SerialNight:
    """What one night says about serial returners."""

    new: tuple[SerialReturner, ...] = ()  # first seen tonight: announced, most returns first
    starting_point: int = 0  # recorded tonight as the starting point (first night tracked)
    recorded: int = 0  # rows this call added (0 on a rerun of the night)

    @property
    def says_something(self) -> bool:
        return bool(self.new or self.starting_point)


def track_serial_returners(
    con: duckdb.DuckDBPyConnection,
    shop_id: str,
    night: date,
    *,
    now: datetime | None = None,
) -> SerialNight:
    """Record the buyers who are serial returners as of `night` and not yet recorded, and
    return what the night's digest says. The caller owns the transaction.

    The first night tracked is the first one on which the shop has order lines (a run
    before the first import starts nothing: the history imported later would all be
    "new"); everything found that night is the starting point. A night before it records
    nothing.
    """
    now = now or datetime.now()
    first_day = _first_day(con, shop_id)
    if first_day is None:
        if not _has_orders(con, shop_id, night):
            return SerialNight()
        con.execute("INSERT INTO serial_returner_tracking VALUES (?, ?, ?)", [shop_id, night, now])
        first_day = night
    if night < first_day:
        return SerialNight()
    recorded = con.execute(
        f"""
        INSERT INTO serial_returners_seen
        SELECT
            $shop_id, found.customer_id, $night::DATE, found.returns,
            found.last_30_days_returns, found.order_lines, found.return_rate,
            found.top_reasons, $is_start, $now::TIMESTAMP
        FROM ({serial_returners_sql()}) AS found
        WHERE NOT EXISTS (
            SELECT 1 FROM serial_returners_seen AS seen
            WHERE seen.shop_id = $shop_id AND seen.customer_id = found.customer_id
        )
        RETURNING customer_id
        """,
        {"shop_id": shop_id, "night": night, "is_start": night == first_day, "now": now},
    ).fetchall()
    said = serial_returners_on(con, shop_id, night)
    return SerialNight(said.new, said.starting_point, recorded=len(recorded))


def serial_returners_on(con: duckdb.DuckDBPyConnection, shop_id: str, night: date) -> SerialNight:
    """The buyers first seen on `night`: those announced (most returns first) and how many
    were recorded as the starting point. Reads only; what the digest shows."""
    rows = con.execute(
        """
        SELECT customer_id, returns, last_30_days_returns, order_lines, return_rate,
               top_reasons, is_starting_point
        FROM serial_returners_seen
        WHERE shop_id = ? AND first_seen_day = ?
        ORDER BY returns DESC, return_rate DESC NULLS LAST, customer_id
        """,
        [shop_id, night],
    ).fetchall()
    new = tuple(SerialReturner(*row[:6]) for row in rows if not row[6])
    return SerialNight(new, sum(1 for row in rows if row[6]))


def _first_day(con: duckdb.DuckDBPyConnection, shop_id: str) -> date | None:
    row = con.execute(
        "SELECT first_day FROM serial_returner_tracking WHERE shop_id = ?", [shop_id]
    ).fetchall()
    return row[0][0] if row else None


def _has_orders(con: duckdb.DuckDBPyConnection, shop_id: str, night: date) -> bool:
    row = con.execute(
        "SELECT 1 FROM order_lines WHERE shop_id = ? AND paid_at < ?::DATE + 1 LIMIT 1",
        [shop_id, night],
    ).fetchall()
    return bool(row)
