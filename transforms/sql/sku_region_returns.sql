-- sku_region_returns: one row per target day, sku_id, resolved province and carrier with
-- returns that day, for the given SKUs, with the SKU's product: how a SKU's returns split
-- over regions and carrier x province slices, so that a SKU spike can be recognised
-- inside their excess, its product's and the shop's.
--
-- Parameters: $shop_id, $days (DATE[]), $skus (VARCHAR[]).

with

target_days as (
    select distinct unnest($days::date[]) as day
),

scope as (
    select min(day) as first_day, max(day) as last_day from target_days
),

-- import CTEs

day_refunds as (
    select
        refund.requested_at::date as day,
        refund.line_id,
        refund.sku_id,
        refund.province,
        coalesce(refund.carrier, 'unknown') as carrier,
        refund.refund_id
    from refunds as refund
    cross join scope
    where
        refund.shop_id = $shop_id
        and refund.requested_at >= scope.first_day
        and refund.requested_at < scope.last_day + 1
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at::date in (select day from target_days)
),

-- only the order lines those refunds name: a semi-join keeps the join's build side the
-- night's refunds, not the whole order_lines table (10M lines ran out of a 1 GB
-- memory_limit on a shop-wide surge night)
refund_lines as (
    select line_id, sku_id, product_id
    from order_lines
    where shop_id = $shop_id and line_id in (select line_id from day_refunds)
),

day_returns as (
    select
        refund.day,
        -- a return's SKU is its line's when the line is loaded (daily_return_rates.sql)
        coalesce(line.sku_id, refund.sku_id) as sku_id,
        refund.province,
        refund.carrier,
        coalesce(line.product_id, line.sku_id, refund.sku_id) as product_id,
        refund.refund_id
    from day_refunds as refund
    left join refund_lines as line on line.line_id = refund.line_id
    where list_contains($skus::varchar[], coalesce(line.sku_id, refund.sku_id))
),

-- logic CTEs

final as (
    select
        day,
        sku_id as key,
        province,
        carrier,
        any_value(product_id) as product_id,
        count(distinct refund_id) as returns
    from day_returns
    group by day, sku_id, province, carrier
)

select * from final
