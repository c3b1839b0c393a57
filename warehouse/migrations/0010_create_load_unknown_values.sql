-- Labels a load did not recognise (a new 售后类型, 售后状态 or 仲裁状态), so they are never
-- silently bucketed: what the file wrote, how many rows, and what they were counted as.
-- One row per load batch, field and label. The load's summary line names the same.
CREATE TABLE load_unknown_values (
    load_batch_id   BIGINT NOT NULL,
    shop_id         VARCHAR,
    kind            VARCHAR NOT NULL,   -- orders | refunds
    field_name      VARCHAR NOT NULL,   -- the canonical field, e.g. refund_type
    column_name     VARCHAR NOT NULL,   -- the file's header, e.g. 售后类型
    label           VARCHAR NOT NULL,   -- the label as the file wrote it
    row_count       BIGINT NOT NULL,
    mapped_to       VARCHAR,            -- what the rows were counted as; NULL: no value
    loaded_at       TIMESTAMP NOT NULL
);
