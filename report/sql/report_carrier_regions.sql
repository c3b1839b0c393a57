-- report_carrier_regions: one row per carrier × province among the $limit pairs with the
-- most returns in one shop and month: order lines, returns, return rate and the returns
-- damaged in transit (物流破损) with their share. Summed from the nightly mart's
-- `carrier_region` slices (`v_carrier_regions`, migration 0017), so the month is the sum
-- of the days the detector tested, with the detector's definitions (docs/detection.md:
-- carrier = the order line's 快递公司, province = the refund's resolved province, damaged =
-- the rates' DAMAGE_REASONS). Days computed before migration 0016 have no damage count:
-- `damage_days` says how many of the month's days carried one.
--
-- Parameters: $shop_id, $start, $end (DATE), $limit (INTEGER).

with

-- import CTEs

month_days as (
    select *
    from v_carrier_regions
    where shop_id = $shop_id and day >= $start::date and day < $end::date
),

-- logic CTEs

pairs as (
    select
        carrier,
        province,
        sum(order_lines)::bigint as order_lines,
        sum(returns)::bigint as returns,
        sum(damaged_returns)::bigint as damaged_returns,
        count(damaged_returns) as damage_days
    from month_days
    group by carrier, province
),

final as (
    select
        carrier,
        province,
        order_lines,
        returns,
        returns::double / nullif(order_lines, 0) as return_rate,
        damaged_returns,
        damaged_returns::double / nullif(returns, 0) as damaged_share,
        damage_days
    from pairs
    where returns > 0
    order by returns desc, return_rate desc nulls last, carrier, province
    limit $limit::integer
)

select * from final
