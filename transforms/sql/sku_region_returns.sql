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

day_returns as (
    select
        refund.requested_at::date as day,
        -- a return's SKU is its line's when the line is loaded (daily_return_rates.sql)
        coalesce(line.sku_id, refund.sku_id) as sku_id,
        refund.province,
        coalesce(refund.carrier, 'unknown') as carrier,
        coalesce(line.product_id, line.sku_id, refund.sku_id) as product_id,
        refund.refund_id
    from refunds as refund
    cross join scope
    left join order_lines as line
        on line.shop_id = refund.shop_id
        and line.line_id = refund.line_id
    where
        refund.shop_id = $shop_id
        and refund.requested_at >= scope.first_day
        and refund.requested_at < scope.last_day + 1
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at::date in (select day from target_days)
        and list_contains($skus::varchar[], coalesce(line.sku_id, refund.sku_id))
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
