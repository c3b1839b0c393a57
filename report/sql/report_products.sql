-- report_products: one row per product among the $limit with the most returns in one shop
-- and month, for shops whose SKUs roll up into products (抖店: 商品ID above 商家编码 / the
-- API's sku_id; canonical CSV: the optional product_id column). product = the line's
-- product_id, else its SKU — as the nightly `product` slice defines it (docs/detection.md);
-- a return's SKU is its order line's when the line is loaded, else its own; its product
-- the refund's own product_id, else its line's, else the SKU — as the rates count them
-- (RETURN_ITEM_SQL in transforms/rates.py). `skus` is how many SKUs of the product sold
-- or were returned in the month: a product with one SKU is its SKU row again. Return definitions as in report_kpis.sql.
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types (VARCHAR[]), $limit.

with

-- import CTEs

period_lines as (
    select
        line_id,
        sku_id,
        coalesce(product_id, sku_id) as product_id,
        product_name
    from order_lines
    where shop_id = $shop_id and paid_at >= $start::timestamp and paid_at < $end::timestamp
),

period_returns as (
    select
        refund.refund_id,
        {return_sku_id} as sku_id,
        {return_product_id} as product_id,
        {return_product_name} as product_name
    from refund_records as refund
    left join order_lines as line
        on line.shop_id = refund.shop_id and line.line_id = refund.line_id
    where
        refund.shop_id = $shop_id
        and refund.refund_type in (select unnest($return_types::varchar[]))
        and refund.requested_at >= $start::timestamp
        and refund.requested_at < $end::timestamp
),

-- logic CTEs

line_counts as (
    select product_id, count(distinct line_id) as order_lines, max(product_name) as product_name
    from period_lines
    group by product_id
),

return_counts as (
    select product_id, count(distinct refund_id) as returns, max(product_name) as product_name
    from period_returns
    group by product_id
),

sku_counts as (
    select product_id, count(distinct sku_id) as skus
    from (
        select product_id, sku_id from period_lines
        union
        select product_id, sku_id from period_returns
    )
    group by product_id
),

final as (
    select
        rets.product_id,
        coalesce(lines.product_name, rets.product_name) as product_name,
        skus.skus,
        coalesce(lines.order_lines, 0) as order_lines,
        rets.returns,
        rets.returns::double / nullif(lines.order_lines, 0) as return_rate
    from return_counts as rets
    left join line_counts as lines on lines.product_id = rets.product_id
    left join sku_counts as skus on skus.product_id = rets.product_id
    order by rets.returns desc, return_rate desc nulls last, rets.product_id
    limit $limit::integer
)

select * from final
