-- report_trend: one row per day of one shop's period with a shop-level rate in
-- daily_return_rates: the day's return rate, the baseline the detector used and the band
-- the report shades around it: the mean and ± 2 standard deviations of the shop's daily
-- rates over the window before, leaving out the days the detector flagged on the shop
-- (as its clean history leaves spikes out), so a spike does not widen the band for the
-- four weeks after it. literal_baseline_rate is daily_return_rates' own (every day).
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

flagged_days as (
    select distinct day
    from anomalies
    where
        shop_id = $shop_id
        and dimension = 'shop'
        and coalesce(test, 'spike') in ('spike', 'literal')
        and day >= $start::date - $window_days::integer
        and day < $end::date
),

-- logic CTEs

marked as (
    select
        shop_rates.*,
        shop_rates.day in (select day from flagged_days) as is_flagged
    from shop_rates
),

spread as (
    select
        *,
        avg(return_rate) filter (where not is_flagged) over history as clean_baseline_rate,
        stddev_samp(return_rate) filter (where not is_flagged) over history as baseline_sd
    from marked
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
        coalesce(clean_baseline_rate, baseline_rate) as baseline_rate,
        baseline_rate as literal_baseline_rate,
        baseline_days,
        baseline_sd,
        is_flagged,
        greatest(coalesce(clean_baseline_rate, baseline_rate) - 2 * baseline_sd, 0) as band_low,
        coalesce(clean_baseline_rate, baseline_rate) + 2 * baseline_sd as band_high
    from spread
    where day >= $start::date
    order by day
)

select * from final
