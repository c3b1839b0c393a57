-- report_anomalies: one row per anomaly of one shop in the period (primary ones first, by
-- day), with the product name of SKU slices, for the report's "what happened" table.
--
-- Parameters: $shop_id, $start, $end (DATE, end exclusive).

with

-- import CTEs

period_anomalies as (
    select *
    from anomalies
    where shop_id = $shop_id and day >= $start::date and day < $end::date
),

sku_names as (
    select sku_id, max(product_name) as product_name
    from order_lines
    where
        shop_id = $shop_id
        and sku_id in (select key from period_anomalies where dimension = 'sku')
    group by sku_id
),

-- logic CTEs

final as (
    select
        anomaly.day,
        anomaly.dimension,
        anomaly.key,
        names.product_name,
        anomaly.severity,
        anomaly.return_rate,
        anomaly.baseline_rate,
        anomaly.lift,
        anomaly.order_lines,
        anomaly.returns,
        anomaly.expected_returns,
        anomaly.extra_returns,
        anomaly.explained_by,
        anomaly.related,
        anomaly.reason,
        anomaly.explained_by is null as is_primary
    from period_anomalies as anomaly
    left join sku_names as names
        on anomaly.dimension = 'sku' and names.sku_id = anomaly.key
    order by anomaly.day, is_primary desc, anomaly.extra_returns desc nulls last, anomaly.key
)

select * from final
