-- The marts ops act on: exact daily return rates with their literal baselines, and the
-- anomalies the detector raised from them. Both are replaced day by day (delete the days,
-- insert their rows), so a recompute or a backfill is idempotent.

-- One row per shop, day, dimension and key that had at least one order line or one return
-- that day (no zero-filled rows). dimension/key: 'shop'/'*', 'region'/province (or
-- 'unknown'), 'sku'/sku_id. Every column follows the definitions in docs/detection.md.
CREATE TABLE daily_return_rates (
    shop_id         VARCHAR NOT NULL,
    day             DATE NOT NULL,
    dimension       VARCHAR NOT NULL,   -- shop | region | sku
    key             VARCHAR NOT NULL,   -- '*' | province | sku_id
    order_lines     BIGINT NOT NULL,    -- distinct line_id paid on day
    returns         BIGINT NOT NULL,    -- distinct refund_id (return_refund, refund_only) requested on day
    return_rate     DOUBLE,             -- returns / order_lines; NULL when order_lines = 0
    baseline_rate   DOUBLE,             -- mean non-NULL return_rate over day-window_days .. day-1
    baseline_days   INTEGER NOT NULL,   -- how many days that mean has
    lift            DOUBLE,             -- return_rate / baseline_rate - 1; NULL when undefined
    computed_at     TIMESTAMP NOT NULL
);

-- One row per shop, day, dimension and key the detector flagged. A row whose explained_by
-- is set repeats, on a wider slice, the excess of the primary anomaly it names.
CREATE TABLE anomalies (
    shop_id             VARCHAR NOT NULL,
    day                 DATE NOT NULL,
    dimension           VARCHAR NOT NULL,
    key                 VARCHAR NOT NULL,
    return_rate         DOUBLE,
    baseline_rate       DOUBLE,
    lift                DOUBLE,
    order_lines         BIGINT NOT NULL,
    returns             BIGINT NOT NULL,
    exposure_lines      DOUBLE,     -- order lines feeding the day's returns (lag-weighted)
    detector_rate       DOUBLE,     -- returns per exposure line over the clean history
    expected_returns    DOUBLE,
    extra_returns       DOUBLE,     -- returns - expected_returns
    dispersion          DOUBLE,     -- negative-binomial overdispersion used (0 = Poisson)
    p_value             DOUBLE,     -- upper tail P(X >= returns); NULL in literal mode
    q_value             DOUBLE,     -- Benjamini-Hochberg adjusted over the night's tests
    score               DOUBLE,     -- -log10(p_value), capped at 50
    severity            VARCHAR NOT NULL,   -- info | warning | critical
    explained_by        VARCHAR,    -- NULL for a primary anomaly, else 'sku:<key>' / 'region:<key>'
    related             VARCHAR[],  -- on a primary: the wider slices it explains
    reason              VARCHAR NOT NULL,
    mode                VARCHAR NOT NULL,   -- default | literal
    detected_at         TIMESTAMP NOT NULL
);
