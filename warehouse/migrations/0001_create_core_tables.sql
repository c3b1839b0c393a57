-- The analyst-facing core: what was sold, what came back, what was refused, and where
-- every row came from. Grain of each table is stated above it.

-- One row per shop and order line (子订单). Upserted by (shop_id, line_id).
CREATE TABLE order_lines (
    shop_id         VARCHAR NOT NULL,
    order_id        VARCHAR NOT NULL,
    line_id         VARCHAR NOT NULL,
    sku_id          VARCHAR NOT NULL,
    product_name    VARCHAR,
    quantity        INTEGER,
    unit_price      DECIMAL(18, 2),
    amount          DECIMAL(18, 2),
    paid_at         TIMESTAMP NOT NULL,
    province        VARCHAR,
    city            VARCHAR,
    carrier         VARCHAR,
    customer_id     VARCHAR,   -- HMAC-SHA256 of the buyer id (or 抖店 phone), never the raw value
    order_status    VARCHAR,
    source_format   VARCHAR NOT NULL,
    load_batch_id   BIGINT NOT NULL,
    loaded_at       TIMESTAMP NOT NULL
);

-- One row per shop and refund (售后单) as loaded. Upserted by (shop_id, refund_id).
-- Region is often unknown here (the 售后 export has none); the `refunds` view resolves it.
CREATE TABLE refund_records (
    shop_id             VARCHAR NOT NULL,
    refund_id           VARCHAR NOT NULL,
    order_id            VARCHAR NOT NULL,
    line_id             VARCHAR,
    sku_id              VARCHAR NOT NULL,
    product_name        VARCHAR,
    refund_type         VARCHAR NOT NULL,  -- return_refund | refund_only | exchange | other
    refund_type_raw     VARCHAR,
    reason              VARCHAR,
    reason_detail       VARCHAR,
    status              VARCHAR,           -- requested | in_progress | completed | rejected | cancelled | closed
    status_raw          VARCHAR,
    requested_at        TIMESTAMP NOT NULL,
    approved_at         TIMESTAMP,
    completed_at        TIMESTAMP,
    refund_amount       DECIMAL(18, 2),
    quantity            INTEGER,
    province            VARCHAR,
    carrier             VARCHAR,
    return_carrier      VARCHAR,
    arbitration_status  VARCHAR,
    source_format       VARCHAR NOT NULL,
    load_batch_id       BIGINT NOT NULL,
    loaded_at           TIMESTAMP NOT NULL
);

-- One row per refund with its region resolved at query time: its own province, else its
-- order line's (line_id = 子订单编号), else its order's, else 'unknown'. Resolving here, not
-- at load, makes the import order of refund and order files irrelevant.
CREATE VIEW refunds AS
WITH order_regions AS (
    SELECT shop_id, order_id, min(province) AS province, min(carrier) AS carrier
    FROM order_lines
    WHERE province IS NOT NULL
    GROUP BY shop_id, order_id
)
SELECT
    r.shop_id,
    r.refund_id,
    r.order_id,
    r.line_id,
    r.sku_id,
    r.product_name,
    r.refund_type,
    r.refund_type_raw,
    r.reason,
    r.reason_detail,
    r.status,
    r.status_raw,
    r.requested_at,
    r.approved_at,
    r.completed_at,
    r.refund_amount,
    r.quantity,
    coalesce(r.province, line.province, ord.province, 'unknown') AS province,
    CASE
        WHEN r.province IS NOT NULL THEN 'refund'
        WHEN line.province IS NOT NULL THEN 'order_line'
        WHEN ord.province IS NOT NULL THEN 'order'
        ELSE 'unknown'
    END AS province_source,
    coalesce(r.carrier, line.carrier, ord.carrier) AS carrier,
    r.return_carrier,
    r.arbitration_status,
    r.source_format,
    r.load_batch_id,
    r.loaded_at
FROM refund_records AS r
LEFT JOIN order_lines AS line
    ON line.shop_id = r.shop_id AND line.line_id = r.line_id
LEFT JOIN order_regions AS ord
    ON ord.shop_id = r.shop_id AND ord.order_id = r.order_id;

-- One row per imported file (or API pull). Its checksum makes re-imports no-ops.
CREATE SEQUENCE load_batch_id_seq START 1;
CREATE TABLE load_batches (
    load_batch_id       BIGINT PRIMARY KEY,
    shop_id             VARCHAR,
    source              VARCHAR NOT NULL,   -- file | api
    file_name           VARCHAR NOT NULL,
    file_path           VARCHAR,
    checksum            VARCHAR NOT NULL,   -- sha256 of the file's bytes
    kind                VARCHAR NOT NULL,   -- orders | refunds
    profile             VARCHAR NOT NULL,
    encoding            VARCHAR,
    rows_read           BIGINT NOT NULL,
    rows_loaded         BIGINT NOT NULL,
    rows_inserted       BIGINT NOT NULL,
    rows_updated        BIGINT NOT NULL,
    rows_quarantined    BIGINT NOT NULL,
    rows_duplicate      BIGINT NOT NULL,
    validation_success  BOOLEAN NOT NULL,
    validation_result   JSON,               -- a GX ExpectationSuiteValidationResult
    started_at          TIMESTAMP NOT NULL,
    loaded_at           TIMESTAMP NOT NULL,
    duration_seconds    DOUBLE
);

-- One row per source row that broke a rule. raw_row holds the row's non-personal columns.
CREATE TABLE quarantine (
    load_batch_id   BIGINT NOT NULL,
    shop_id         VARCHAR,
    file_name       VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    source_row      BIGINT NOT NULL,   -- spreadsheet row: the header is row 1
    rule            VARCHAR NOT NULL,  -- first rule broken
    column_name     VARCHAR,
    reason          VARCHAR NOT NULL,  -- every rule broken, readable
    raw_row         JSON,
    quarantined_at  TIMESTAMP NOT NULL
);

-- One row per shop-day whose inputs a load changed and whose rates must be recomputed
-- (a paid_at day, a requested_at day, or the request day of a refund whose region an
-- order-line load just resolved). Detection consumes these rows.
CREATE TABLE dirty_days (
    shop_id         VARCHAR NOT NULL,
    day             DATE NOT NULL,
    load_batch_id   BIGINT,
    marked_at       TIMESTAMP NOT NULL
);
