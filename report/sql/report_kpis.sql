-- report_kpis: one row for one shop and one period ($start inclusive, $end exclusive): the
-- headline KPIs of the monthly report. docs/report.md defines each column.
--
-- Definitions: order_lines = distinct line_id paid in the period; returns = distinct
-- refund_id of type return_refund or refund_only requested in the period, whatever their
-- status (as daily_return_rates counts them); refunded_amount = refund_amount of those
-- returns that ended completed; disputes = those returns whose arbitration_status is set
-- and not in $no_dispute_values; review = 申请 → 同意 (approved_at - requested_at);
-- finish = 申请 → 完结 (completed_at - requested_at, any outcome).
--
-- Parameters: $shop_id, $start, $end (TIMESTAMP), $return_types, $no_dispute_values
-- (VARCHAR[]), $review_target_hours, $decision_target_hours (DOUBLE).

with

-- import CTEs

period_lines as (
    select line.line_id, line.amount, line.paid_at
    from order_lines as line
    where
        line.shop_id = $shop_id
        and line.paid_at >= $start::timestamp
        and line.paid_at < $end::timestamp
),

period_returns as (
    select
        refund.refund_id,
        refund.status,
        refund.refund_amount,
        refund.requested_at,
        refund.approved_at,
        refund.completed_at,
        nullif(trim(refund.arbitration_status), '') as arbitration_status
    from refunds as refund
    where
        refund.shop_id = $shop_id
        and refund.refund_type in (select unnest($return_types::varchar[]))
        and refund.requested_at >= $start::timestamp
        and refund.requested_at < $end::timestamp
),

-- "no arbitration data" is a shop none of whose refunds ever carried an arbitration_status
-- (a file format without the column), as opposed to a month without disputes.
arbitration_data as (
    select count(*) > 0 as has_arbitration_data
    from refund_records
    where shop_id = $shop_id and nullif(trim(arbitration_status), '') is not null
),

-- logic CTEs

line_totals as (
    select
        count(distinct line_id) as order_lines,
        sum(amount) as sales_amount,
        max(paid_at) as last_paid_at
    from period_lines
),

return_times as (
    select
        *,
        date_diff('second', requested_at, approved_at) / 3600.0 as review_hours,
        date_diff('second', requested_at, completed_at) / 3600.0 as finish_hours,
        arbitration_status is not null
        and arbitration_status not in (select unnest($no_dispute_values::varchar[]))
            as is_disputed
    from period_returns
),

return_totals as (
    select
        count(distinct refund_id) as returns,
        coalesce(sum(refund_amount) filter (where status = 'completed'), 0) as refunded_amount,
        coalesce(sum(refund_amount), 0) as requested_amount,
        count(*) filter (where is_disputed) as disputes,
        count(review_hours) as reviewed,
        median(review_hours) as review_median_hours,
        quantile_cont(review_hours, 0.9) as review_p90_hours,
        avg((review_hours <= $review_target_hours)::integer) as review_within_target,
        avg((review_hours <= $decision_target_hours)::integer) as decision_within_target,
        count(finish_hours) as finished,
        median(finish_hours) as finish_median_hours,
        quantile_cont(finish_hours, 0.9) as finish_p90_hours,
        max(requested_at) as last_requested_at
    from return_times
),

final as (
    select
        line_totals.order_lines,
        return_totals.returns,
        return_totals.returns::double / nullif(line_totals.order_lines, 0) as return_rate,
        coalesce(line_totals.sales_amount, 0)::double as sales_amount,
        return_totals.refunded_amount::double as refunded_amount,
        return_totals.requested_amount::double as requested_amount,
        arbitration_data.has_arbitration_data,
        return_totals.disputes,
        case
            when arbitration_data.has_arbitration_data
                then return_totals.disputes::double / nullif(return_totals.returns, 0)
        end as dispute_rate,
        return_totals.reviewed,
        return_totals.review_median_hours,
        return_totals.review_p90_hours,
        return_totals.review_within_target,
        return_totals.decision_within_target,
        return_totals.finished,
        return_totals.finish_median_hours,
        return_totals.finish_p90_hours,
        greatest(line_totals.last_paid_at, return_totals.last_requested_at) as data_through
    from line_totals
    cross join return_totals
    cross join arbitration_data
)

select * from final
