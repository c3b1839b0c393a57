-- cold_start_features: one row per target day and new slice (sku or product whose first
-- order line falls inside the days read and less than $cold_start_days before the target
-- day): its returns and lag-weighted order lines since its first day (through the day, and
-- through the day before), and the prior it is judged against — its parent's return rate
-- over the $window_days before the day: SKU -> product -> category -> shop, the first
-- parent with $min_history_days days of orders in that window (docs/detection.md, "Cold
-- start").
--
-- Exposure: an order line paid a days before the target day has had min(a + 1, L + 1) /
-- (L + 1) of its return window, L = $lag_days (uniform lags: a new slice has no lag
-- profile of its own, and the shop's is close to uniform over a week).
--
-- Most nights no slice is new. Births are therefore found from the SKU and product days
-- with order lines only, and the other reads of daily_return_rates (the new slices' days,
-- their parents' rates) are joined to the births or to the days with a new slice: when
-- those are empty DuckDB stops those scans at their first rows (what remains is the scan
-- of the recent order lines' SKU ids).
--
-- {category_rule} is the settings' [[categories]] rule (`rates.category_rule_sql`).
-- Parameters: $shop_id, $days, $dimensions, $first_day, $last_day, $window_days,
-- $min_history_days, $lag_days, $cold_start_days, $born_from (the first target day -
-- $cold_start_days + 1: the earliest birth a target day can call new; only those slices'
-- days and order lines are read, from that day on).

with

target_days as (
    select distinct unnest($days::date[]) as day
),

-- import CTEs

-- The days each SKU and product sold, over the days read: only to find births. The
-- dimensions the settings leave out are dropped here, by name (a list_contains over the
-- column is a join over every row).
sales as (
    select rate.day, rate.dimension, rate.key
    from daily_return_rates as rate
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
        and rate.order_lines > 0
        and (
            (rate.dimension = 'sku' and list_contains($dimensions::varchar[], 'sku'))
            or (rate.dimension = 'product' and list_contains($dimensions::varchar[], 'product'))
        )
),

-- logic CTEs

births as (
    select dimension, key, min(day) as born
    from sales
    group by dimension, key
    having
        min(day) > $first_day::date
        -- born late enough to be new on a target day (the rest cannot be tested)
        and min(day) >= $born_from::date
),

new_slices as (
    select target.day, birth.dimension, birth.key, birth.born
    from target_days as target
    inner join births as birth
        on birth.born <= target.day
        and target.day - birth.born < $cold_start_days
),

-- the new slices' days: none is before its birth, so none before $born_from
slice_rates as (
    select rate.day, rate.dimension, rate.key, rate.order_lines, rate.returns
    from daily_return_rates as rate
    semi join births as birth
        on birth.dimension = rate.dimension
        and birth.key = rate.key
    where
        rate.shop_id = $shop_id
        and rate.day between $born_from::date and $last_day::date
),

cumulative as (
    select
        slice.day,
        slice.dimension,
        slice.key,
        slice.born,
        sum(rate.returns) as returns_to_date,
        coalesce(sum(rate.returns) filter (where rate.day < slice.day), 0) as returns_before,
        sum(rate.order_lines * least(slice.day - rate.day + 1, $lag_days + 1))
            / ($lag_days + 1) as exposure_to_date,
        coalesce(
            sum(rate.order_lines * least(slice.day - rate.day, $lag_days + 1))
                filter (where rate.day < slice.day),
            0
        ) / ($lag_days + 1) as exposure_before,
        coalesce(sum(rate.order_lines) filter (where rate.day = slice.day), 0) as order_lines,
        coalesce(sum(rate.returns) filter (where rate.day = slice.day), 0) as returns
    from new_slices as slice
    inner join slice_rates as rate
        on rate.dimension = slice.dimension
        and rate.key = slice.key
        and rate.day between slice.born and slice.day
    group by all
),

items as (
    select
        coalesce(line.product_id, line.sku_id) as product_id,
        line.sku_id,
        line.product_name,
        line.category as own_category
    from order_lines as line
    where
        line.shop_id = $shop_id
        -- a new slice has no line before its birth: its lines are all from $born_from
        and line.paid_at >= $born_from::date
        and line.paid_at < $last_day::date + 1
        and (
            line.sku_id in (select key from new_slices where dimension = 'sku')
            or coalesce(line.product_id, line.sku_id)
                in (select key from new_slices where dimension = 'product')
        )
),

parents as (
    select
        'sku' as dimension,
        sku_id as key,
        mode(product_id) as product,
        mode(coalesce(own_category, {category_rule}, 'unknown')) as category
    from items
    group by sku_id
    union all
    select
        'product' as dimension,
        product_id as key,
        null as product,
        mode(coalesce(own_category, {category_rule}, 'unknown')) as category
    from items
    group by product_id
),

-- only the days that have a new slice need a prior (on most nights none: then the
-- parents' days are not read at all)
slice_days as (
    select distinct day from new_slices
),

parent_rates as (
    select
        slice_day.day,
        rate.dimension,
        rate.key,
        sum(rate.returns)::double / nullif(sum(rate.order_lines), 0) as rate,
        count(*) filter (where rate.order_lines > 0) as days
    from slice_days as slice_day
    inner join daily_return_rates as rate
        on rate.day between slice_day.day - $window_days and slice_day.day - 1
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
        and (
            rate.dimension = 'shop'
            or (rate.dimension = 'category' and rate.key in (select category from parents))
            or (rate.dimension = 'product' and rate.key in (select product from parents))
        )
    group by all
    having count(*) filter (where rate.order_lines > 0) >= $min_history_days
),

final as (
    select
        $shop_id::varchar as shop_id,
        slice.*,
        parent.product as parent_product,
        case
            when product_rate.rate is not null and slice.dimension = 'sku'
                and parent.product <> slice.key then 'product:' || parent.product
            when category_rate.rate is not null and parent.category <> 'unknown'
                then 'category:' || parent.category
            else 'shop:*'
        end as baseline_used,
        case
            when product_rate.rate is not null and slice.dimension = 'sku'
                and parent.product <> slice.key then product_rate.rate
            when category_rate.rate is not null and parent.category <> 'unknown'
                then category_rate.rate
            else shop_rate.rate
        end as prior_rate
    from cumulative as slice
    left join parents as parent
        on parent.dimension = slice.dimension
        and parent.key = slice.key
    left join parent_rates as product_rate
        on product_rate.day = slice.day
        and product_rate.dimension = 'product'
        and product_rate.key = parent.product
    left join parent_rates as category_rate
        on category_rate.day = slice.day
        and category_rate.dimension = 'category'
        and category_rate.key = parent.category
    left join parent_rates as shop_rate
        on shop_rate.day = slice.day
        and shop_rate.dimension = 'shop'
)

select * from final
