-- return_lags: one row per shop, request day in $days and lag (0 .. $max_lag days from
-- payment to request) with at least one return linked to its order line: the counts the
-- default detector's return-lag profile reads (migration 0008).
--
-- Read from the staged returns of `rates.staged_returns` (_rw_returns), whose order lines
-- were looked for among those paid from 31 days before the baseline window: every line
-- paid $max_lag (31) days or less before a target day is there.
--
-- Parameters: $shop_id, $days (DATE[]), $max_lag.

with

staged as (
    select refund_id, day, (day - line_paid_day)::integer as lag_days
    from _rw_returns
    where
        line_paid_day is not null
        and day in (select unnest($days::date[]))
),

final as (
    select
        $shop_id::varchar as shop_id,
        day,
        lag_days,
        count(distinct refund_id) as refunds
    from staged
    where lag_days between 0 and $max_lag
    group by day, lag_days
)

select * from final
