-- daily_return_rates: one row per shop, day, dimension and key that had at least one order
-- line or one return that day (no zero-filled rows), for the target days in $days.
--
-- Definitions (docs/detection.md): day = calendar date of the shop-local timestamp;
-- order_lines = distinct line_id paid that day; returns = distinct refund_id of type
-- return_refund or refund_only requested that day, whatever their status; region = the
-- `refunds` view's resolved province; baseline = mean of the non-NULL daily rates of the
-- previous $window_days calendar days.
--
-- Parameters: $shop_id, $days (DATE[]: the days to emit), $window_days.
-- Reads order lines and refunds from min($days) - $window_days to max($days) only.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

scope as (
    select
        min(day) - $window_days::integer as first_day,
        max(day) as last_day
    from target_days
),

-- import CTEs

scoped_order_lines as (
    select
        line.line_id,
        line.paid_at::date as day,
        coalesce(line.province, 'unknown') as province,
        line.sku_id
    from order_lines as line
    cross join scope
    where
        line.shop_id = $shop_id
        and line.paid_at >= scope.first_day
        and line.paid_at < scope.last_day + 1
),

scoped_returns as (
    select
        refund.refund_id,
        refund.requested_at::date as day,
        refund.province,
        refund.sku_id
    from refunds as refund
    cross join scope
    where
        refund.shop_id = $shop_id
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at >= scope.first_day
        and refund.requested_at < scope.last_day + 1
),

-- logic CTEs

order_counts as (
    select day, 'shop' as dimension, '*' as key, count(distinct line_id) as order_lines
    from scoped_order_lines
    group by day
    union all
    select day, 'region' as dimension, province as key, count(distinct line_id) as order_lines
    from scoped_order_lines
    group by day, province
    union all
    select day, 'sku' as dimension, sku_id as key, count(distinct line_id) as order_lines
    from scoped_order_lines
    group by day, sku_id
),

return_counts as (
    select day, 'shop' as dimension, '*' as key, count(distinct refund_id) as returns
    from scoped_returns
    group by day
    union all
    select day, 'region' as dimension, province as key, count(distinct refund_id) as returns
    from scoped_returns
    group by day, province
    union all
    select day, 'sku' as dimension, sku_id as key, count(distinct refund_id) as returns
    from scoped_returns
    group by day, sku_id
),

slice_days as (
    select
        coalesce(orders.day, rets.day) as day,
        coalesce(orders.dimension, rets.dimension) as dimension,
        coalesce(orders.key, rets.key) as key,
        coalesce(orders.order_lines, 0) as order_lines,
        coalesce(rets.returns, 0) as returns
    from order_counts as orders
    full outer join return_counts as rets
        on rets.day = orders.day
        and rets.dimension = orders.dimension
        and rets.key = orders.key
),

daily_rates as (
    select
        *,
        returns::double / nullif(order_lines, 0) as return_rate
    from slice_days
),

baselines as (
    select
        *,
        avg(return_rate) over history as baseline_rate,
        count(return_rate) over history as baseline_days
    from daily_rates
    window history as (
        partition by dimension, key
        order by day
        range between $window_days preceding and 1 preceding
    )
),

final as (
    select
        $shop_id::varchar as shop_id,
        day,
        dimension,
        key,
        order_lines,
        returns,
        return_rate,
        baseline_rate,
        baseline_days::integer as baseline_days,
        return_rate / nullif(baseline_rate, 0) - 1 as lift,
        now()::timestamp as computed_at
    from baselines
    where day in (select day from target_days)
)

select * from final
