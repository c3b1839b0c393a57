-- detection_features: one row per target day, dimension and key whose returns that day
-- were fed by order lines (lag-weighted exposure > 0) or that had returns that day: the
-- day's counts, its literal rates, and the sums over its clean history window that the
-- default detector's count test needs (docs/detection.md, "The default detector").
--
-- Model: returns(s, t) ~ rate(s) x exposure(s, t), where exposure(s, t) = sum over k in
-- 0..$lag_days of weight(t, k) x order_lines(s, t - k), and weight(t, ·) is the shop's
-- return-lag profile learnt over t's window. A history day is "screened" (left out of the
-- clean history) when its returns exceed its own raw expectation by $screen_z standard
-- deviations; the clean history of D sums days D-$window_days .. D-1 not screened.
--
-- Promo days (baseline_exclusions with dimension '*') are left out of the clean history,
-- unless that leaves fewer than $min_history_days: then the history keeps them (spike days
-- still screened) and `in_promo_baseline` is true — else the detector would be blind from
-- two weeks into 618 or 双11 until two weeks after their return windows.
--
-- Only the slice-days the detector can test are returned: clean history and literal
-- baseline of $min_history_days, an order line that day and an exposure of
-- $min_order_lines (`detection.score` tests nothing else, and reads no other row); the
-- series and windows are computed only for the slices that can pass those floors.
--
-- Each window step reads only the days its output is needed for: the clean history is
-- summed for the target days (reading the $window_days before them), the round-2
-- screening for the window before the first target day, round 1 for the window before
-- that. So a night's statement reads a constant number of days, whatever the history.
--
-- How the work is kept small (the same rows and values as summing each day's RANGE frame
-- over its (dimension, key); only a sum's last bits depend on the order DuckDB adds, as
-- they already did from run to run):
-- - the candidate slices get a number (slice_id): every join, window and lookup after the
--   scan uses it instead of two strings;
-- - each slice's series has a row for every day from $first_series_day (x = y = 0 and not
--   is_present where the sparse series had none: they add 0 to every sum, and the day
--   counts count only present rows), so a window is the $window_days rows before (ROWS:
--   no search for a RANGE frame's ends);
-- - promo days, annotations and restarts are joined by day and slice number, not tested
--   by a correlated EXISTS per row;
-- - the big scan reads only the five columns the series needs; the rates' other columns
--   are read for the target days only;
-- - the slices a target day can test come from joining its slices' rows to their days
--   with $min_order_lines order lines in its lag window (a join of every target day to
--   every day read, then a group-by, was most of a 60-day call);
-- - the settings' dimensions and the carrier slices without a carrier are dropped from
--   those few hundred slices, not from every row read (two string tests per row cost as
--   much as the rest of the scan).
--
-- Parameters: $shop_id, $days (DATE[]), $dimensions (VARCHAR[]), $window_days,
-- $lag_days, $stored_lags, $min_lag_refunds, $min_history_days, $min_order_lines,
-- $lift_threshold, $min_extra_returns, $screen_z, and the days read (constants, so scans
-- skip row groups outside them): $first_feed_day = min($days) - $lag_days,
-- $first_day = min($days) - 4 x $window_days - $lag_days,
-- $first_series_day = min($days) - 3 x $window_days, $first_c1_day = min($days) - 2 x
-- $window_days, $first_clean_day = min($days) - $window_days, $last_day = max($days).
-- Reads daily_return_rates, baseline_exclusions and baseline_restarts (migrations
-- 0013/0014) and, for the lag profile, return_lags (both current over them:
-- `rates.recompute_rates` writes them together) when $stored_lags ($lag_days <=
-- `rates.STORED_LAG_DAYS`), else refund_records joined to order_lines.

with

target_days as (
    select distinct unnest($days::date[]) as day
),

lags as (
    select unnest(range(0, $lag_days + 1))::integer as lag_days
),

calendar as (
    select unnest(generate_series($first_day::date, $last_day::date, interval 1 day))::date as day
),

-- import CTEs

-- The days that decide which slices a target day can test (its $lag_days before it and
-- itself), every slice: a few days, however long the history. Which dimensions are
-- tested is decided on the candidates (`slices`), not on these rows.
recent_rates as (
    select rate.day, rate.dimension, rate.key, rate.order_lines
    from daily_return_rates as rate
    where
        rate.shop_id = $shop_id
        and rate.day between $first_feed_day::date and $last_day::date
),

-- Products that are one of the SKUs' ids (no product_id of their own) only repeat the SKU.
sku_keys as (
    select distinct key
    from recent_rates
    where dimension = 'sku' and list_contains($dimensions::varchar[], 'sku')
),

-- The slices a target day can test: an order line that day and, as the exposure is a
-- weighted mean (weights >= 0 summing to 1) of the order lines of the day and the
-- $lag_days before it, $min_order_lines (less 1e-6 for rounding) on one of those days.
-- Every window below is per slice: leaving the other slices out changes no row of the
-- result, only the work (a few hundred slices of thousands). The shop slice always stays,
-- for the shop's history beside each target.
busy_days as (
    select day, dimension, key
    from recent_rates
    where order_lines >= $min_order_lines - 1e-6
),

candidate_slices as (
    select distinct today.dimension, today.key
    from recent_rates as today
    -- a busy day among the day and the $lag_days before it (a semi join on the slice's
    -- busy days, not a group-by of every target day x every day read)
    inner join busy_days as busy
        on busy.dimension = today.dimension
        and busy.key = today.key
        and busy.day between today.day - $lag_days and today.day
    where
        today.day in (select day from target_days)
        and today.order_lines > 0
        and not (today.dimension = 'product' and today.key in (select key from sku_keys))
    union
    select distinct dimension, key
    from recent_rates
    where dimension = 'shop'
),

-- a number per slice: every join, window and lookup below uses it rather than two strings
slices as (
    select *
    from (
        select row_number() over () as slice_id, dimension, key
        from candidate_slices
    )
    where
        (dimension = 'shop' or list_contains($dimensions::varchar[], dimension))
        -- Slices that only repeat another (issue 17): a carrier slice of lines without a
        -- carrier is not a carrier; a product that is its SKU (sku_keys, above).
        and not {carrier_unknown}
),

-- The whole reach, only for those slices (a big shop's thousands of small SKUs never
-- pass the floors: reading their 119 days was most of this statement's scan), and only
-- the columns the series needs.
rates as (
    select
        slice.slice_id,
        rate.day,
        rate.order_lines,
        rate.returns
    from daily_return_rates as rate
    inner join slices as slice
        on slice.dimension = rate.dimension
        and slice.key = rate.key
    where
        rate.shop_id = $shop_id
        and rate.day between $first_day::date and $last_day::date
),

-- the rates' other columns, for the target days only
target_rates as (
    select
        slice.slice_id,
        rate.day,
        rate.order_lines,
        rate.return_rate,
        rate.baseline_rate,
        rate.baseline_days,
        rate.lift
    from daily_return_rates as rate
    inner join slices as slice
        on slice.dimension = rate.dimension
        and slice.key = rate.key
    where
        rate.shop_id = $shop_id
        and rate.day between $first_clean_day::date + $window_days and $last_day::date
        and rate.day in (select day from target_days)
),

linked_refunds as (
    -- kept per request day and lag beside the rates (return_lags, current wherever the
    -- rates are) when $lag_days is within the lags it keeps ($stored_lags) ...
    select lags.day, lags.lag_days, sum(lags.refunds) as refunds
    from return_lags as lags
    where
        $stored_lags
        and lags.shop_id = $shop_id
        and lags.day between $first_day::date and $last_day::date
        and lags.lag_days between 0 and $lag_days
    group by 1, 2
    union all
    -- ... else joined here: each return linked to its order line
    select
        refund.requested_at::date as day,
        (refund.requested_at::date - line.paid_at::date)::integer as lag_days,
        count(distinct refund.refund_id) as refunds
    from refund_records as refund
    inner join order_lines as line
        on line.shop_id = refund.shop_id
        and line.line_id = refund.line_id
    where
        not $stored_lags
        and refund.shop_id = $shop_id
        and refund.refund_type in ('return_refund', 'refund_only')
        and refund.requested_at >= $first_day::date
        and refund.requested_at < $last_day::date + 1
        and line.paid_at >= $first_day::date - $lag_days
        and line.paid_at < $last_day::date + 1
        and refund.requested_at::date - line.paid_at::date between 0 and $lag_days
    group by 1, 2
),

-- Ops' feedback and the promo calendar (docs/alerts.md, "Mute and feedback"): a day in
-- baseline_exclusions (for its slice, or for every slice when dimension = '*': promo
-- days, 'expected' annotations) and a slice's days before its baseline_restarts day
-- ('new-normal') are always screened: they never count as history (`excluded`, below).
shop_excluded_days as (
    select distinct ex.day
    from baseline_exclusions as ex
    where ex.shop_id = $shop_id and ex.dimension = '*'
),

slice_excluded_days as (
    select distinct slice.slice_id, ex.day
    from baseline_exclusions as ex
    inner join slices as slice
        on slice.dimension = ex.dimension
        and slice.key = ex.key
    where ex.shop_id = $shop_id
),

slice_restarts as (
    select slice.slice_id, max(rs.day) as day
    from baseline_restarts as rs
    inner join slices as slice
        on slice.dimension = rs.dimension
        and slice.key = rs.key
    where rs.shop_id = $shop_id
    group by 1
),

-- logic CTEs: the shop's return-lag profile, one weight per day and lag

shop_orders as (
    select calendar.day, coalesce(shop.order_lines, 0) as order_lines
    from calendar
    left join (
        select rate.day, rate.order_lines
        from rates as rate
        inner join slices as slice
            on slice.slice_id = rate.slice_id
        where slice.dimension = 'shop'
    ) as shop
        on shop.day = calendar.day
),

shop_order_windows as (
    -- order lines paid in day - $window_days .. day - 1
    select
        day,
        sum(order_lines) over (
            order by day range between $window_days preceding and 1 preceding
        ) as order_lines
    from shop_orders
),

lag_refund_windows as (
    -- lag-k refunds requested in day - $window_days .. day - 1
    select
        calendar.day,
        lags.lag_days,
        coalesce(sum(linked.refunds), 0) as refunds
    from calendar
    cross join lags
    left join linked_refunds as linked
        on linked.lag_days = lags.lag_days
        and linked.day between calendar.day - $window_days and calendar.day - 1
    group by 1, 2
),

lag_hazards as (
    -- lag-k refunds per order line that could have produced them (paid k days earlier)
    select
        refunds.day,
        refunds.lag_days,
        refunds.refunds,
        refunds.refunds / nullif(volume.order_lines, 0) as hazard
    from lag_refund_windows as refunds
    left join shop_order_windows as volume
        on volume.day = refunds.day - refunds.lag_days
),

lag_weights as (
    select
        day,
        lag_days,
        case
            when sum(refunds) over by_day >= $min_lag_refunds
                and sum(hazard) over by_day > 0
                then coalesce(hazard, 0) / sum(hazard) over by_day
            else 1.0 / ($lag_days + 1)
        end as weight
    from lag_hazards
    window by_day as (partition by day)
),

-- logic CTEs: each slice's daily series of exposure and returns, from $first_series_day

exposures as (
    select
        weights.day,
        orders.slice_id,
        sum(orders.order_lines * weights.weight) as exposure_lines
    from rates as orders
    inner join lag_weights as weights
        on weights.day - weights.lag_days = orders.day
    where orders.order_lines > 0 and weights.day >= $first_series_day::date
    group by 1, 2
),

-- Every day of every slice, present or not: a day the old sparse series had no row for (no
-- exposure, no return) has x = y = 0, adding nothing to any sum, and is not counted as a
-- day (is_present); with a row per day, "the $window_days days before" is the
-- $window_days rows before.
series as (
    select
        calendar.day,
        slice.slice_id,
        coalesce(exposure.exposure_lines, 0) as x,
        coalesce(rate.returns, 0)::double as y,
        exposure.slice_id is not null or coalesce(rate.returns, 0) > 0 as is_present
    from slices as slice
    inner join calendar
        on calendar.day >= $first_series_day::date
    left join exposures as exposure
        on exposure.slice_id = slice.slice_id
        and exposure.day = calendar.day
    left join rates as rate
        on rate.slice_id = slice.slice_id
        and rate.day = calendar.day
),

raw_history as (
    select
        series.*,
        sum(y) over history as raw_y,
        sum(x) over history as raw_x,
        sum(y * y) over history as raw_yy,
        sum(x * y) over history as raw_xy,
        sum(x * x) over history as raw_xx
    from series
    window history as (
        partition by slice_id
        order by day
        rows between $window_days preceding and 1 preceding
    )
),

-- only the days round 1 screens for round 2's windows (their windows are whole)
raw_fit as (
    select
        *,
        raw_y / nullif(raw_x, 0) as raw_rate,
        greatest(
            0,
            (raw_yy - 2 * raw_y / nullif(raw_x, 0) * raw_xy
                + (raw_y / nullif(raw_x, 0)) ** 2 * raw_xx - raw_y)
            / nullif((raw_y / nullif(raw_x, 0)) ** 2 * raw_xx, 0)
        ) as raw_dispersion
    from raw_history
    where day >= $first_c1_day::date
),

excluded as (
    select
        *,
        is_shop_excluded or is_slice_excluded as is_excluded
    from (
        select
            fit.*,
            -- every slice's day: a promo day (or a shop-wide annotation)
            shop_ex.day is not null as is_shop_excluded,
            -- this slice's day: annotated 'expected', or before its 'new-normal' restart
            slice_ex.day is not null or coalesce(fit.day < rs.day, false) as is_slice_excluded
        from raw_fit as fit
        left join shop_excluded_days as shop_ex
            on shop_ex.day = fit.day
        left join slice_excluded_days as slice_ex
            on slice_ex.slice_id = fit.slice_id
            and slice_ex.day = fit.day
        left join slice_restarts as rs
            on rs.slice_id = fit.slice_id
    )
),

-- Screening, round 1: each day against its raw history (which may hold earlier spikes).
screened_once as (
    select
        *,
        is_excluded or is_raw_spike as is_screened_once
    from (
        select
            *,
            coalesce(
                y - raw_rate * x >= greatest(
                    $min_extra_returns,
                    $screen_z
                    * sqrt(raw_rate * x * (1 + coalesce(raw_dispersion, 0) * raw_rate * x))
                )
                and y > (1 + $lift_threshold) * raw_rate * x,
                false
            ) as is_raw_spike
        from excluded
    )
),

first_clean_history as (
    select
        *,
        sum(case when is_screened_once then 0 else y end) over history as c1_y,
        sum(case when is_screened_once then 0 else x end) over history as c1_x,
        sum(case when is_screened_once then 0 else y * y end) over history as c1_yy,
        sum(case when is_screened_once then 0 else x * y end) over history as c1_xy,
        sum(case when is_screened_once then 0 else x * x end) over history as c1_xx,
        sum(case when not is_screened_once and x > 0 then 1 else 0 end) over history as c1_days
    from screened_once
    window history as (
        partition by slice_id
        order by day
        rows between $window_days preceding and 1 preceding
    )
),

-- only the days round 2 screens for the clean history's windows
first_clean_fit as (
    select
        *,
        c1_y / nullif(c1_x, 0) as c1_rate,
        greatest(
            0,
            (c1_yy - 2 * c1_y / nullif(c1_x, 0) * c1_xy
                + (c1_y / nullif(c1_x, 0)) ** 2 * c1_xx - c1_y)
            / nullif((c1_y / nullif(c1_x, 0)) ** 2 * c1_xx, 0)
        ) as c1_dispersion
    from first_clean_history
    where day >= $first_clean_day::date
),

-- Screening, round 2: each day against its history cleared by round 1, so a spike does
-- not hide the next one by inflating the rate and the dispersion it is judged by.
screened as (
    select
        *,
        is_excluded or is_spike as is_screened,
        -- the same screening with promo days kept (for a history the promos leave too thin,
        -- below): spike days still out, by round 2 where round 1 left enough history, else
        -- by round 1
        is_slice_excluded
        or (case when c1_days >= $min_history_days then is_spike else is_raw_spike end)
            as is_screened_in_promo
    from (
        select
            *,
            coalesce(
                c1_days >= $min_history_days
                and y - c1_rate * x >= greatest(
                    $min_extra_returns,
                    $screen_z
                    * sqrt(c1_rate * x * (1 + coalesce(c1_dispersion, 0) * c1_rate * x))
                )
                and y > (1 + $lift_threshold) * c1_rate * x,
                false
            ) as is_spike
        from first_clean_fit
    )
),

clean_history as (
    select
        *,
        sum(case when is_screened then 0 else y end) over history as history_returns,
        sum(case when is_screened then 0 else x end) over history as history_exposure,
        sum(case when is_screened then 0 else y * y end) over history as history_yy,
        sum(case when is_screened then 0 else x * y end) over history as history_xy,
        sum(case when is_screened then 0 else x * x end) over history as history_xx,
        sum(case when not is_screened and x > 0 then 1 else 0 end) over history as history_days,
        sum(case when is_screened and is_present then 1 else 0 end) over history as screened_days,
        sum(case when is_screened_in_promo then 0 else y end) over history as promo_returns,
        sum(case when is_screened_in_promo then 0 else x end) over history as promo_exposure,
        sum(case when is_screened_in_promo then 0 else y * y end) over history as promo_yy,
        sum(case when is_screened_in_promo then 0 else x * y end) over history as promo_xy,
        sum(case when is_screened_in_promo then 0 else x * x end) over history as promo_xx,
        sum(case when not is_screened_in_promo and x > 0 then 1 else 0 end) over history
            as promo_days,
        sum(case when is_screened_in_promo and is_present then 1 else 0 end) over history
            as promo_screened_days
    from screened
    window history as (
        partition by slice_id
        order by day
        rows between $window_days preceding and 1 preceding
    )
),

-- A history the promo calendar leaves thinner than $min_history_days (during 618 or 双11
-- and their return windows every day is a promo day) keeps its promo days instead: a
-- baseline that includes the event's own returns is higher, but the detector is not blind
-- for the weeks shops sell most (`in_promo_baseline` says so in the alert).
chosen_history as (
    select
        clean.* replace (
            case when in_promo_baseline then promo_returns else history_returns end
                as history_returns,
            case when in_promo_baseline then promo_exposure else history_exposure end
                as history_exposure,
            case when in_promo_baseline then promo_yy else history_yy end as history_yy,
            case when in_promo_baseline then promo_xy else history_xy end as history_xy,
            case when in_promo_baseline then promo_xx else history_xx end as history_xx,
            case when in_promo_baseline then promo_days else history_days end as history_days,
            case when in_promo_baseline then promo_screened_days else screened_days end
                as screened_days
        )
    from (
        select
            *,
            coalesce(history_days, 0) < $min_history_days
            and coalesce(promo_days, 0) >= $min_history_days as in_promo_baseline
        from clean_history
        where day in (select day from target_days) and is_present
    ) as clean
),

targets as (
    select chosen.*, slice.dimension, slice.key
    from chosen_history as chosen
    inner join slices as slice
        on slice.slice_id = chosen.slice_id
    where list_contains($dimensions::varchar[], slice.dimension)
),

shop_targets as (
    select chosen.day, chosen.x, chosen.history_returns, chosen.history_exposure
    from chosen_history as chosen
    inner join slices as slice
        on slice.slice_id = chosen.slice_id
    where slice.dimension = 'shop'
),

final as (
    select
        $shop_id::varchar as shop_id,
        target.day,
        target.dimension,
        target.key,
        coalesce(rate.order_lines, 0) as order_lines,
        target.y::bigint as returns,
        rate.return_rate,
        rate.baseline_rate,
        coalesce(rate.baseline_days, 0) as baseline_days,
        rate.lift,
        target.x as exposure_lines,
        coalesce(target.history_returns, 0) as history_returns,
        coalesce(target.history_exposure, 0) as history_exposure,
        coalesce(target.history_yy, 0) as history_yy,
        coalesce(target.history_xy, 0) as history_xy,
        coalesce(target.history_xx, 0) as history_xx,
        coalesce(target.history_days, 0) as history_days,
        coalesce(target.screened_days, 0) as screened_days,
        target.in_promo_baseline,
        coalesce(shop.history_returns, 0) as shop_history_returns,
        coalesce(shop.history_exposure, 0) as shop_history_exposure,
        coalesce(shop.x, 0) as shop_exposure_lines
    from targets as target
    left join target_rates as rate
        on rate.day = target.day
        and rate.slice_id = target.slice_id
    left join shop_targets as shop
        on shop.day = target.day
    where
        coalesce(target.history_days, 0) >= $min_history_days
        and coalesce(rate.baseline_days, 0) >= $min_history_days
        and target.x >= $min_order_lines
        and coalesce(rate.order_lines, 0) > 0
)

select * from final
