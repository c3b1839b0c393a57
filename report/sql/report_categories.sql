-- report_categories: one row per industry category with order lines or returns in one
-- shop and period: its return rate, for comparison with the category's benchmark.
--
-- A SKU's category is the first rule (lowest priority) whose keyword its product name
-- contains, else $default_category. A return's SKU and product name are its order line's
-- when the line is loaded, else its own, as the rates count it (RETURN_ITEM_SQL in
-- transforms/rates.py). Return definitions as in report_kpis.sql.
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types (VARCHAR[]),
-- $category_rules (STRUCT(category, keyword, priority)[]), $default_category.

with

-- import CTEs

period_lines as (
    select line_id, sku_id, product_name
    from order_lines
    where shop_id = $shop_id and paid_at >= $start::timestamp and paid_at < $end::timestamp
),

period_returns as (
    select
        refund.refund_id,
        {return_sku_id} as sku_id,
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

category_rules as (
    select rule.category, rule.keyword, rule.priority
    from (
        select unnest(
            $category_rules::struct(category varchar, keyword varchar, priority integer)[]
        ) as rule
    )
),

-- logic CTEs

sku_names as (
    select sku_id, max(product_name) as product_name
    from (
        select sku_id, product_name from period_lines
        union all
        select sku_id, product_name from period_returns
    )
    group by sku_id
),

sku_categories as (
    select
        sku.sku_id,
        coalesce(
            arg_min(rules.category, rules.priority), $default_category::varchar
        ) as category
    from sku_names as sku
    left join category_rules as rules
        on contains(coalesce(sku.product_name, ''), rules.keyword)
    group by sku.sku_id
),

line_counts as (
    select cats.category, count(distinct lines.line_id) as order_lines
    from period_lines as lines
    inner join sku_categories as cats on cats.sku_id = lines.sku_id
    group by cats.category
),

return_counts as (
    select cats.category, count(distinct rets.refund_id) as returns
    from period_returns as rets
    inner join sku_categories as cats on cats.sku_id = rets.sku_id
    group by cats.category
),

final as (
    select
        coalesce(lines.category, rets.category) as category,
        coalesce(lines.order_lines, 0) as order_lines,
        coalesce(rets.returns, 0) as returns,
        coalesce(rets.returns, 0)::double / nullif(lines.order_lines, 0) as return_rate
    from line_counts as lines
    full outer join return_counts as rets on rets.category = lines.category
    order by order_lines desc, category
)

select * from final
