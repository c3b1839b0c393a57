-- Returns per buyer and request day: what the nightly serial-returner tracking reads
-- (transforms/sql/serial_returners.sql), kept beside the rates so a night does not join 90
-- days of refunds to their order lines (0.13 of a year shop's ~1.9 s night; issue 17).

-- One row per shop, request day, buyer and reason with at least one return (refund_type
-- return_refund or refund_only) whose order line has a buyer: refunds reach their buyer
-- through their order line (the 售后 export has no buyer column). `rates.recompute_rates`
-- replaces a day's rows whenever it replaces its rates, from the same staged returns, so
-- a line loaded after its refund moves the return to its buyer (the load marks the
-- refund's day dirty). customer_id is the order line's pseudonym (a keyed hash, never
-- any PII).
CREATE TABLE buyer_returns (
    shop_id     VARCHAR NOT NULL,
    day         DATE NOT NULL,      -- requested_at::date
    customer_id VARCHAR NOT NULL,   -- the order line's buyer pseudonym
    reason      VARCHAR NOT NULL,   -- the refund's reason; '(none)' when it has none
    returns     BIGINT NOT NULL     -- distinct refund_id
);

INSERT INTO buyer_returns
SELECT
    refund.shop_id,
    refund.requested_at::date AS day,
    line.customer_id,
    coalesce(refund.reason, '(none)') AS reason,
    count(DISTINCT refund.refund_id) AS returns
FROM refund_records AS refund
INNER JOIN order_lines AS line
    ON line.shop_id = refund.shop_id
    AND line.line_id = refund.line_id
WHERE
    refund.refund_type IN ('return_refund', 'refund_only')
    AND line.customer_id IS NOT NULL
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;  -- in day order, as `rates.recompute_rates` inserts (0021)
