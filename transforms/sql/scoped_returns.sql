-- scoped_returns: the shop's returns (refund_type return_refund or refund_only) requested
-- $first_day .. $last_day, one row per refund, staged as the temp table _rw_returns with
-- what their region is resolved from (the `refunds` view's rule: the refund's own
-- province, else its order line's, else its order's, else 'unknown'):
--
-- - own_province: the refund's own (NULL when its file had none);
-- - line_province / line_found: its order line's (line_id = 子订单编号), looked for only
--   among lines paid $paid_from .. before $paid_to, so the scan skips the row groups of
--   older history. line_id is unique per shop in order_lines (the loader upserts on it),
--   so a line found there is the line; `rates.resolve_returns` looks for the others in
--   the whole table (returns_line_fallback.sql);
-- - line_paid_day: the day its order line was paid, when found there (for `return_lags`,
--   which keeps lags of 0 .. 31 days: every target day's lines of that age are there);
-- - order_province: NULL here; returns_order_fallback.sql fills it where it is needed;
-- - what the other slices read (issue 17): the refund's own sku_id, product_id, carrier,
--   reason and product name (own_*), and its line's sku_id, product_id, category,
--   carrier, product name and buyer pseudonym (line_*; customer_id: refunds reach their
--   buyer through their order line). Which of them a return counts under is
--   RETURN_ITEM_SQL in transforms/rates.py (the line's SKU wins over the refund's own).
--
-- Parameters: $shop_id, $first_day, $last_day, $paid_from, $paid_to (constants).

create or replace temp table _rw_returns as

with

scoped as (
    select
        refund.refund_id,
        refund.requested_at::date as day,
        refund.sku_id as own_sku_id,
        refund.order_id,
        refund.line_id,
        refund.province as own_province,
        refund.product_id as own_product_id,
        refund.carrier as own_carrier,
        refund.reason,
        refund.product_name as own_product_name
    from refund_records as refund
    where
        refund.shop_id = $shop_id
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at >= $first_day::date
        and refund.requested_at < $last_day::date + 1
),

recent_lines as (
    select
        line.line_id,
        line.province,
        line.paid_at,
        line.sku_id,
        line.product_id,
        line.category,
        line.carrier,
        line.product_name,
        line.customer_id
    from order_lines as line
    where
        line.shop_id = $shop_id
        and line.paid_at >= $paid_from::timestamp
        and line.paid_at < $paid_to::timestamp
)

select
    scoped.*,
    recent.province as line_province,
    recent.line_id is not null as line_found,
    recent.paid_at::date as line_paid_day,
    null::varchar as order_province,
    recent.sku_id as line_sku_id,
    recent.product_id as line_product_id,
    recent.category as line_category,
    recent.carrier as line_carrier,
    recent.product_name as line_product_name,
    recent.customer_id as line_customer_id
from scoped
left join recent_lines as recent
    on recent.line_id = scoped.line_id
