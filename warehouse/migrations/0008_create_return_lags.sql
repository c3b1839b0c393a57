-- Return lags per request day: what the default detector's return-lag profile reads,
-- kept beside the rates so a night does not join 119 days of refunds to their order
-- lines (docs/detection.md, "Incremental recomputation").

-- One row per shop, request day and lag (days from payment to request, 0 .. 31) with at
-- least one return (refund_type return_refund or refund_only) linked to its order line.
-- `rates.recompute_rates` replaces a day's rows whenever it replaces its rates, from the
-- same staged returns; lags beyond 31 days are not kept (the detector reads
-- return_lag_days of them, and joins the tables itself when that is more than 31).
CREATE TABLE return_lags (
    shop_id     VARCHAR NOT NULL,
    day         DATE NOT NULL,      -- requested_at::date
    lag_days    INTEGER NOT NULL,   -- day - paid_at::date of the refund's order line
    refunds     BIGINT NOT NULL     -- distinct refund_id
);

INSERT INTO return_lags
SELECT
    refund.shop_id,
    refund.requested_at::date AS day,
    (refund.requested_at::date - line.paid_at::date)::integer AS lag_days,
    count(*) AS refunds
FROM refund_records AS refund
INNER JOIN order_lines AS line
    ON line.shop_id = refund.shop_id
    AND line.line_id = refund.line_id
WHERE
    refund.refund_type IN ('return_refund', 'refund_only')
    AND refund.requested_at::date - line.paid_at::date BETWEEN 0 AND 31
GROUP BY 1, 2, 3;
