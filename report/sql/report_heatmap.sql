-- report_heatmap: one row per (region, SKU) cell of the report's heatmap for one shop and
-- period: the $regions provinces with the most order lines × the $skus SKUs with the most
-- returns, each cell's order lines, returns and rate (zero-filled: every cell is present).
-- Regions as daily_return_rates resolves them (the `refunds` view); a return's SKU is its
-- order line's when the line is loaded, else its own, as the rates count it
-- (RETURN_ITEM_SQL in transforms/rates.py). Return definitions as in report_kpis.sql.
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types (VARCHAR[]), $regions,
-- $skus (INTEGER).

with

-- import CTEs

period_lines as (
    select line_id, sku_id, product_name, coalesce(province, 'unknown') as province
    from order_lines
    where shop_id = $shop_id and paid_at >= $start::timestamp and paid_at < $end::timestamp
),

period_returns as (
    select
        refund.refund_id,
        {return_sku_id} as sku_id,
        refund.province
    from refunds as refund
    left join order_lines as line
        on line.shop_id = refund.shop_id and line.line_id = refund.line_id
    where
        refund.shop_id = $shop_id
        and refund.refund_type in (select unnest($return_types::varchar[]))
        and refund.requested_at >= $start::timestamp
        and refund.requested_at < $end::timestamp
),

-- logic CTEs

top_regions as (
    select province, count(distinct line_id) as region_lines
    from period_lines
    group by province
    order by region_lines desc, province
    limit $regions::integer
),

top_skus as (
    select sku_id, count(distinct refund_id) as sku_returns
    from period_returns
    group by sku_id
    order by sku_returns desc, sku_id
    limit $skus::integer
),

sku_names as (
    select sku_id, max(product_name) as product_name
    from period_lines
    group by sku_id
),

cells as (
    select regions.province, regions.region_lines, skus.sku_id, skus.sku_returns
    from top_regions as regions
    cross join top_skus as skus
),

line_counts as (
    select province, sku_id, count(distinct line_id) as order_lines
    from period_lines
    group by province, sku_id
),

return_counts as (
    select province, sku_id, count(distinct refund_id) as returns
    from period_returns
    group by province, sku_id
),

final as (
    select
        cells.province,
        cells.sku_id,
        names.product_name,
        cells.region_lines,
        cells.sku_returns,
        coalesce(lines.order_lines, 0) as order_lines,
        coalesce(rets.returns, 0) as returns,
        coalesce(rets.returns, 0)::double / nullif(lines.order_lines, 0) as return_rate
    from cells
    left join line_counts as lines
        on lines.province = cells.province and lines.sku_id = cells.sku_id
    left join return_counts as rets
        on rets.province = cells.province and rets.sku_id = cells.sku_id
    left join sku_names as names on names.sku_id = cells.sku_id
    order by cells.region_lines desc, cells.province, cells.sku_returns desc, cells.sku_id
)

select * from final
