-- report_repurchase: one row for one shop and one period: how often the period's buyers
-- came back, for all of them and for those who returned something they bought in it.
--
-- Definitions (docs/report.md): buyers = distinct customer_id with an order paid in the
-- period; returners = buyers with a return (return_refund, refund_only) of an order paid
-- in the period; a buyer repurchased when another order of theirs was paid after their
-- first order of the period and at most $window_days days after it. The coefficient is the
-- returners' repurchase rate over all buyers' repurchase rate.
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types (VARCHAR[]),
-- $window_days (INTEGER).

with

-- import CTEs

customer_orders as (
    select customer_id, order_id, min(paid_at) as paid_at
    from order_lines
    where shop_id = $shop_id and customer_id is not null
    group by customer_id, order_id
),

period_returns as (
    select distinct refund.order_id
    from refunds as refund
    where
        refund.shop_id = $shop_id
        and refund.refund_type in (select unnest($return_types::varchar[]))
),

-- logic CTEs

buyers as (
    select customer_id, min(paid_at) as first_paid_at
    from customer_orders
    where paid_at >= $start::timestamp and paid_at < $end::timestamp
    group by customer_id
),

returners as (
    select distinct orders.customer_id
    from customer_orders as orders
    inner join period_returns as rets on rets.order_id = orders.order_id
    where orders.paid_at >= $start::timestamp and orders.paid_at < $end::timestamp
),

repurchasers as (
    select distinct buyers.customer_id
    from buyers
    inner join customer_orders as later
        on later.customer_id = buyers.customer_id
        and later.paid_at > buyers.first_paid_at
        and later.paid_at <= buyers.first_paid_at + to_days($window_days::integer)
),

flags as (
    select
        buyers.customer_id,
        returners.customer_id is not null as is_returner,
        repurchasers.customer_id is not null as is_repurchaser
    from buyers
    left join returners on returners.customer_id = buyers.customer_id
    left join repurchasers on repurchasers.customer_id = buyers.customer_id
),

counts as (
    select
        count(*) as buyers,
        count(*) filter (where is_repurchaser) as repurchasers,
        count(*) filter (where is_returner) as returners,
        count(*) filter (where is_returner and is_repurchaser) as returner_repurchasers
    from flags
),

final as (
    select
        *,
        repurchasers::double / nullif(buyers, 0) as repurchase_rate,
        returner_repurchasers::double / nullif(returners, 0) as returner_repurchase_rate,
        (returner_repurchasers::double / nullif(returners, 0))
        / nullif(repurchasers::double / nullif(buyers, 0), 0) as coefficient
    from counts
)

select * from final
