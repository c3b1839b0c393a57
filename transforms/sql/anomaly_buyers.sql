-- anomaly_buyers: for each wanted anomaly (slice and request-day range), how many of its
-- returns came from how many buyers, and from its top one and two buyers: a spike made by
-- one or two buyers is a buyer event (a bulk cancellation, a serial returner), not a
-- product problem (issue 17, "buyer concentration").
--
-- Refunds reach their buyer through their order line (the 售后 export has no buyer
-- column): lines paid from 60 days before the first wanted day are looked at; returns
-- whose line is elsewhere or has no buyer count under no buyer (NULL customer_id). A
-- return's region here is its own province, else its line's (not its order's): a region
-- row can count a few returns fewer than daily_return_rates.
--
-- The slices a return falls into are spliced in at `unnest(` (SLICES_SQL in
-- transforms/rates.py, shared with daily_return_rates.sql); {category_rule}: the
-- settings' [[categories]] rule; the item a return counts under is RETURN_ITEM_SQL (the
-- same file: its line's SKU when the line is loaded). Parameters: $shop_id, $idx
-- (INTEGER[]), $dimensions, $keys (VARCHAR[]), $first_days, $last_days (DATE[]).

with

wanted as (
    select
        unnest($idx::integer[]) as idx,
        unnest($dimensions::varchar[]) as dimension,
        unnest($keys::varchar[]) as key,
        unnest($first_days::date[]) as first_day,
        unnest($last_days::date[]) as last_day
),

scope as (
    select min(first_day) as first_day, max(last_day) as last_day from wanted
),

-- import CTEs

scoped_lines as (
    select line.*
    from order_lines as line
    cross join scope
    where
        line.shop_id = $shop_id
        and line.paid_at >= scope.first_day - 60
        and line.paid_at < scope.last_day + 1
),

scoped_returns as (
    select
        refund.requested_at::date as day,
        line.customer_id,
        coalesce(refund.province, line.province, 'unknown') as province,
        {return_sku_id} as sku_id,
        {return_product_id} as product_id,
        {return_product_name} as product_name,
        {return_category} as own_category,
        coalesce(refund.carrier, line.carrier, 'unknown') as carrier
    from refund_records as refund
    cross join scope
    left join scoped_lines as line
        on line.line_id = refund.line_id
    where
        refund.shop_id = $shop_id
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at >= scope.first_day
        and refund.requested_at < scope.last_day + 1
),

-- logic CTEs

return_slices as (
    select
        day,
        customer_id,
        unnest({slices}) as slice
    from scoped_returns
),

per_buyer as (
    select wanted.idx, rets.customer_id, count(*) as returns
    from wanted
    inner join return_slices as rets
        on rets.slice.dimension = wanted.dimension
        and rets.slice.key = wanted.key
        and rets.day between wanted.first_day and wanted.last_day
    group by all
),

ranked as (
    select
        *,
        row_number() over (
            partition by idx order by (customer_id is null), returns desc, customer_id
        ) as rank
    from per_buyer
),

final as (
    select
        idx,
        sum(returns) as returns,
        count(customer_id) as buyers,
        coalesce(sum(returns) filter (where rank = 1 and customer_id is not null), 0)
            as top_buyer_returns,
        coalesce(sum(returns) filter (where rank <= 2 and customer_id is not null), 0)
            as top2_buyer_returns
    from ranked
    group by idx
)

select * from final
