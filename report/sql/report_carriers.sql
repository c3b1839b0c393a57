-- report_carriers: one row per carrier (the order line's outbound courier) in one shop and
-- period: order lines shipped with it, returns of those parcels, the return rate, and how
-- many of the returns were damaged in transit. Lines never shipped have no carrier and
-- are one row with carrier NULL. Return definitions as in report_kpis.sql.
--
-- Damaged in transit: the 售后原因 is in $damage_labels, or the buyer's words contain one
-- of $damage_keywords.
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types, $damage_labels,
-- $damage_keywords (VARCHAR[]).

with

-- import CTEs

period_lines as (
    select line_id, carrier
    from order_lines
    where shop_id = $shop_id and paid_at >= $start::timestamp and paid_at < $end::timestamp
),

period_returns as (
    select
        refund_id,
        carrier,
        reason,
        coalesce(reason_detail, '') as reason_detail
    from refunds
    where
        shop_id = $shop_id
        and refund_type in (select unnest($return_types::varchar[]))
        and requested_at >= $start::timestamp
        and requested_at < $end::timestamp
),

-- logic CTEs

damage_flags as (
    select
        *,
        coalesce(reason in (select unnest($damage_labels::varchar[])), false)
        or len(
            list_filter($damage_keywords::varchar[], lambda word: contains(reason_detail, word))
        ) > 0 as is_damaged
    from period_returns
),

line_counts as (
    select carrier, count(distinct line_id) as order_lines
    from period_lines
    group by carrier
),

return_counts as (
    select
        carrier,
        count(distinct refund_id) as returns,
        count(distinct refund_id) filter (where is_damaged) as damaged_returns
    from damage_flags
    group by carrier
),

final as (
    select
        coalesce(lines.carrier, rets.carrier) as carrier,
        coalesce(lines.order_lines, 0) as order_lines,
        coalesce(rets.returns, 0) as returns,
        coalesce(rets.returns, 0)::double / nullif(lines.order_lines, 0) as return_rate,
        coalesce(rets.damaged_returns, 0) as damaged_returns,
        rets.damaged_returns::double / nullif(rets.returns, 0) as damaged_share
    from line_counts as lines
    full outer join return_counts as rets on rets.carrier is not distinct from lines.carrier
    order by (coalesce(lines.carrier, rets.carrier) is null), order_lines desc, carrier
)

select * from final
