-- Issue 17: which test raised an anomaly and against which baseline, who its returns came
-- from, and the analyst views of the new slices.

-- anomalies: one row per shop, day, dimension and key, as before; now with the test that
-- fired (spike | cold_start | drift | mix_shift; literal for literal mode), the baseline
-- the expected count was measured against, the lift against it, and buyer concentration
-- (refunds reach their buyer through their order line: the 售后 export has no buyer).
ALTER TABLE anomalies ADD COLUMN test VARCHAR;
ALTER TABLE anomalies ADD COLUMN baseline_used VARCHAR;
ALTER TABLE anomalies ADD COLUMN test_lift DOUBLE;
ALTER TABLE anomalies ADD COLUMN quality_returns BIGINT;
ALTER TABLE anomalies ADD COLUMN buyers BIGINT;
ALTER TABLE anomalies ADD COLUMN top_buyer_returns BIGINT;
ALTER TABLE anomalies ADD COLUMN top2_buyer_returns BIGINT;
UPDATE anomalies SET test = CASE WHEN mode = 'literal' THEN 'literal' ELSE 'spike' END;

-- One row per shop and buyer pseudonym (customer_id, an HMAC: never any PII) whose
-- returns in the last 90 days (to the shop's last request day) reach 5 and at least 50% of
-- their order lines of that period: serial returners. Returns reach their buyer through
-- their order line. last_30_days_returns shows who is active now; top_reasons the three
-- most frequent 售后原因.
CREATE VIEW v_serial_returners AS
WITH horizon AS (
    SELECT shop_id, max(requested_at)::date AS last_day
    FROM refund_records
    GROUP BY shop_id
),
buyer_returns AS (
    SELECT
        r.shop_id,
        l.customer_id,
        r.refund_id,
        r.requested_at,
        coalesce(r.reason, '(none)') AS reason,
        r.requested_at::date > h.last_day - 30 AS is_last_30_days
    FROM refund_records AS r
    INNER JOIN horizon AS h ON h.shop_id = r.shop_id
    INNER JOIN order_lines AS l ON l.shop_id = r.shop_id AND l.line_id = r.line_id
    WHERE
        r.refund_type IN ('return_refund', 'refund_only')
        AND l.customer_id IS NOT NULL
        AND r.requested_at::date > h.last_day - 90
),
buyer_lines AS (
    SELECT l.shop_id, l.customer_id, count(*) AS order_lines
    FROM order_lines AS l
    INNER JOIN horizon AS h ON h.shop_id = l.shop_id
    WHERE l.customer_id IS NOT NULL AND l.paid_at::date > h.last_day - 90
    GROUP BY ALL
),
reasons AS (
    SELECT shop_id, customer_id, reason, count(*) AS n
    FROM buyer_returns
    GROUP BY ALL
),
top_reasons AS (
    SELECT
        shop_id,
        customer_id,
        string_agg(reason || ' ' || n, '; ' ORDER BY n DESC, reason) AS top_reasons
    FROM (
        SELECT *, row_number() OVER (PARTITION BY shop_id, customer_id ORDER BY n DESC, reason) AS rk
        FROM reasons
    )
    WHERE rk <= 3
    GROUP BY ALL
),
totals AS (
    SELECT
        shop_id,
        customer_id,
        count(*) AS returns,
        count(*) FILTER (WHERE is_last_30_days) AS last_30_days_returns,
        min(requested_at) AS first_return_at,
        max(requested_at) AS last_return_at
    FROM buyer_returns
    GROUP BY ALL
)
SELECT
    t.shop_id,
    t.customer_id,
    t.returns,
    t.last_30_days_returns,
    coalesce(b.order_lines, 0) AS order_lines,
    t.returns / nullif(b.order_lines, 0) AS return_rate,
    t.first_return_at,
    t.last_return_at,
    r.top_reasons
FROM totals AS t
LEFT JOIN buyer_lines AS b ON b.shop_id = t.shop_id AND b.customer_id = t.customer_id
LEFT JOIN top_reasons AS r ON r.shop_id = t.shop_id AND r.customer_id = t.customer_id
WHERE t.returns >= 5 AND t.returns >= 0.5 * coalesce(b.order_lines, 0)
ORDER BY t.shop_id, t.returns DESC, t.customer_id;

-- One row per shop, day, carrier and province: the carrier x province slices with the
-- damaged-in-transit (物流破损) share beside the return rate.
CREATE VIEW v_carrier_regions AS
SELECT
    shop_id,
    day,
    split_part(key, '|', 1) AS carrier,
    split_part(key, '|', 2) AS province,
    order_lines,
    returns,
    return_rate,
    baseline_rate,
    damaged_returns,
    damaged_returns / nullif(returns, 0) AS damaged_share,
    quality_returns / nullif(returns, 0) AS quality_share
FROM daily_return_rates
WHERE dimension = 'carrier_region';
