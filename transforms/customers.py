"""The customer slice as pure logic: which buyers are serial returners as of a night (SQL
text), and reading the figures the warehouse keeps for them.

No connection is opened here: `warehouse/serial_returners.py` runs the SQL. The
definition is the analyst view `v_serial_returners`'s (migration 0017); docs/detection.md,
"Customers".
"""

from __future__ import annotations

from returnwatch.transforms.rates import read_sql

# The view's thresholds, for the words that explain them (the SQL holds the same numbers).
SERIAL_MIN_RETURNS = 5
SERIAL_MIN_SHARE = 0.5
SERIAL_WINDOW_DAYS = 90


def serial_returners_sql() -> str:
    """transforms/sql/serial_returners.sql: the serial returners of one shop as of one
    night (parameters $shop_id, $night)."""
    return read_sql("serial_returners")


def top_reason(top_reasons: str | None) -> tuple[str | None, int] | None:
    """The most frequent reason of a `top_reasons` text ('尺码不合适 3; 质量问题 2'), as
    (reason, count); the view writes a blank reason as '(none)', returned as None."""
    if not top_reasons:
        return None
    first = top_reasons.split("; ", 1)[0]
    reason, _, n = first.rpartition(" ")
    if not n.isdigit():
        return (first, 0)
    return (None if reason == "(none)" else reason, int(n))
