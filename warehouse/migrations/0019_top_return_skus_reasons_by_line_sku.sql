-- v_top_return_skus: a return's reasons sit beside the returns they explain.
--
-- The view's returns come from daily_return_rates, which count a refund under its order
-- line's SKU when the line is loaded (the 售后 export names the item differently from the
-- order export: transforms/rates.py RETURN_ITEM_SQL); its top reasons were counted under
-- the refund row's own sku_id, so a SKU could show returns and no reasons. The reasons now
-- follow the same rule: the line's SKU when linked, else the refund's own.

CREATE OR REPLACE VIEW v_top_return_skus AS
WITH windows AS (
    SELECT shop_id, max(day) AS last_day, max(day) - 29 AS first_day
    FROM daily_return_rates
    GROUP BY shop_id
),
sku_days AS (
    SELECT d.shop_id, d.key AS sku_id, d.order_lines, d.returns
    FROM daily_return_rates AS d
    JOIN windows AS w ON w.shop_id = d.shop_id AND d.day BETWEEN w.first_day AND w.last_day
    WHERE d.dimension = 'sku'
),
sku_totals AS (
    SELECT shop_id, sku_id, sum(order_lines) AS order_lines, sum(returns) AS returns
    FROM sku_days
    GROUP BY shop_id, sku_id
),
-- a return's SKU is its order line's when the line is loaded, else its own: the rates'
-- rule (RETURN_ITEM_SQL in transforms/rates.py), so the reasons sit beside the returns
-- they explain
reason_counts AS (
    SELECT
        r.shop_id,
        coalesce(line.sku_id, r.sku_id) AS sku_id,
        coalesce(r.reason, '(none)') AS reason,
        count(*) AS n
    FROM refund_records AS r
    JOIN windows AS w
        ON w.shop_id = r.shop_id
        AND r.requested_at::DATE BETWEEN w.first_day AND w.last_day
    LEFT JOIN order_lines AS line
        ON line.shop_id = r.shop_id AND line.line_id = r.line_id
    WHERE r.refund_type IN ('return_refund', 'refund_only')
    GROUP BY ALL
),
top_reasons AS (
    SELECT
        shop_id,
        sku_id,
        list(reason || ' ' || n::VARCHAR ORDER BY n DESC, reason)[1:3] AS top_reasons
    FROM reason_counts
    GROUP BY shop_id, sku_id
),
names AS (
    SELECT shop_id, sku_id, max(product_name) AS product_name
    FROM order_lines
    GROUP BY shop_id, sku_id
),
final AS (
    SELECT
        t.shop_id,
        w.first_day,
        w.last_day,
        t.sku_id,
        n.product_name,
        t.order_lines,
        t.returns,
        CASE WHEN t.order_lines > 0 THEN t.returns / t.order_lines END AS return_rate,
        rank() OVER (PARTITION BY t.shop_id ORDER BY t.returns DESC) AS rank_by_returns,
        coalesce(r.top_reasons, []) AS top_reasons
    FROM sku_totals AS t
    JOIN windows AS w ON w.shop_id = t.shop_id
    LEFT JOIN names AS n ON n.shop_id = t.shop_id AND n.sku_id = t.sku_id
    LEFT JOIN top_reasons AS r ON r.shop_id = t.shop_id AND r.sku_id = t.sku_id
)
SELECT * FROM final;
