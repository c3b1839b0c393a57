-- Unattended runs: what each nightly run did (and so which nights the next one must catch
-- up), what happened to every file dropped into an inbox, and the views analysts start
-- from. Views are plain SQL over the marts, so they are always as current as the file.

-- One row per shop, night and run that handled it. The newest 'success' night of a shop is
-- where the next run's catch-up starts.
CREATE TABLE nightly_runs (
    run_id          VARCHAR NOT NULL,   -- the Prefect flow run id (or a uuid outside Prefect)
    shop_id         VARCHAR NOT NULL,
    day             DATE NOT NULL,      -- the night detected and reported on
    target_day      DATE NOT NULL,      -- the night the run was asked for (day <= target_day)
    status          VARCHAR NOT NULL,   -- success | failed
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    summary         JSON                -- files, rows, quarantined, anomalies, alerts, error
);

-- One row per inbox file a run took, by its bytes: where it went and why.
CREATE TABLE inbox_files (
    shop_id         VARCHAR NOT NULL,
    file_name       VARCHAR NOT NULL,
    checksum        VARCHAR,            -- sha256 of the bytes read (NULL if unreadable)
    size_bytes      BIGINT,
    status          VARCHAR NOT NULL,   -- loaded | skipped (already imported) | refused
    load_batch_id   BIGINT,             -- the load_batches row that loaded (or had loaded) it
    reason          VARCHAR,            -- why it was refused
    moved_to        VARCHAR,            -- its path under processed/ or rejected/
    run_id          VARCHAR,
    processed_at    TIMESTAMP NOT NULL
);

-- Analyst views. "Last 30 days" is relative to the newest day in the data (the shop's
-- max(day) in daily_return_rates), not to current_date, so a file restored from a backup
-- or the demo's synthetic months show the same rows as on the night they were made.

-- One row per shop and day: the whole-shop return rate, its literal baseline, and whether
-- the detector flagged the day (for the shop itself, or any slice of it).
CREATE VIEW v_daily_shop AS
WITH shop_rates AS (
    SELECT shop_id, day, order_lines, returns, return_rate, baseline_rate, baseline_days, lift
    FROM daily_return_rates
    WHERE dimension = 'shop' AND key = '*'
),
day_anomalies AS (
    SELECT
        shop_id,
        day,
        bool_or(dimension = 'shop') AS is_shop_anomaly,
        count(*) FILTER (WHERE explained_by IS NULL) AS primary_anomalies,
        count(*) AS anomalies,
        max(CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END) AS worst
    FROM anomalies
    GROUP BY shop_id, day
),
final AS (
    SELECT
        r.shop_id,
        r.day,
        r.order_lines,
        r.returns,
        r.return_rate,
        r.baseline_rate,
        r.baseline_days,
        r.lift,
        coalesce(a.is_shop_anomaly, false) AS is_anomaly,
        coalesce(a.anomalies, 0) AS anomalies,
        coalesce(a.primary_anomalies, 0) AS primary_anomalies,
        CASE a.worst WHEN 3 THEN 'critical' WHEN 2 THEN 'warning' WHEN 1 THEN 'info' END
            AS worst_severity
    FROM shop_rates AS r
    LEFT JOIN day_anomalies AS a ON a.shop_id = r.shop_id AND a.day = r.day
)
SELECT * FROM final;

-- One row per shop and SKU with returns or order lines in the shop's last 30 days of data
-- (the newest day and the 29 before it): volumes, return rate, its rank by returns, the
-- product name and the three most frequent 售后原因 with their counts.
CREATE VIEW v_top_return_skus AS
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
reason_counts AS (
    SELECT r.shop_id, r.sku_id, coalesce(r.reason, '(none)') AS reason, count(*) AS n
    FROM refunds AS r
    JOIN windows AS w
        ON w.shop_id = r.shop_id
        AND r.requested_at::DATE BETWEEN w.first_day AND w.last_day
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

-- One row per shop, province and ISO week (Monday start): order lines paid and returns
-- requested that week, and their ratio. Pivot iso_week into columns for a heatmap.
CREATE VIEW v_region_heatmap AS
WITH region_days AS (
    SELECT shop_id, key AS province, day, order_lines, returns
    FROM daily_return_rates
    WHERE dimension = 'region'
),
final AS (
    SELECT
        shop_id,
        province,
        date_trunc('week', day)::DATE AS week_start,
        strftime(date_trunc('week', day), '%G-W%V') AS iso_week,
        sum(order_lines) AS order_lines,
        sum(returns) AS returns,
        CASE WHEN sum(order_lines) > 0 THEN sum(returns) / sum(order_lines) END AS return_rate
    FROM region_days
    GROUP BY ALL
)
SELECT * FROM final;

-- One row per refund (售后单): hours from the request (申请) to the merchant's approval
-- (同意) and to completion (完结), the seed's 处理时效. NULL while that step has not happened.
CREATE VIEW v_refund_processing_time AS
WITH final AS (
    SELECT
        shop_id,
        refund_id,
        order_id,
        sku_id,
        refund_type,
        reason,
        status,
        province,
        carrier,
        requested_at,
        approved_at,
        completed_at,
        requested_at::DATE AS requested_day,
        round(epoch(approved_at - requested_at) / 3600.0, 2) AS hours_to_approve,
        round(epoch(completed_at - requested_at) / 3600.0, 2) AS hours_to_complete,
        completed_at IS NOT NULL AS is_completed
    FROM refunds
)
SELECT * FROM final;

-- One row per shop and request day: how many refunds, and the median and 90th percentile
-- of their hours to approve and to complete (completed refunds only for the latter).
CREATE VIEW v_refund_processing_daily AS
WITH final AS (
    SELECT
        shop_id,
        requested_day AS day,
        count(*) AS refunds,
        count(*) FILTER (WHERE is_completed) AS completed,
        median(hours_to_approve) AS median_hours_to_approve,
        quantile_cont(hours_to_approve, 0.9) AS p90_hours_to_approve,
        median(hours_to_complete) AS median_hours_to_complete,
        quantile_cont(hours_to_complete, 0.9) AS p90_hours_to_complete
    FROM v_refund_processing_time
    GROUP BY shop_id, requested_day
)
SELECT * FROM final;

-- One row per shop, month and 售后原因 of returns (return_refund, refund_only, as counted
-- in the return rates): how many, and their share of the month's returns.
CREATE VIEW v_return_reasons AS
WITH reasons AS (
    SELECT
        shop_id,
        date_trunc('month', requested_at)::DATE AS month,
        coalesce(reason, '(none)') AS reason,
        count(*) AS returns
    FROM refunds
    WHERE refund_type IN ('return_refund', 'refund_only')
    GROUP BY ALL
),
final AS (
    SELECT
        shop_id,
        month,
        reason,
        returns,
        returns / sum(returns) OVER (PARTITION BY shop_id, month) AS share_of_month,
        rank() OVER (PARTITION BY shop_id, month ORDER BY returns DESC) AS rank_in_month
    FROM reasons
)
SELECT * FROM final;
