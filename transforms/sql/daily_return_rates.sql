-- daily_return_rates: one row per shop, day, dimension and key that had at least one order
-- line or one return that day (no zero-filled rows), for the target days in $days.
--
-- Definitions (docs/detection.md): day = calendar date of the shop-local timestamp;
-- order_lines = distinct line_id paid that day; returns = distinct refund_id of type
-- return_refund or refund_only requested that day, whatever their status; region = the
-- `refunds` view's resolved province; baseline = mean of the non-NULL daily rates of the
-- previous $window_days calendar days.
--
-- order_lines and refund_records hold one row per (shop_id, line_id) and (shop_id,
-- refund_id): the loader upserts on those keys. So count(*) over a slice-day's rows is the
-- count of its distinct line_id / refund_id, without a costly count(distinct).
--
-- Returns are read from the temp table _rw_returns, which `rates.staged_returns` fills
-- with the returns requested $first_day .. $last_day and their regions resolved as the
-- `refunds` view does, reading order_lines only where a refund needs it (the view, read
-- here, would look up every order line of the shop each time).
--
-- The slices a row falls into are spliced in where `unnest(` names them: one definition,
-- SLICES_SQL in transforms/rates.py, shared with anomaly_buyers.sql.
-- Slices (issue 17): product = product_id, else the SKU; category = the line's own, else
-- the settings' [[categories]] rule ({category_rule}, filled in by
-- `rates.daily_rates_sql`), else 'unknown'; carrier = the refund's own, else its line's,
-- else 'unknown'. The item a return counts under (its SKU: its order line's when the
-- line is loaded, else its own; its product, name and own category) is spliced in by
-- `rates.daily_rates_sql`: one definition, RETURN_ITEM_SQL in transforms/rates.py, shared
-- with anomaly_buyers.sql and the monthly report (report/sql/). A
-- return counts as quality (is_quality) or damaged in transit (is_damaged) when its
-- 售后原因 matches $quality_pattern / $damage_pattern (`rates.QUALITY_REASON_PATTERN`).
--
-- Parameters: $shop_id, $days (DATE[]: the days to emit), $window_days, $quality_pattern,
-- $damage_pattern, and the days read:
-- $first_day (= min($days) - $window_days) .. $last_day (= max($days)), constants so the
-- scans skip every row group outside them.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

scoped_order_lines as (
    select
        line.line_id,
        line.paid_at::date as day,
        coalesce(line.province, 'unknown') as province,
        line.sku_id,
        coalesce(line.product_id, line.sku_id) as product_id,
        line.product_name,
        line.category as own_category,
        coalesce(line.carrier, 'unknown') as carrier
    from order_lines as line
    where
        line.shop_id = $shop_id
        and line.paid_at >= $first_day::date
        and line.paid_at < $last_day::date + 1
),

scoped_returns as (
    select
        staged.refund_id,
        staged.day,
        coalesce(
            staged.own_province, staged.line_province, staged.order_province, 'unknown'
        ) as province,
        {return_sku_id} as sku_id,
        {return_product_id} as product_id,
        {return_product_name} as product_name,
        {return_category} as own_category,
        coalesce(staged.own_carrier, staged.line_carrier, 'unknown') as carrier,
        coalesce(regexp_matches(staged.reason, $quality_pattern), false) as is_quality,
        coalesce(regexp_matches(staged.reason, $damage_pattern), false) as is_damaged
    from _rw_returns as staged
),

-- logic CTEs

-- Each line and each return in every slice it belongs to: shop, region, sku, product,
-- category (its own, else the [[categories]] rule, else 'unknown'), carrier and
-- carrier x province (key '<carrier>|<province>').
line_slices as (
    select
        day,
        unnest({slices}) as slice
    from scoped_order_lines
),

return_slices as (
    select
        day,
        is_quality,
        is_damaged,
        unnest({slices}) as slice
    from scoped_returns
),

order_counts as (
    select day, slice.dimension, slice.key, count(*) as order_lines
    from line_slices
    group by all
),

return_counts as (
    select
        day,
        slice.dimension,
        slice.key,
        count(*) as returns,
        count(*) filter (where is_quality) as quality_returns,
        count(*) filter (where is_damaged) as damaged_returns
    from return_slices
    group by all
),

slice_days as (
    select
        coalesce(orders.day, rets.day) as day,
        coalesce(orders.dimension, rets.dimension) as dimension,
        coalesce(orders.key, rets.key) as key,
        coalesce(orders.order_lines, 0) as order_lines,
        coalesce(rets.returns, 0) as returns,
        coalesce(rets.quality_returns, 0) as quality_returns,
        coalesce(rets.damaged_returns, 0) as damaged_returns
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

-- Each target day's baseline, two ways with the same rows out; `rates.daily_rates_sql`
-- picks one ({baselines}). For a few target days (a nightly run emits one or a few of
-- the 29+ days it reads), the rates of the $window_days days before each, joined per
-- target day: the moving-window average over every slice-day read was the statement's
-- costliest step (about 40% of its CPU time on a year shop, one target day). For a backfill of many days, the moving window (the join would repeat each
-- day once per target day after it).
-- The days the joined baselines read ({history_rates}). `daily_rates`: every day read
-- from the order lines and refunds ($first_day = min($days) - $window_days). Or, for a
-- nightly run whose stored rows are current (`rates.daily_rates_sql(stored_history=True)`,
-- with $first_day = min($days), so only the target days are read from the order lines
-- and refunds): the target days' fresh rates and the window's other days as stored in
-- daily_return_rates (the same return_rate: returns / order_lines of the same rows).
stored_history_rates as (
    select day, dimension, key, return_rate
    from daily_rates
    where day in (select day from target_days)
    union all
    select stored.day, stored.dimension, stored.key, stored.return_rate
    from daily_return_rates as stored
    where
        stored.shop_id = $shop_id
        and stored.day >= $first_day::date - $window_days
        and stored.day < $last_day::date
        and stored.day not in (select day from target_days)
),

history as (
    select target.day as target_day, rate.dimension, rate.key, rate.return_rate
    from target_days as target
    inner join {history_rates} as rate
        on rate.day between target.day - $window_days and target.day - 1
),

baselines_joined as (
    select
        today.*,
        history_stats.baseline_rate,
        coalesce(history_stats.baseline_days, 0) as baseline_days
    from daily_rates as today
    left join (
        select
            target_day,
            dimension,
            key,
            avg(return_rate) as baseline_rate,
            count(return_rate) as baseline_days
        from history
        group by all
    ) as history_stats
        on history_stats.target_day = today.day
        and history_stats.dimension = today.dimension
        and history_stats.key = today.key
    where today.day in (select day from target_days)
),

baselines_window as (
    select
        *,
        avg(return_rate) over before_day as baseline_rate,
        count(return_rate) over before_day as baseline_days
    from daily_rates
    window before_day as (
        partition by dimension, key
        order by day
        range between $window_days preceding and 1 preceding
    )
    qualify day in (select day from target_days)
),

final as (
    select
        $shop_id::varchar as shop_id,
        day,
        dimension,
        key,
        order_lines,
        returns,
        quality_returns,
        damaged_returns,
        return_rate,
        baseline_rate,
        baseline_days::integer as baseline_days,
        return_rate / nullif(baseline_rate, 0) - 1 as lift,
        now()::timestamp as computed_at
    from {baselines}
)

select * from final
