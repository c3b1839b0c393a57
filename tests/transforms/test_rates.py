"""daily_return_rates on the hand-made shop of hand_shop.py, every number known."""

from __future__ import annotations

import pytest

from returnwatch.warehouse.rates import affected_days, refresh_dirty, refresh_rates

from .conftest import load_frames
from .hand_shop import EXPECTED, ORDERS, REFUNDS, SHOP, D, orders_frame, refunds_frame


def rates_table(con, dimensions=("shop", "region", "sku")) -> dict:
    """The hand shop's rates of these dimensions (its lines carry no product, category or
    carrier: tests/transforms/test_slices.py checks those slices)."""
    rows = con.execute(
        "SELECT day, dimension, key, order_lines, returns, return_rate, baseline_rate, "
        "baseline_days, lift FROM daily_return_rates WHERE shop_id = ? "
        "AND list_contains(?, dimension)",
        [SHOP, list(dimensions)],
    ).fetchall()
    return {(r[0].day, r[1], r[2]): tuple(r[3:]) for r in rows}


def assert_rates(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for key, want in expected.items():
        got = actual[key]
        assert got[:2] == want[:2], key
        assert got[4] == want[4], key
        for g, w in zip(got[2:4] + got[5:], want[2:4] + want[5:], strict=True):
            assert (g is None) == (w is None), (key, got, want)
            if w is not None:
                assert g == pytest.approx(w), (key, got, want)


def test_rates_match_hand_computation(hand_shop, hand_settings):
    days = refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    assert days == [D[i] for i in range(1, 7)]
    expected = {(D[i].day, dim, key): v for (i, dim, key), v in EXPECTED.items()}
    assert_rates(rates_table(hand_shop), expected)


def test_recompute_is_idempotent(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    first = rates_table(hand_shop)
    refresh_rates(hand_shop, hand_settings, SHOP, [D[4]])
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    assert rates_table(hand_shop) == first
    count = hand_shop.execute(
        "SELECT count(*) FROM daily_return_rates WHERE dimension IN ('shop', 'region', 'sku')"
    ).fetchone()[0]
    assert count == len(EXPECTED)


def test_a_changed_day_feeds_the_following_window(hand_shop, hand_settings):
    assert affected_days(hand_shop, hand_settings, SHOP, [D[2]]) == [D[2], D[3], D[4], D[5]]
    # Beyond the last day with data nothing is recomputed.
    assert affected_days(hand_shop, hand_settings, SHOP, [D[5]]) == [D[5], D[6]]


def test_refresh_dirty_matches_a_full_recompute(con, hand_settings):
    """Load the shop in two parts, marking dirty days as the loader does; the incremental
    refresh must end where a full recompute ends, and touch only the fed days."""
    early = [o for o in ORDERS if o[4] < "2026-07-04"]
    late = [o for o in ORDERS if o[4] >= "2026-07-04"]
    load_frames(con, orders_frame(early), refunds_frame(REFUNDS[:4]))
    refresh_rates(con, hand_settings, SHOP, start=D[1], end=D[3])
    load_frames(con, orders_frame(late), refunds_frame(REFUNDS[4:]))
    con.execute(
        "INSERT INTO dirty_days VALUES (?, ?, 2, now()), (?, ?, 2, now()), (?, ?, 2, now()), "
        "(?, ?, 2, now())",
        [SHOP, D[4], SHOP, D[5], SHOP, D[6], SHOP, D[4]],
    )
    days = refresh_dirty(con, hand_settings, SHOP)
    assert days == [D[4], D[5], D[6]]
    assert con.execute("SELECT count(*) FROM dirty_days").fetchone()[0] == 0
    expected = {(D[i].day, dim, key): v for (i, dim, key), v in EXPECTED.items()}
    assert_rates(rates_table(con), expected)
    # A late refund on D2 changes D2 and the days whose baselines read it.
    load_frames(
        con,
        refunds=refunds_frame(
            [("r9", "o5", "l5", "A", "return_refund", "completed", None, "2026-07-02 12:00")]
        ),
    )
    con.execute("INSERT INTO dirty_days VALUES (?, ?, 3, now())", [SHOP, D[2]])
    before = rates_table(con)
    assert refresh_dirty(con, hand_settings, SHOP) == [D[2], D[3], D[4], D[5]]
    after = rates_table(con)
    assert after[(2, "shop", "*")][:3] == (2, 2, 1.0)
    assert after[(6, "shop", "*")] == before[(6, "shop", "*")]
    assert refresh_dirty(con, hand_settings, SHOP) == []


# ---------------------------------------------------------------------------------------
# Region resolution without the `refunds` view: same provinces, history read only if needed

_LINES = [  # line_id, order_id, paid_at, province
    ("L-recent", "O1", "2026-03-09 10:00:00", "广东省"),
    ("L-old", "O2", "2025-06-01 10:00:00", "浙江省"),  # far before the line look-back
    ("L-blank", "O3", "2026-03-08 10:00:00", None),  # no province: the order's
    ("L-sibling", "O3", "2025-01-01 10:00:00", "江苏省"),  # the order's only province
    ("L-other", "O4", "2026-03-08 10:00:00", "四川省"),
]
_REFUNDS = [  # refund_id, order_id, line_id, province, refund_type
    ("R-own", "O1", "L-recent", "北京市", "return_refund"),
    ("R-line", "O1", "L-recent", None, "return_refund"),
    ("R-old-line", "O2", "L-old", None, "refund_only"),
    ("R-order", "O3", "L-blank", None, "return_refund"),
    ("R-no-line", "O4", None, None, "return_refund"),
    ("R-missing-line", "O4", "L-gone", None, "return_refund"),
    ("R-nothing", "O9", "L-none", None, "return_refund"),
    ("R-exchange", "O1", "L-recent", None, "exchange"),
]


def _load_regions_shop(con) -> None:
    for line_id, order_id, paid_at, province in _LINES:
        con.execute(
            "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, province, "
            "source_format, load_batch_id, loaded_at) VALUES "
            "('s', ?, ?, 'K', ?::TIMESTAMP, ?, 't', 1, now()::TIMESTAMP)",
            [order_id, line_id, paid_at, province],
        )
    for refund_id, order_id, line_id, province, refund_type in _REFUNDS:
        con.execute(
            "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, "
            "refund_type, requested_at, province, source_format, load_batch_id, loaded_at) "
            "VALUES ('s', ?, ?, ?, 'K', ?, TIMESTAMP '2026-03-10 09:00:00', ?, 't', 1, "
            "now()::TIMESTAMP)",
            [refund_id, order_id, line_id, refund_type, province],
        )


def test_returns_resolve_their_region_as_the_refunds_view_does(con):
    from datetime import date

    from returnwatch.warehouse.rates import staged_returns

    _load_regions_shop(con)
    want = con.execute(
        "SELECT refund_id, province FROM refunds "
        "WHERE refund_type IN ('return_refund', 'refund_only') ORDER BY 1"
    ).fetchall()
    with staged_returns(con, "s", date(2026, 3, 10), date(2026, 3, 10)) as table:
        got = con.execute(
            "SELECT refund_id, coalesce(own_province, line_province, order_province, "
            f"'unknown') FROM {table} ORDER BY 1"
        ).fetchall()
    assert got == want
    assert dict(got) == {
        "R-line": "广东省",
        "R-missing-line": "四川省",
        "R-no-line": "四川省",
        "R-nothing": "unknown",
        "R-old-line": "浙江省",
        "R-order": "江苏省",
        "R-own": "北京市",
    }
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


# ---------------------------------------------------------------------------------------
# return_lags: the detector's lag counts, kept with the rates

_JOINED_LAGS = """
    SELECT refund.shop_id, refund.requested_at::DATE AS day,
           (refund.requested_at::DATE - line.paid_at::DATE)::INTEGER AS lag_days,
           count(DISTINCT refund.refund_id) AS refunds
    FROM refund_records AS refund
    JOIN order_lines AS line ON line.shop_id = refund.shop_id AND line.line_id = refund.line_id
    WHERE refund.refund_type IN ('return_refund', 'refund_only')
      AND refund.requested_at::DATE - line.paid_at::DATE BETWEEN 0 AND 31
    GROUP BY ALL
    ORDER BY ALL
"""


def stored_lags(con) -> list[tuple]:
    return con.execute(
        "SELECT shop_id, day, lag_days, refunds FROM return_lags ORDER BY ALL"
    ).fetchall()


def test_return_lags_are_the_returns_joined_to_their_lines(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    # r1 (lag 1), r2 (2), r3 (2), r5 refund_only (2), r8 (2); r4 is an exchange, r6's line
    # is unknown
    assert stored_lags(hand_shop) == [
        (SHOP, D[2], 1, 1),
        (SHOP, D[3], 2, 2),
        (SHOP, D[4], 2, 1),
        (SHOP, D[6], 2, 1),
    ]
    assert stored_lags(hand_shop) == hand_shop.execute(_JOINED_LAGS).fetchall()


def test_a_line_loaded_after_its_return_updates_the_lags(hand_shop, hand_settings):
    refresh_rates(hand_shop, hand_settings, SHOP, start=D[1], end=D[6])
    # r6's line arrives late: paid on D3, its paid day is dirty; D4 is fed by it
    load_frames(hand_shop, orders_frame([("lx", "ox", "C", "Q", "2026-07-03 09:00:00")]))
    hand_shop.execute("INSERT INTO dirty_days VALUES (?, ?, 4, now())", [SHOP, D[3]])
    refresh_dirty(hand_shop, hand_settings, SHOP)
    assert (SHOP, D[4], 1, 1) in stored_lags(hand_shop)
    assert stored_lags(hand_shop) == hand_shop.execute(_JOINED_LAGS).fetchall()


def test_lags_beyond_31_days_are_not_kept(con, hand_settings):
    load_frames(
        con,
        orders_frame([("old", "o", "A", "P", "2026-05-01 10:00:00")]),
        refunds_frame(
            [("late", "o", "old", "A", "return_refund", "completed", None, "2026-07-06 10:00")]
        ),
    )
    refresh_rates(con, hand_settings, SHOP, start=D[6], end=D[6])
    assert stored_lags(con) == []
    assert con.execute(_JOINED_LAGS).fetchall() == []


@pytest.mark.slow  # warehouse files
def test_migration_0008_counts_the_lags_of_an_older_warehouse(tmp_path):
    import duckdb

    from returnwatch.warehouse.migrate import migrate

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con)
    load_frames(con, orders_frame(), refunds_frame())
    con.execute("DROP TABLE return_lags")  # as a warehouse made before 0008
    con.execute("DELETE FROM schema_migrations WHERE version = 8")
    con.close()

    con = duckdb.connect(str(path))
    assert [m.version for m in migrate(con)] == [8]
    assert stored_lags(con) == con.execute(_JOINED_LAGS).fetchall()
    assert len(stored_lags(con)) == 4
    con.close()


def test_a_return_counts_in_its_order_lines_product_whatever_the_refund_says(con, hand_settings):
    """Orders loaded without 商品ID (a canonical file without product_id, or lines loaded
    before migration 0015), refunds with it: the order line counts under its SKU as its
    product, and so must its return — else product slice P would hold a return and no
    order line. A return whose line is not loaded keeps its own product_id."""
    from datetime import date

    day = date(2026, 3, 10)
    con.execute(
        "INSERT INTO order_lines (shop_id, order_id, line_id, sku_id, paid_at, "
        "source_format, load_batch_id, loaded_at) VALUES "
        "('s', 'O1', 'L1', 'K-RED-M', TIMESTAMP '2026-03-10 08:00:00', 't', 1, now())"
    )
    con.execute(
        "INSERT INTO refund_records (shop_id, refund_id, order_id, line_id, sku_id, "
        "product_id, refund_type, requested_at, source_format, load_batch_id, loaded_at) "
        "VALUES ('s', 'R1', 'O1', 'L1', 'K-RED-M', 'P9', 'return_refund', "
        "TIMESTAMP '2026-03-10 09:00:00', 't', 1, now()), "
        "('s', 'R2', 'O2', 'L-gone', 'K-BLUE-S', 'P9', 'return_refund', "
        "TIMESTAMP '2026-03-10 09:00:00', 't', 1, now())"
    )
    refresh_rates(con, hand_settings, "s", start=day, end=day)
    rows = con.execute(
        "SELECT key, order_lines, returns FROM daily_return_rates "
        "WHERE shop_id = 's' AND dimension = 'product' ORDER BY key"
    ).fetchall()
    assert rows == [("K-RED-M", 1, 1), ("P9", 0, 1)]
