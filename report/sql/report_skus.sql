-- report_skus: one row per SKU among the $limit with the most returns in one shop and
-- period: volume, rate, the change from the previous period, the top 售后原因 and the money
-- refunded. A return counts under its order line's SKU (and product name) when the line
-- is loaded, else its own, as the rates count it (RETURN_ITEM_SQL in
-- transforms/rates.py). Return definitions as in report_kpis.sql.
--
-- Parameters: $shop_id, $prev_start, $start, $end (TIMESTAMP: the previous period is
-- $prev_start..$start), $return_types (VARCHAR[]), $limit, $top_reasons (INTEGER).

with

-- import CTEs

scoped_lines as (
    select line_id, sku_id, product_name, paid_at >= $start::timestamp as is_current
    from order_lines
    where shop_id = $shop_id and paid_at >= $prev_start::timestamp and paid_at < $end::timestamp
),

scoped_returns as (
    select
        refund.refund_id,
        {return_sku_id} as sku_id,
        {return_product_name} as product_name,
        coalesce(nullif(trim(refund.reason), ''), '（未填）') as reason,
        refund.status,
        refund.refund_amount,
        refund.requested_at >= $start::timestamp as is_current
    from refund_records as refund
    left join order_lines as line
        on line.shop_id = refund.shop_id and line.line_id = refund.line_id
    where
        refund.shop_id = $shop_id
        and refund.refund_type in (select unnest($return_types::varchar[]))
        and refund.requested_at >= $prev_start::timestamp
        and refund.requested_at < $end::timestamp
),

-- logic CTEs

line_counts as (
    select
        sku_id,
        count(distinct line_id) filter (where is_current) as order_lines,
        count(distinct line_id) filter (where not is_current) as prev_order_lines,
        max(product_name) as product_name
    from scoped_lines
    group by sku_id
),

return_counts as (
    select
        sku_id,
        count(distinct refund_id) filter (where is_current) as returns,
        count(distinct refund_id) filter (where not is_current) as prev_returns,
        coalesce(
            sum(refund_amount) filter (where is_current and status = 'completed'), 0
        ) as refunded_amount,
        max(product_name) as product_name
    from scoped_returns
    group by sku_id
),

reason_counts as (
    select sku_id, reason, count(*) as returns
    from scoped_returns
    where is_current
    group by sku_id, reason
),

top_reasons as (
    select
        sku_id,
        list({'reason': reason, 'returns': returns} order by returns desc, reason)[
            1:$top_reasons::integer
        ] as top_reasons
    from reason_counts
    group by sku_id
),

joined as (
    select
        rets.sku_id,
        coalesce(lines.product_name, rets.product_name) as product_name,
        coalesce(lines.order_lines, 0) as order_lines,
        rets.returns,
        rets.returns::double / nullif(lines.order_lines, 0) as return_rate,
        coalesce(lines.prev_order_lines, 0) as prev_order_lines,
        rets.prev_returns,
        rets.prev_returns::double / nullif(lines.prev_order_lines, 0) as prev_return_rate,
        rets.refunded_amount::double as refunded_amount,
        reasons.top_reasons
    from return_counts as rets
    left join line_counts as lines on lines.sku_id = rets.sku_id
    left join top_reasons as reasons on reasons.sku_id = rets.sku_id
    where rets.returns > 0
),

final as (
    select
        *,
        return_rate - prev_return_rate as rate_change
    from joined
    order by returns desc, return_rate desc nulls last, sku_id
    limit $limit::integer
)

select * from final
