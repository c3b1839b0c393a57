-- report_trend: one row per day of one shop's period with a shop-level rate in
-- daily_return_rates: the day's return rate, its literal baseline and the band the report
-- shades around it (baseline ± 2 standard deviations of the same window of daily rates).
--
-- Parameters: $shop_id, $start, $end (DATE, end exclusive), $window_days (INTEGER).

with

-- import CTEs

shop_rates as (
    select day, order_lines, returns, return_rate, baseline_rate, baseline_days
    from daily_return_rates
    where
        shop_id = $shop_id
        and dimension = 'shop'
        and key = '*'
        and day >= $start::date - $window_days::integer
        and day < $end::date
),

-- logic CTEs

spread as (
    select
        *,
        stddev_samp(return_rate) over history as baseline_sd
    from shop_rates
    window history as (
        order by day range between $window_days preceding and 1 preceding
    )
),

final as (
    select
        day,
        order_lines,
        returns,
        return_rate,
        baseline_rate,
        baseline_days,
        baseline_sd,
        greatest(baseline_rate - 2 * baseline_sd, 0) as band_low,
        baseline_rate + 2 * baseline_sd as band_high
    from spread
    where day >= $start::date
    order by day
)

select * from final
