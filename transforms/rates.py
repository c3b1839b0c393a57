"""Daily return rates: the SQL and the pure date arithmetic of recomputing them.

`daily_return_rates` is replaced day by day: the target days' rows are deleted and
recomputed by one set-based statement (`sql/daily_return_rates.sql`) that reads only the
order lines and refunds of those days and of the baseline window before them. A changed day
feeds the baselines of the days after it, so every entry point widens the changed days by
`feed_days(settings)` before recomputing; the work grows with the changed days, never with
the history.

This module is pure (no connection, no table written): the SQL text and the functions
that decide which days a statement covers. `warehouse.rates` runs the statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from importlib import resources

from returnwatch.settings import DetectionSettings, Settings

RETURN_TYPES = ("return_refund", "refund_only")


@cache
def read_sql(name: str) -> str:
    """The text of `transforms/sql/<name>.sql`."""
    return (resources.files("returnwatch.transforms") / "sql" / f"{name}.sql").read_text(
        encoding="utf-8"
    )


def feed_days(settings: Settings) -> int:
    """How many days after a changed day can see the change (see `reach_days`)."""
    return reach_days(settings.detection)


def reach_days(detection: DetectionSettings) -> int:
    """How far back a day's results read, in days.

    The literal baseline of day D reads D-window_days … D-1. The default detector reaches
    further back (docs/detection.md, "Incremental recomputation"): its clean baseline for D
    reads the history days' own screening baselines (two rounds), whose exposures read the
    lag-profile window and the return-lag days before them: 4 x window_days +
    return_lag_days.
    """
    if detection.mode == "literal":
        return detection.window_days
    return 4 * detection.window_days + detection.return_lag_days


def widen_days(changed: Iterable[date], horizon: date | None, reach: int) -> list[date]:
    """The changed days and every day up to `reach` days after each, none after the horizon
    (the shop's last day; a changed day later than it is its own horizon)."""
    changed = sorted(set(changed))
    if not changed:
        return []
    horizon = max(d for d in (horizon, changed[-1]) if d is not None)
    days: set[date] = set()
    for day in changed:
        end = min(day + timedelta(days=reach), max(horizon, day))
        days.update(day + timedelta(days=i) for i in range((end - day).days + 1))
    return sorted(days)


def clusters(days: Iterable[date], gap: int) -> list[list[date]]:
    """Sorted days split wherever two neighbours are more than `gap` days apart.

    Each cluster is one statement whose reads span the cluster plus its look-back, so two
    far-apart dirty days never make a statement scan the months between them.
    """
    out: list[list[date]] = []
    for day in sorted(set(days)):
        if out and (day - out[-1][-1]).days <= gap:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def date_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# How far before the first request day a refund's order line is looked for first. Most
# after-sales requests come within days of payment (7-day no-reason returns, 15-day quality
# claims); a line not found there is looked for in the whole table, so this bounds the
# usual cost, not the result.
LINE_LOOKBACK_DAYS = 31

# The lags `return_lags` keeps (days from payment to request): the staged returns hold
# every line paid that long before a target day. The detector reads its lag profile from
# that table when `return_lag_days` is within it.
STORED_LAG_DAYS = LINE_LOOKBACK_DAYS
