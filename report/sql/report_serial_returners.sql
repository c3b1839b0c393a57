-- report_serial_returners: one row per serial returner of one shop, as the analyst view
-- `v_serial_returners` (migration 0017) defines them — a pseudonymous buyer (customer_id,
-- an HMAC of the buyer: never any PII) with at least 5 returns in the 90 days up to the
-- shop's last request day, and returns at least half their order lines of those days.
-- The report reads the view itself, so the report and the analysts see the same people;
-- it adds how many of those returns were requested in the report's month, and shows the
-- pseudonym shortened. Return definitions as in the view (退货退款, 仅退款).
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types (VARCHAR[]),
-- $id_chars (INTEGER: the shortened pseudonym's length), $limit (INTEGER).

with

-- import CTEs

serial as (
    select *
    from v_serial_returners
    where shop_id = $shop_id
),

month_returns as (
    select l.customer_id, count(distinct r.refund_id) as month_returns
    from refund_records as r
    inner join order_lines as l on l.shop_id = r.shop_id and l.line_id = r.line_id
    where
        r.shop_id = $shop_id
        and r.refund_type in (select unnest($return_types::varchar[]))
        and r.requested_at >= $start::timestamp
        and r.requested_at < $end::timestamp
    group by l.customer_id
),

-- logic CTEs

final as (
    select
        left(s.customer_id, $id_chars::integer) as customer,
        s.returns,
        s.last_30_days_returns,
        coalesce(m.month_returns, 0) as month_returns,
        s.order_lines,
        s.return_rate,
        s.first_return_at,
        s.last_return_at,
        s.top_reasons
    from serial as s
    left join month_returns as m on m.customer_id = s.customer_id
    order by s.returns desc, s.return_rate desc nulls last, s.customer_id
    limit $limit::integer
)

select * from final
