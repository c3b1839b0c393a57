-- serial_returners: one row per buyer of one shop who is a serial returner as of one
-- night: the definition of the analyst view v_serial_returners (migration 0017) with the
-- night as its horizon instead of the shop's last request day. A buyer (customer_id, the
-- keyed-hash pseudonym: never any PII) with at least 5 returns (退货退款, 仅退款) requested
-- in the 90 days up to the night, and returns at least half their order lines paid in
-- those days. Returns reach their buyer through their order line (the 售后 export has no
-- buyer column).
--
-- The returns per buyer are read from buyer_returns (migration 0020: the returns joined to
-- their order lines, kept with the rates and current wherever they are — the nightly flow
-- refreshes the rates before it tracks), not joined here: that join of 90 days of refunds
-- to a year of order lines was 0.13 s of every night on a shop of 20k lines a day.
--
-- Unlike the view, order lines paid after the night are not counted (they did not exist
-- that night); with the night = the shop's last request day and no line paid after it,
-- the rows are the view's (tests/warehouse/test_serial_returners.py checks it).
--
-- Parameters: $shop_id, $night (DATE).

with

-- import CTEs

recent_returns as (
    select
        returned.customer_id,
        returned.reason,
        returned.returns,
        returned.day > $night::date - 30 as is_last_30_days
    from buyer_returns as returned
    where
        returned.shop_id = $shop_id
        and returned.day > $night::date - 90
        and returned.day <= $night::date
),

-- logic CTEs

totals as (
    select
        customer_id,
        sum(returns)::bigint as returns,
        coalesce(sum(returns) filter (where is_last_30_days), 0)::bigint as last_30_days_returns
    from recent_returns
    group by all
    having sum(returns) >= 5
),

-- Order lines are counted for the few buyers with 5 returns only: grouping every buyer's
-- 90 days of lines was most of the statement's time (0.5 of 1.25 s on a year of 50k
-- lines a day).
buyer_lines as (
    select customer_id, count(*) as order_lines
    from order_lines
    where
        shop_id = $shop_id
        and customer_id in (select customer_id from totals)
        and paid_at::date > $night::date - 90
        and paid_at::date <= $night::date
    group by all
),

reasons as (
    select customer_id, reason, sum(returns)::bigint as n
    from recent_returns
    where customer_id in (select customer_id from totals)
    group by all
),

top_reasons as (
    select
        customer_id,
        string_agg(reason || ' ' || n, '; ' order by n desc, reason) as top_reasons
    from (
        select
            *,
            row_number() over (partition by customer_id order by n desc, reason) as rank
        from reasons
    )
    where rank <= 3
    group by all
),

final as (
    select
        totals.customer_id,
        totals.returns,
        totals.last_30_days_returns,
        coalesce(lines.order_lines, 0) as order_lines,
        totals.returns / nullif(lines.order_lines, 0) as return_rate,
        ranked.top_reasons
    from totals
    left join buyer_lines as lines on lines.customer_id = totals.customer_id
    left join top_reasons as ranked on ranked.customer_id = totals.customer_id
    where totals.returns >= 0.5 * coalesce(lines.order_lines, 0)
    order by totals.returns desc, totals.customer_id
)

select * from final
