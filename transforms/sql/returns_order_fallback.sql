-- returns_order_fallback: for staged returns (_rw_returns) with no province of their own
-- nor from their order line, their order's: min(province) over the order's lines that
-- have one (the `refunds` view's rule). An order's lines may be paid on any day, so this
-- reads every order line of the shop: `rates.resolve_returns` runs it only when some
-- return needs it.
--
-- Parameters: $shop_id.

update _rw_returns as staged
set order_province = by_order.province
from (
    select line.order_id, min(line.province) as province
    from order_lines as line
    where
        line.shop_id = $shop_id
        and line.province is not null
        and line.order_id in (
            select wanted.order_id
            from _rw_returns as wanted
            where wanted.own_province is null and wanted.line_province is null
        )
    group by line.order_id
) as by_order
where
    by_order.order_id = staged.order_id
    and staged.own_province is null
    and staged.line_province is null
