"""Buyer concentration on the real UCI Online Retail data (issue 17).

Two days of the data set are buyer events, not product problems: on 2011-06-08 all of
France's cancellations came from one buyer, and on 2011-10-12 one buyer made most of the
day's cancellations. The slice 2011-03-01 .. 2011-10-12 is loaded with plain DuckDB SQL
from the parquet (order lines as bench/online_retail_to_csv.py maps them); every expected
figure is computed here straight from the parquet, not from the warehouse.

Refunds reach their buyer through their order line (the 售后 export has no buyer column),
and the data set does not say which invoice a cancellation (InvoiceNo C…) reverses. Its
cancellations do carry the buyer's CustomerID, so each is linked to that buyer's latest
order line at or before it (an ASOF join): the buyer is exact, the line a stand-in.

What the detector makes of it (default settings): France on 2011-06-08 is flagged, "17
returns, 17 from one buyer". On 2011-10-12 the shop slice is not flagged (157
cancellations on a busy day); its concentration is still checked as the digest would
print it ("157 returns, 101 from one buyer"), and EIRE (43 from one buyer) is flagged.
One of that day's 9 cancelling buyers bought nothing in the 60 days before, so the
detector reaches 8: the expectation accounts for that from the parquet.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from returnwatch.settings import Settings
from returnwatch.transforms.beyond_spike import buyer_note
from returnwatch.transforms.rates import category_rule_sql
from returnwatch.warehouse.detection import detect_days, with_buyers
from returnwatch.warehouse.rates import refresh_rates

from ..shared_data import ONLINE_RETAIL

SHOP = "online-retail"
FIRST, LAST = date(2011, 3, 1), date(2011, 10, 12)
FRANCE_DAY, BULK_DAY = date(2011, 6, 8), date(2011, 10, 12)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="Online Retail data not available"),
]

LOAD = """
CREATE TEMP TABLE retail AS
SELECT
    InvoiceNo AS invoice_no,
    InvoiceNo || '-' || row_number() OVER (PARTITION BY InvoiceNo ORDER BY file_row_number)
        AS line_key,
    StockCode AS sku_id,
    Description AS product_name,
    Quantity AS quantity,
    round(Quantity * UnitPrice, 2) AS amount,
    InvoiceDate AS happened_at,
    Country AS province,
    CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) AS customer_id,
    starts_with(InvoiceNo, 'C') AS is_refund
FROM read_parquet($source, file_row_number = true)
WHERE InvoiceDate >= $first AND InvoiceDate < $last::date + 1;

INSERT INTO order_lines BY NAME
SELECT $shop AS shop_id, invoice_no AS order_id, line_key AS line_id, sku_id, product_name,
       quantity::INTEGER AS quantity, amount::DECIMAL(18, 2) AS amount,
       happened_at AS paid_at, province, customer_id, 'csv' AS source_format,
       0 AS load_batch_id, now()::TIMESTAMP AS loaded_at
FROM retail
WHERE NOT is_refund;

INSERT INTO refund_records BY NAME
SELECT $shop AS shop_id, c.line_key AS refund_id, c.invoice_no AS order_id,
       l.line_id, c.sku_id, 'return_refund' AS refund_type, 'completed' AS status,
       c.happened_at AS requested_at, c.happened_at AS completed_at,
       (-c.amount)::DECIMAL(18, 2) AS refund_amount, (-c.quantity)::INTEGER AS quantity,
       c.province, 'csv' AS source_format, 0 AS load_batch_id, now()::TIMESTAMP AS loaded_at
FROM (SELECT * FROM retail WHERE is_refund) AS c
ASOF LEFT JOIN (SELECT line_id, customer_id, paid_at FROM order_lines) AS l
    ON l.customer_id = c.customer_id AND c.happened_at >= l.paid_at;
"""

# Independent: the day's cancellation lines of a slice, per CustomerID, from the parquet;
# `reachable` says whether the buyer bought anything in the detector's look-back (from 60
# days before the day up to the cancellation): only then does a refund reach its buyer
# through an order line (transforms/sql/anomaly_buyers.sql); the others count as no buyer.
CANCELLATIONS = """
WITH cancellations AS (
    SELECT CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) AS buyer, InvoiceDate AS at
    FROM read_parquet($source)
    WHERE starts_with(InvoiceNo, 'C') AND InvoiceDate::date = $day
      AND ($country IS NULL OR Country = $country)
),
purchases AS (
    SELECT CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) AS buyer, InvoiceDate AS at
    FROM read_parquet($source)
    WHERE NOT starts_with(InvoiceNo, 'C') AND InvoiceDate >= $day::date - 60
)
SELECT
    c.buyer,
    count(*) AS returns,
    bool_and(EXISTS (SELECT 1 FROM purchases AS p WHERE p.buyer = c.buyer AND p.at <= c.at))
        AS reachable
