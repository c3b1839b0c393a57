-- mix_features: one row per target day and tested slice with returns that day: its
-- quality returns (售后原因 quality or not as described) beside its returns, and the
-- quality share of its returns over the $window_days before (docs/detection.md,
-- "Reason-mix shift"). Parameters: $shop_id, $days, $dimensions, $first_day,
-- $first_target_day, $last_day, $window_days, $mix_min_returns.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

-- Only slices with mix_min_returns returns on a target day can be tested: found from the
-- target days alone, before any history is read.
busy as (
    select distinct rate.dimension, rate.key
    from daily_return_rates as rate
    where
        rate.shop_id = $shop_id
        and rate.day between $first_target_day::date and $last_day::date
        and rate.day in (select day from target_days)
        and rate.returns >= $mix_min_returns
        and list_contains($dimensions::varchar[], rate.dimension)
        and rate.quality_returns is not null
        and not {carrier_unknown}
),

rates as (
    select
        rate.day,
        rate.dimension,
        rate.key,
        rate.order_lines,
        rate.returns,
        rate.quality_returns,
        rate.return_rate,
        rate.baseline_rate,
        rate.baseline_days,
        rate.lift
    from daily_return_rates as rate
    semi join busy
        on busy.dimension = rate.dimension
        and busy.key = rate.key
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
        and rate.quality_returns is not null
),

-- logic CTEs

windows as (
    select
        *,
        sum(quality_returns) over history as history_quality_returns,
        sum(returns) over history as history_returns
    from rates
    window history as (
        partition by dimension, key order by day
        range between $window_days preceding and 1 preceding
    )
),

final as (
    select $shop_id::varchar as shop_id, windows.*
    from windows
    where day in (select day from target_days) and returns > 0
)

select * from final
