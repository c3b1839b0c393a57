"""Serial returners tracked night by night on a real warehouse file: the as-of-night
definition is the view's, the first night is the starting point, a new buyer is recorded
once, a rerun of the night records nothing and says the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from returnwatch.transforms.customers import serial_returners_sql, top_reason
from returnwatch.warehouse.rates import transaction
from returnwatch.warehouse.serial_returners import (
    serial_returners_on,
    track_serial_returners,
)
from tests.helpers import add_buyer_lines, current_rates

SHOP = "serial-shop"
NIGHT = date(2026, 8, 14)
NOW = datetime(2026, 8, 15, 7, 0)


def buys(con, buyer, day, lines, returned=None, *, shop_id=SHOP, **options) -> None:
    add_buyer_lines(con, shop_id, buyer, day, lines, returned, **options)


def a_mixed_shop(con) -> None:
    day = NIGHT - timedelta(days=20)
    buys(con, "a1b2c3d4e5f60718", day, 8, {"尺码不合适": 4, "质量问题": 2, "": 1})  # serial
    buys(con, "b0000000000000ff", day, 12, {"不想要了": 5})  # 5 of 12: under half
    buys(con, "c0000000000000ff", day, 4, {"不想要了": 4})  # 4 returns: under 5
    buys(con, "d0000000000000ff", day, 6, {"不想要了": 6}, refund_type="exchange")  # 换货
    old = NIGHT - timedelta(days=120)
    buys(con, "e0000000000000ff", old, 6, {"不想要了": 6})  # outside the 90 days
    buys(con, "f0000000000000ff", day, 5, {"质量问题": 5}, returned_on=NIGHT)  # on the night


def as_of(con, night: date) -> list[tuple]:
    current_rates(con, SHOP)  # the returns per buyer are kept with the rates
    return con.execute(
        f"SELECT customer_id, returns, last_30_days_returns, order_lines, return_rate, "
        f"top_reasons FROM ({serial_returners_sql()}) ORDER BY customer_id",
        {"shop_id": SHOP, "night": night},
    ).fetchall()


def track(con, night: date):
    current_rates(con, SHOP)  # the nightly flow refreshes the rates before it tracks
    with transaction(con):
        return track_serial_returners(con, SHOP, night, now=NOW)


def test_as_of_the_shops_last_request_day_it_is_the_view(warehouse):
    a_mixed_shop(warehouse)
    view = warehouse.execute(
        "SELECT customer_id, returns, last_30_days_returns, order_lines, return_rate, "
        "top_reasons FROM v_serial_returners WHERE shop_id = ? ORDER BY customer_id",
        [SHOP],
    ).fetchall()
    assert [row[0] for row in view] == ["a1b2c3d4e5f60718", "f0000000000000ff"]
    assert as_of(warehouse, NIGHT) == view
    assert view[0][1:] == (7, 7, 8, 7 / 8, "尺码不合适 4; 质量问题 2; (none) 1")


def test_as_of_an_earlier_night_nothing_after_it_counts(warehouse):
    a_mixed_shop(warehouse)
    # the night before: the last buyer's returns were not requested yet
    assert [row[0] for row in as_of(warehouse, NIGHT - timedelta(days=1))] == ["a1b2c3d4e5f60718"]
    # lines paid after the night do not count either (they did not exist that night)
    buys(warehouse, "a1b2c3d4e5f60718", NIGHT + timedelta(days=1), 20)
    assert [row[0] for row in as_of(warehouse, NIGHT)] == ["a1b2c3d4e5f60718", "f0000000000000ff"]


def test_first_night_is_the_starting_point_then_each_new_buyer_once(warehouse):
    a_mixed_shop(warehouse)
    first = track(warehouse, NIGHT - timedelta(days=1))
    assert (first.new, first.starting_point, first.recorded) == ((), 1, 1)

    second = track(warehouse, NIGHT)
    [buyer] = second.new
    assert (buyer.customer_id, buyer.returns, buyer.order_lines) == ("f0000000000000ff", 5, 5)
    assert buyer.top_reason == ("质量问题", 5)
    assert (second.starting_point, second.recorded) == (0, 1)

    again = track(warehouse, NIGHT)  # a rerun of the night: nothing recorded, same said
    assert again.recorded == 0 and again.new == second.new
    assert serial_returners_on(warehouse, SHOP, NIGHT) == again.__class__(second.new, 0)
    rows = warehouse.execute(
        "SELECT customer_id, first_seen_day, is_starting_point FROM serial_returners_seen "
        "ORDER BY customer_id"
    ).fetchall()
    assert rows == [
        ("a1b2c3d4e5f60718", NIGHT - timedelta(days=1), True),
        ("f0000000000000ff", NIGHT, False),
    ]
    # a later night: both known, nothing new
    assert track(warehouse, NIGHT + timedelta(days=1)).new == ()


def test_rerun_of_the_first_night_stays_the_starting_point(warehouse):
    a_mixed_shop(warehouse)
    assert track(warehouse, NIGHT).starting_point == 2
    again = track(warehouse, NIGHT)
    assert (again.new, again.starting_point, again.recorded) == ((), 2, 0)


def test_a_night_before_the_first_one_tracked_records_nothing(warehouse):
    a_mixed_shop(warehouse)
    track(warehouse, NIGHT + timedelta(days=3))
    before = track(warehouse, NIGHT - timedelta(days=1))
    assert (before.new, before.starting_point, before.recorded) == ((), 0, 0)


def test_no_orders_yet_starts_nothing(warehouse):
    """A run before the first import: the history imported later is the starting point,
    not forty "new" buyers."""
    assert track(warehouse, NIGHT).says_something is False
    assert warehouse.execute("SELECT count(*) FROM serial_returner_tracking").fetchone()[0] == 0
    a_mixed_shop(warehouse)
    later = track(warehouse, NIGHT)
    assert later.new == () and later.starting_point == 2


def test_shops_are_tracked_apart(warehouse):
    a_mixed_shop(warehouse)
    track(warehouse, NIGHT - timedelta(days=5))
    buys(warehouse, "a1b2c3d4e5f60718", NIGHT - timedelta(days=3), 6, {"不想要了": 6},
         shop_id="other-shop")  # fmt: skip
    current_rates(warehouse, "other-shop")
    with transaction(warehouse):
        other = track_serial_returners(warehouse, "other-shop", NIGHT, now=NOW)
    assert other.starting_point == 1 and other.new == ()  # its own first night


# buyer_returns: the returns per buyer the tracking reads, kept with the rates

JOINED_BUYER_RETURNS = """
    SELECT refund.shop_id, refund.requested_at::DATE AS day, line.customer_id,
           coalesce(refund.reason, '(none)') AS reason, count(DISTINCT refund.refund_id)
    FROM refund_records AS refund
    JOIN order_lines AS line ON line.shop_id = refund.shop_id AND line.line_id = refund.line_id
    WHERE refund.refund_type IN ('return_refund', 'refund_only')
      AND line.customer_id IS NOT NULL
    GROUP BY ALL
    ORDER BY ALL
