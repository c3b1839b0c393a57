-- drift_features: one row per target day and tested slice with a row that day: its
-- returns and order lines over the last $drift_days days (D-$drift_days+1 .. D) and over
-- the $drift_baseline_days before them, the same one day earlier (to alert once, when
-- the drift first shows), and the two biggest days of the recent window (peak_returns) (a one-day
-- spike is the spike test's, not a drift) (docs/detection.md, "Slow drift").
--
-- Plain counts of daily_return_rates: over weeks the lag between orders and returns
-- evens out. Parameters: $shop_id, $days, $dimensions, $first_day, $recent_from, $last_day,
-- $drift_days, $drift_baseline_days, $lag_days, $min_order_lines.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

-- the days that decide which slices a target day can test (few days, every slice)
recent_rates as (
    select rate.day, rate.dimension, rate.key, rate.order_lines
    from daily_return_rates as rate
    where
        rate.shop_id = $shop_id
        and rate.day between $recent_from::date and $last_day::date
        and list_contains($dimensions::varchar[], rate.dimension)
        and not {carrier_unknown}
),

-- logic CTEs

-- Only slices a target day can test: their exposure over the last $drift_days is at
-- least $drift_days x $min_order_lines, which needs that many order lines paid in the
-- $drift_days + $lag_days days before (each line adds at most 1 to the sum). A product
-- that is its SKU (no product_id) only repeats the SKU.
testable as (
    select distinct rate.dimension, rate.key
    from target_days as target
    inner join recent_rates as rate
        on rate.day between target.day - ($drift_days + $lag_days - 1) and target.day
    group by target.day, rate.dimension, rate.key
    having sum(rate.order_lines) >= $drift_days * $min_order_lines
    -- a product that is its SKU (no product_id) only repeats the SKU
    and not (rate.dimension = 'product' and rate.key in (
        select sku.key from recent_rates as sku where sku.dimension = 'sku'
    ))
),

-- every day of the window, only for those slices (most slices of a big shop are too
-- small to test: reading their history was most of this statement's work)
rates as (
    select rate.day, rate.dimension, rate.key, rate.order_lines, rate.returns
    from daily_return_rates as rate
    semi join testable
        on testable.dimension = rate.dimension
        and testable.key = rate.key
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
),

-- Exposure, not order lines: returns requested on a day come from the orders of the
-- $lag_days before it, so each day's order lines are spread evenly over the day and the
-- $lag_days after it (a promo day's returns land in the next week: the windows must see
-- its orders there too). A slice's first $lag_days days have orders whose returns have
-- not come yet: a base window that starts there reads a rate too low, so they are left
-- out of the base.
calendar as (
    select unnest(generate_series($first_day::date, $last_day::date, interval 1 day))::date as day
),

slices as (
    select rate.dimension, rate.key, min(rate.day) as first_seen
    from rates as rate
    group by all
),

series as (
    select
        calendar.day,
        slice.dimension,
        slice.key,
        coalesce(rate.order_lines, 0) as order_lines,
        coalesce(rate.returns, 0)::double as returns,
        calendar.day >= slice.first_seen + $lag_days as is_seasoned
    from slices as slice
    inner join calendar
        on calendar.day >= slice.first_seen
    left join rates as rate
        on rate.day = calendar.day
        and rate.dimension = slice.dimension
        and rate.key = slice.key
),

exposed as (
    select
        *,
        sum(order_lines) over (
            partition by dimension, key order by day
            rows between $lag_days preceding and current row
        ) / ($lag_days + 1) as exposure
    from series
),

seasoned as (
    select * replace (exposure as order_lines)
    from exposed
),

-- Every window sum below is a difference of running sums (the sum up to a window's last
-- day minus the sum up to the day before its first): one pass over each slice's days
-- instead of a moving frame per window (the frames were most of this statement's time).
running as (
    select
        *,
        sum(returns) over upto as upto_returns,
        sum(order_lines) over upto as upto_lines,
        sum(case when is_seasoned then returns else 0 end) over upto as upto_base_returns,
        sum(case when is_seasoned then order_lines else 0 end) over upto as upto_base_lines,
        sum(case when is_seasoned and order_lines > 0 then 1 else 0 end) over upto
            as upto_base_days
    from seasoned
    window upto as (
        partition by dimension, key order by day
        rows between unbounded preceding and current row
    )
),

-- Each day's own base (D-$drift_days-$drift_baseline_days+1 .. D-$drift_days) and recent
-- window (D-$drift_days+1 .. D), and the same one day earlier.
sums as (
    select
        *,
        upto_returns - coalesce(lag(upto_returns, $drift_days) over by_day, 0)
            as recent_returns,
        upto_lines - coalesce(lag(upto_lines, $drift_days) over by_day, 0) as recent_lines,
        coalesce(lag(upto_base_returns, $drift_days) over by_day, 0)
            - coalesce(lag(upto_base_returns, $drift_days + $drift_baseline_days) over by_day, 0)
            as base_returns,
        coalesce(lag(upto_base_lines, $drift_days) over by_day, 0)
            - coalesce(lag(upto_base_lines, $drift_days + $drift_baseline_days) over by_day, 0)
            as base_lines,
        coalesce(lag(upto_base_days, $drift_days) over by_day, 0)
            - coalesce(lag(upto_base_days, $drift_days + $drift_baseline_days) over by_day, 0)
            as base_days,
        coalesce(lag(upto_returns, 1) over by_day, 0)
            - coalesce(lag(upto_returns, $drift_days + 1) over by_day, 0)
            as recent_returns_before,
        coalesce(lag(upto_lines, 1) over by_day, 0)
            - coalesce(lag(upto_lines, $drift_days + 1) over by_day, 0) as recent_lines_before,
        coalesce(lag(upto_base_returns, $drift_days + 1) over by_day, 0)
            - coalesce(
                lag(upto_base_returns, $drift_days + $drift_baseline_days + 1) over by_day, 0
            ) as base_returns_before,
        coalesce(lag(upto_base_lines, $drift_days + 1) over by_day, 0)
            - coalesce(
                lag(upto_base_lines, $drift_days + $drift_baseline_days + 1) over by_day, 0
            ) as base_lines_before
    from running
    window by_day as (partition by dimension, key order by day)
),

-- A day is above when its returns beat its own base rate x its exposure.
marked as (
    select
        *,
        coalesce(returns > base_returns / nullif(base_lines, 0) * order_lines, false)
            as is_above
    from sums
),

windows as (
    select
        day,
        dimension,
        key,
        recent_returns,
        upto_above - coalesce(lag(upto_above, $drift_days) over by_day, 0) as days_above,
        recent_lines,
        base_returns,
        base_lines,
        base_days,
        recent_returns_before,
        recent_lines_before,
        base_returns_before,
        base_lines_before
    from (
        select *, sum(is_above::int) over upto as upto_above
        from marked
        window upto as (
            partition by dimension, key order by day
            rows between unbounded preceding and current row
        )
    )
    window by_day as (partition by dimension, key order by day)
),

targeted as (
    select *
    from windows
    where day in (select day from target_days)
),

-- The two biggest days of each target row's recent window, by a join of the few rows
-- output (a list aggregate over a moving window of every day of every slice was this
-- statement's costliest step: about a third of its CPU time on a year shop).
peaks as (
    select
        target.day,
        target.dimension,
        target.key,
        list_sum(list_slice(list_reverse_sort(list(day_row.returns)), 1, 2)) as peak_returns
    from targeted as target
    inner join series as day_row
        on day_row.dimension = target.dimension
        and day_row.key = target.key
        and day_row.day between target.day - ($drift_days - 1) and target.day
    group by all
),

final as (
    select
        $shop_id::varchar as shop_id,
        targeted.* exclude (recent_returns_before, recent_lines_before,
            base_returns_before, base_lines_before),
        peaks.peak_returns,
        targeted.recent_returns_before,
        targeted.recent_lines_before,
        targeted.base_returns_before,
        targeted.base_lines_before
    from targeted
    inner join peaks using (day, dimension, key)
)

select * from final
