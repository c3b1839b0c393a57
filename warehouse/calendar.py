"""The promo calendar in the warehouse: the days each shop's promotions cover (table
`promo_days`, migration 0014, which `baseline_exclusions` reads so those days stay out
of later baselines), and the lift last year's same event showed."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from returnwatch.settings import CalendarEvent, Settings
from returnwatch.transforms.calendar import event_days, previous_edition, window_end

MIN_EVENT_DAYS = 7  # days of last year's event the history must hold to learn from it


def sync_promo_days(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str) -> None:
    """Write the shop's promo days from the settings (replacing the previous ones), so
    the warehouse always states the calendar the detection and digests used."""
    days = event_days(settings.calendar_for(shop_id))
    con.execute("DELETE FROM promo_days WHERE shop_id = ?", [shop_id])
    if days:
        con.execute(
            "INSERT INTO promo_days SELECT ?, unnest(?::DATE[]), unnest(?::VARCHAR[]), "
            "unnest(?::VARCHAR[])",
            [shop_id, [d for d, _, _ in days], [n for _, n, _ in days], [p for _, _, p in days]],
        )


def event_lift(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    event: CalendarEvent,
) -> tuple[float, bool]:
    """(lift, learned): the shop's return-rate rise during last year's same event and its
    return window (its rate against the baseline before it), when the history holds at
    least MIN_EVENT_DAYS of it; else the event's `expected_lift`."""
    before = previous_edition(settings.calendar_for(shop_id), event)
    if before is None:
        return event.expected_lift, False
    row = con.execute(
        """
        SELECT count(*), sum(returns), sum(order_lines),
               (SELECT sum(returns) / nullif(sum(order_lines), 0) FROM daily_return_rates
                WHERE shop_id = $shop_id AND dimension = 'shop' AND key = '*'
                  AND day BETWEEN $base_start AND $base_end)
        FROM daily_return_rates
        WHERE shop_id = $shop_id AND dimension = 'shop' AND key = '*'
          AND day BETWEEN $start AND $end
        """,
        {
            "shop_id": shop_id,
            "start": before.start,
            "end": window_end(before),
            "base_start": before.start - timedelta(days=settings.detection.window_days),
            "base_end": before.start - timedelta(days=1),
        },
    ).fetchone()
    days, returns, lines, baseline = row
    if days < MIN_EVENT_DAYS or not lines or not baseline:
        return event.expected_lift, False
    return max(0.0, (returns / lines) / baseline - 1), True


def promo_day(con: duckdb.DuckDBPyConnection, shop_id: str, day: date) -> str | None:
    row = con.execute(
        "SELECT event FROM promo_days WHERE shop_id = ? AND day = ?", [shop_id, day]
    ).fetchone()
    return row[0] if row else None