FROM cancellations AS c
GROUP BY ALL
ORDER BY returns DESC, buyer
"""


@pytest.fixture(scope="module")
def retail():
    from tests.helpers import connect_memory

    con = connect_memory()
    params = {"source": str(ONLINE_RETAIL), "first": FIRST, "last": LAST, "shop": SHOP}
    for statement in LOAD.split(";\n"):
        if statement.strip():
            con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
    settings = Settings()
    refresh_rates(con, settings, SHOP, start=FIRST, end=LAST)
    detect_days(con, settings, SHOP, [FRANCE_DAY, BULK_DAY])
    yield con, settings
    con.close()


def expected(con, day: date, country: str | None) -> pd.DataFrame:
    return con.execute(
        CANCELLATIONS, {"source": str(ONLINE_RETAIL), "day": day, "country": country}
    ).df()


def concentration(con, settings: Settings, dimension: str, key: str, day: date) -> pd.Series:
    """What the detector attaches to an anomaly of this slice and day (and the digest
    prints), whether or not the detector flagged it."""
    frame = pd.DataFrame(
        {"day": [day], "dimension": [dimension], "key": [key], "reason": ["spike"]}
    )
    rule = category_rule_sql(settings.categories or [])
    return with_buyers(con, settings.detection, SHOP, frame, rule).iloc[0]


@pytest.mark.parametrize(
    ("day", "dimension", "key", "country"),
    [(FRANCE_DAY, "region", "France", "France"), (BULK_DAY, "shop", "*", None)],
)
def test_buyer_concentration_of_the_known_buyer_events(retail, day, dimension, key, country):
    con, settings = retail
    buyers = expected(con, day, country)
    returns, top = int(buyers["returns"].sum()), int(buyers["returns"].iloc[0])
    assert buyers["buyer"].notna().all()  # every one of these cancellations names its buyer
    assert top >= returns / 2  # the data set's claim: a buyer event

    row = concentration(con, settings, dimension, key, day)
    reachable = buyers[buyers["reachable"]]
    assert (row["buyers"], row["top_buyer_returns"], row["top2_buyer_returns"]) == (
        len(reachable),
        int(reachable["returns"].iloc[0]),
        int(reachable["returns"].iloc[:2].sum()),
    )
    assert row["top_buyer_returns"] == top  # the one buyer is among those reached
    note = f"{returns} returns, {top} from one buyer"
    share = settings.detection.buyer_event_share
    assert buyer_note(returns, top, int(row["top2_buyer_returns"]), share) == note
    assert row["reason"] == f"spike; buyer event: {note}"

    # the mart counts the same returns for the slice and day
    mart_returns = con.execute(
        "SELECT returns FROM daily_return_rates WHERE shop_id = ? AND day = ? "
        "AND dimension = ? AND key = ?",
        [SHOP, day, dimension, key],
    ).fetchone()[0]
    assert mart_returns == returns

    # when the detector flags the slice that day, its anomaly row says the same
    flagged = con.execute(
        "SELECT returns, buyers, top_buyer_returns, top2_buyer_returns, reason FROM anomalies "
        "WHERE shop_id = ? AND day = ? AND dimension = ? AND key = ?",
        [SHOP, day, dimension, key],
    ).fetchall()
    for a_returns, a_buyers, a_top, a_top2, reason in flagged:
        assert (a_returns, a_buyers, a_top, a_top2) == (
            returns,
            row["buyers"],
            top,
            row["top2_buyer_returns"],
        )
        assert reason.endswith(f"buyer event: {note}")


def test_the_regions_flagged_on_those_days_name_their_buyer_event(retail):
    """Every region the detector flags on the two days carries the parquet's concentration,
    and each day has one flagged buyer event (France on 2011-06-08; on 2011-10-12 the shop
    itself is not flagged, but EIRE, one buyer's 43 cancellations, is)."""
    con, settings = retail
    flagged = con.execute(
        "SELECT day, key, returns, top_buyer_returns, reason FROM anomalies "
        "WHERE shop_id = ? AND dimension = 'region' ORDER BY day, key",
        [SHOP],
    ).fetchall()
    events = set()
    for day, country, returns, top, reason in flagged:
        buyers = expected(con, day, country)
        assert returns == int(buyers["returns"].sum())
        assert top == int(buyers[buyers["reachable"]]["returns"].max())
        if top >= settings.detection.buyer_event_share * returns:
            assert reason.endswith(f"buyer event: {returns} returns, {top} from one buyer")
            events.add(day)
    assert events == {FRANCE_DAY, BULK_DAY}
