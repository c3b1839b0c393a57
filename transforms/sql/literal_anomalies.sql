-- literal_anomalies: one row per shop, target day, dimension and key where the literal rule
-- fires: baseline_days >= $min_history_days and return_rate > (1 + $lift_threshold) x
-- baseline_rate, read straight from daily_return_rates. "Exceeds" means by more than
-- $tie_tolerance (1e-12): a rate equal to the threshold in exact arithmetic must not fire
-- or not depending on the order a mean was summed in. Expected returns are the baseline
-- rate times the day's order lines; the shop's own expected returns size the severity.
--
-- Parameters: $shop_id, $days (DATE[]), $dimensions (VARCHAR[]), $min_history_days,
-- $lift_threshold.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

rates as (
    select *
    from daily_return_rates
    where
        shop_id = $shop_id
        and day in (select day from target_days)
),

-- logic CTEs

fired as (
    select *
    from rates
    where
        list_contains($dimensions::varchar[], dimension)
        -- slices that only repeat another (detection_features.sql says which)
        and not {carrier_unknown}
        and not (dimension = 'product' and exists (
            select 1
            from rates as sku
            where sku.day = rates.day and sku.dimension = 'sku' and sku.key = rates.key
        ))
        and baseline_days >= $min_history_days
        and return_rate - (1 + $lift_threshold) * baseline_rate > $tie_tolerance
),

shop_expected as (
    select day, coalesce(baseline_rate * order_lines, returns::double) as shop_expected_returns
    from rates
    where dimension = 'shop'
),

final as (
    select
        fired.shop_id,
        fired.day,
        fired.dimension,
        fired.key,
        fired.order_lines,
        fired.returns,
        fired.return_rate,
        fired.baseline_rate,
        fired.baseline_days,
        fired.lift,
        fired.baseline_rate * fired.order_lines as expected_returns,
        fired.returns - fired.baseline_rate * fired.order_lines as extra_returns,
        shop.shop_expected_returns
    from fired
    left join shop_expected as shop
        on shop.day = fired.day
)

select * from final
