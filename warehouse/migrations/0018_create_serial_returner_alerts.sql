-- Issue 17, "customer" slice: an alert when a NEW serial returner appears. The shop is told
-- about each buyer once; these tables remember whom it was told about, so a rerun of a
-- night, a catch-up or an upgrade never tells it again (docs/alerts.md, "Serial
-- returners"). Written by `warehouse.serial_returners.track_serial_returners`, read by
-- the digest. Buyers are the pseudonym `customer_id` (an HMAC, never any PII).

-- One row per shop whose serial returners are tracked: the first night tracked. Its serial
-- returners are the starting point (recorded, not alerted one by one: an upgrade must not
-- flood the chat); nights before it are history and record nothing.
CREATE TABLE serial_returner_tracking (
    shop_id         VARCHAR PRIMARY KEY,
    first_day       DATE NOT NULL,
    started_at      TIMESTAMP NOT NULL
);

-- One row per shop and buyer ever found a serial returner (the definition of the view
-- v_serial_returners, as of the night: transforms/sql/serial_returners.sql), with the
-- figures of the night they were first seen. `is_starting_point`: recorded on the first
-- night tracked, not alerted; otherwise the buyer was new in the digest of first_seen_day.
CREATE TABLE serial_returners_seen (
    shop_id             VARCHAR NOT NULL,
    customer_id         VARCHAR NOT NULL,   -- HMAC-SHA256 pseudonym, as order_lines
    first_seen_day      DATE NOT NULL,
    returns             BIGINT NOT NULL,    -- in the 90 days up to first_seen_day
    last_30_days_returns BIGINT NOT NULL,
    order_lines         BIGINT NOT NULL,    -- paid in those 90 days
    return_rate         DOUBLE,             -- returns / order_lines (NULL without lines)
    top_reasons         VARCHAR,            -- '原因 n; …', the three most frequent
    is_starting_point   BOOLEAN NOT NULL,
    recorded_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (shop_id, customer_id)
);