"""


def stored_buyer_returns(con) -> list[tuple]:
    return con.execute(
        "SELECT shop_id, day, customer_id, reason, returns FROM buyer_returns ORDER BY ALL"
    ).fetchall()


def test_buyer_returns_are_the_returns_joined_to_their_lines(warehouse):
    a_mixed_shop(warehouse)
    current_rates(warehouse, SHOP)
    stored = stored_buyer_returns(warehouse)
    # the serial returner's day: 4 + 2 + 1 (no reason); no 换货, no buyer outside the shop
    day = NIGHT - timedelta(days=19)
    assert [row[3:] for row in stored if row[1] == day and row[2] == "a1b2c3d4e5f60718"] == [
        ("(none)", 1), ("尺码不合适", 4), ("质量问题", 2),
    ]  # fmt: skip
    assert not [row for row in stored if row[2] == "d0000000000000ff"]
    assert stored == warehouse.execute(JOINED_BUYER_RETURNS).fetchall()


def test_migration_0020_counts_the_buyer_returns_of_an_older_warehouse(tmp_path):
    import duckdb

    from returnwatch.warehouse.migrate import migrate

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con)
    a_mixed_shop(con)
    con.execute("DROP TABLE buyer_returns")  # as a warehouse made before 0020
    con.execute("DELETE FROM schema_migrations WHERE version = 20")
    con.close()

    con = duckdb.connect(str(path))
    assert [m.version for m in migrate(con)] == [20]
    assert stored_buyer_returns(con) == con.execute(JOINED_BUYER_RETURNS).fetchall()
    assert len(stored_buyer_returns(con)) == 7  # a1: three reasons; b, c, e, f: one; d: 换货
    con.close()


@pytest.mark.parametrize(
    ("text", "top"),
    [
        ("尺码不合适 3; 质量问题 2", ("尺码不合适", 3)),
        ("(none) 4", (None, 4)),
        ("七天 无理由 5", ("七天 无理由", 5)),
        (None, None),
    ],
)
def test_top_reason(text, top):
    assert top_reason(text) == top
