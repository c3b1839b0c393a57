-- Incremental pulls from APIs: how far each stream of each shop is known to be complete.

-- One row per shop, source and stream. `watermark` is the upper bound of the last pull
-- whose every load committed (it is written after them, in its own transaction, and never
-- moves backwards); the next nightly pull re-reads from `watermark` minus the overlap,
-- because statuses change for weeks after a request. Both times are UTC.
CREATE TABLE source_watermarks (
    shop_id     VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,   -- api
    stream      VARCHAR NOT NULL,   -- orders | refunds
    watermark   TIMESTAMP NOT NULL, -- UTC: records updated up to here are in the warehouse
    updated_at  TIMESTAMP NOT NULL, -- UTC: when the watermark last moved
    PRIMARY KEY (shop_id, source, stream)
);
