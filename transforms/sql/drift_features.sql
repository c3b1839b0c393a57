-- drift_features: one row per target day and tested slice with a row that day: its
-- returns and order lines over the last $drift_days days (D-$drift_days+1 .. D) and over
-- the $drift_baseline_days before them, the same one day earlier (to alert once, when
-- the drift first shows), how many of the recent days beat their own base (days_above),
-- and the two biggest days of the recent window (peak_returns) (a one-day spike is the
-- spike test's, not a drift) (docs/detection.md, "Slow drift").
--
-- Plain counts of daily_return_rates: over weeks the lag between orders and returns
-- evens out. Every day of a tested slice's history is passed over twice (its exposure,
-- then the running sums of its base); everything else is computed on the days the target
-- days read (from $recent_from: their recent windows and the day before), each day once,
-- its base looked up on the two running sums where it ends and starts. Parameters:
-- $shop_id, $days, $dimensions, $first_day, $recent_from, $last_day, $drift_days,
-- $drift_baseline_days, $lag_days, $min_order_lines.

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

-- a number per slice: the window passes and lookups below partition and join on it
-- rather than on two strings
slices as (
    select
        row_number() over () as slice_id,
        rate.dimension,
        rate.key,
        min(rate.day) as first_seen
    from rates as rate
    group by rate.dimension, rate.key
),

-- the rows of the window by slice number, so the calendar joins them on numbers
slice_rates as (
    select slice.slice_id, rate.day, rate.order_lines, rate.returns
    from rates as rate
    inner join slices as slice
        on slice.dimension = rate.dimension
        and slice.key = rate.key
),

series as (
    select
        calendar.day,
        slice.slice_id,
        coalesce(rate.order_lines, 0) as order_lines,
        coalesce(rate.returns, 0)::double as returns,
        calendar.day >= slice.first_seen + $lag_days as is_seasoned
    from slices as slice
    inner join calendar
        on calendar.day >= slice.first_seen
    left join slice_rates as rate
        on rate.slice_id = slice.slice_id
        and rate.day = calendar.day
),

exposed as (
    select
        *,
        sum(order_lines) over (
            partition by slice_id order by day
            rows between $lag_days preceding and current row
        ) / ($lag_days + 1) as exposure
    from series
),

seasoned as (
    select * replace (exposure as order_lines)
    from exposed
),

-- The base of a day is a difference of running sums (the sum up to its last day minus
-- the sum up to the day before its first), looked up below on those two days. Each
-- summed column costs about a pass over every row, so only the base's three are running
-- sums; a recent window's days are summed from their own rows. Exposures are multiples
-- of 1 / ($lag_days + 1) and returns whole numbers: with the default 8 every order of
-- summing gives the same doubles (with another, the last bits already depend on how
-- DuckDB lays out a window's partitions).
running as (
    select
        *,
        sum(case when is_seasoned then returns else 0 end) over upto as upto_base_returns,
        sum(case when is_seasoned then order_lines else 0 end) over upto as upto_base_lines,
        sum(case when is_seasoned and order_lines > 0 then 1 else 0 end) over upto
            as upto_base_days
    from seasoned
    window upto as (
        partition by slice_id order by day
        rows between unbounded preceding and current row
    )
),

-- Each day a target day reads (its recent window and the day before it: from
-- $recent_from on), once, with its own base (D-$drift_days-$drift_baseline_days+1 ..
-- D-$drift_days): the running sums $drift_days before (the base's last day) minus those
-- $drift_days + $drift_baseline_days before (the day before its first), looked up on
-- those two rows. Point lookups of those rows replace lag passes over every day of every
-- slice (they were most of a night's time); reading each day once, not once per target
-- day that reads it, keeps a backfill's call linear (98 days of a 10M-line shop: 1.2 GB
-- of buffers when each target day looked up its own eight days). A running sum before
-- the slice's first row is 0.
based as (
    select
        day_row.slice_id,
        day_row.day,
        day_row.returns,
        day_row.order_lines,
        coalesce(base_end.upto_base_returns, 0) - coalesce(base_start.upto_base_returns, 0)
            as base_returns,
        coalesce(base_end.upto_base_lines, 0) - coalesce(base_start.upto_base_lines, 0)
            as base_lines,
        coalesce(base_end.upto_base_days, 0) - coalesce(base_start.upto_base_days, 0)
            as base_days
    from running as day_row
    left join running as base_end
        on base_end.slice_id = day_row.slice_id
        and base_end.day = day_row.day - $drift_days
    left join running as base_start
        on base_start.slice_id = day_row.slice_id
        and base_start.day = day_row.day - ($drift_days + $drift_baseline_days)
    where day_row.day >= $recent_from::date
),

-- A day is above when its returns beat its own base rate x its exposure.
marked as (
    select
        *,
        coalesce(returns > base_returns / nullif(base_lines, 0) * order_lines, false)
            as is_above
    from based
),

-- Per day: its recent window (D-$drift_days+1 .. D) and base, the same one day earlier (0
-- when the slice's first row is the day), its days above and the two biggest days of the
-- recent window (peak_returns). A slice has a row for every day from its first, so a
-- window of rows is a window of days; a day before its first row adds nothing.
windows as (
    select
        slice_id,
        day,
        sum(returns) over recent as recent_returns,
        sum(is_above::int) over recent as days_above,
        sum(order_lines) over recent as recent_lines,
        base_returns,
        base_lines,
        base_days,
        list_sum(max(returns, 2) over recent) as peak_returns,
        coalesce(sum(returns) over recent_before, 0) as recent_returns_before,
        coalesce(sum(order_lines) over recent_before, 0) as recent_lines_before,
        coalesce(lag(base_returns) over by_day, 0) as base_returns_before,
        coalesce(lag(base_lines) over by_day, 0) as base_lines_before
    from marked
    window
        by_day as (partition by slice_id order by day),
        recent as (
            partition by slice_id order by day
            rows between $drift_days - 1 preceding and current row
        ),
        recent_before as (
            partition by slice_id order by day
            rows between $drift_days preceding and 1 preceding
        )
),

final as (
    select
        $shop_id::varchar as shop_id,
        windows.day,
        slice.dimension,
        slice.key,
        windows.* exclude (slice_id, day)
    from windows
    inner join slices as slice using (slice_id)
    where windows.day in (select day from target_days)
)

select * from final
