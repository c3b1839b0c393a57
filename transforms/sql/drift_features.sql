-- drift_features: one row per target day and tested slice with a row that day: its
-- returns and order lines over the last $drift_days days (D-$drift_days+1 .. D) and over
-- the $drift_baseline_days before them, the same one day earlier (to alert once, when
-- the drift first shows), and the two biggest days of the recent window (peak_returns) (a one-day
-- spike is the spike test's, not a drift) (docs/detection.md, "Slow drift").
--
-- Plain counts of daily_return_rates: over weeks the lag between orders and returns
-- evens out. Parameters: $shop_id, $days, $dimensions, $first_day, $last_day,
-- $drift_days, $drift_baseline_days, $lag_days, $min_order_lines.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

rates as (
    select rate.day, rate.dimension, rate.key, rate.order_lines, rate.returns
    from daily_return_rates as rate
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
        and list_contains($dimensions::varchar[], rate.dimension)
        and not (rate.dimension in ('carrier', 'carrier_region')
            and (rate.key = 'unknown' or rate.key like 'unknown|%'))
),

-- logic CTEs

-- Exposure, not order lines: returns requested on a day come from the orders of the
-- $lag_days before it, so each day's order lines are spread evenly over the day and the
-- $lag_days after it (a promo day's returns land in the next week: the windows must see
-- its orders there too). A slice's first $lag_days days have orders whose returns have
-- not come yet: a base window that starts there reads a rate too low, so they are left
-- out of the base.
calendar as (
    select unnest(generate_series($first_day::date, $last_day::date, interval 1 day))::date as day
),

-- Only slices a target day can test: their exposure over the last $drift_days is at
-- least $drift_days x $min_order_lines, which needs that many order lines paid in the
-- $drift_days + $lag_days days before (each line adds at most 1 to the sum). A product
-- that is its SKU (no product_id) only repeats the SKU.
testable as (
    select distinct rate.dimension, rate.key
    from target_days as target
    inner join rates as rate
        on rate.day between target.day - ($drift_days + $lag_days - 1) and target.day
    group by target.day, rate.dimension, rate.key
    having sum(rate.order_lines) >= $drift_days * $min_order_lines
    -- a product that is its SKU (no product_id) only repeats the SKU
    and not (rate.dimension = 'product' and rate.key in (
        select sku.key from rates as sku where sku.dimension = 'sku'
    ))
),

slices as (
    select rate.dimension, rate.key, min(rate.day) as first_seen
    from rates as rate
    semi join testable
        on testable.dimension = rate.dimension
        and testable.key = rate.key
    group by all
),

series as (
    select
        calendar.day,
        slice.dimension,
        slice.key,
        coalesce(rate.order_lines, 0) as order_lines,
        coalesce(rate.returns, 0) as returns,
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

base_rates as (
    -- each day's own base rate, to tell the days of the recent window above it
    select
        *,
        sum(returns) filter (where is_seasoned) over base / nullif(
            sum(order_lines) filter (where is_seasoned) over base, 0
        ) as day_base_rate
    from seasoned
    window base as (
        partition by dimension, key order by day
        range between ($drift_days + $drift_baseline_days - 1) preceding
            and $drift_days preceding
    )
),

marked as (
    select
        *,
        coalesce(returns > day_base_rate * order_lines, false) as is_above
    from base_rates
),

windows as (
    select
        day,
        dimension,
        key,
        sum(returns) over recent as recent_returns,
        count(*) filter (where is_above) over recent as days_above,
        sum(order_lines) over recent as recent_lines,
        sum(returns) filter (where is_seasoned) over base as base_returns,
        sum(order_lines) filter (where is_seasoned) over base as base_lines,
        count(*) filter (where order_lines > 0 and is_seasoned) over base as base_days,
        sum(returns) over recent_before as recent_returns_before,
        sum(order_lines) over recent_before as recent_lines_before,
        sum(returns) filter (where is_seasoned) over base_before as base_returns_before,
        sum(order_lines) filter (where is_seasoned) over base_before as base_lines_before
    from marked
    window
        recent as (
            partition by dimension, key order by day
            range between ($drift_days - 1) preceding and current row
        ),
        base as (
            partition by dimension, key order by day
            range between ($drift_days + $drift_baseline_days - 1) preceding
                and $drift_days preceding
        ),
        recent_before as (
            partition by dimension, key order by day
            range between $drift_days preceding and 1 preceding
        ),
        base_before as (
            partition by dimension, key order by day
            range between ($drift_days + $drift_baseline_days) preceding
                and ($drift_days + 1) preceding
        )
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
