-- buyer_returns: one row per shop, request day in $days, buyer and reason with at least
-- one return whose order line has a buyer: the counts the serial-returner tracking reads
-- (migration 0020; transforms/sql/serial_returners.sql).
--
-- Read from the staged returns of `rates.staged_returns` (_rw_returns): every return of
-- the days, its order line looked for among the recent lines and then, for the others, in
-- the whole table (returns_line_fallback.sql), so a return reaches its buyer exactly as
-- a join of refund_records to order_lines would.
--
-- Parameters: $shop_id, $days (DATE[]).

with

staged as (
    select refund_id, day, line_customer_id as customer_id, coalesce(reason, '(none)') as reason
    from _rw_returns
    where
        line_customer_id is not null
        and day in (select unnest($days::date[]))
),

final as (
    select
        $shop_id::varchar as shop_id,
        day,
        customer_id,
        reason,
        count(distinct refund_id) as returns
    from staged
    group by day, customer_id, reason
)

select * from final
