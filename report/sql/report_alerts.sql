-- report_alerts: one row per chat message of one shop about a night in the period (the
-- alert outbox), for the report's alert history. Superseded revisions are left out.
--
-- Parameters: $shop_id, $start, $end (DATE, end exclusive).

with

final as (
    select
        day,
        channel,
        channel_type,
        kind,
        part,
        parts,
        title,
        slices,
        status,
        attempts,
        created_at,
        sent_at
    from alert_outbox
    where
        shop_id = $shop_id
        and day >= $start::date
        and day < $end::date
        and status <> 'superseded'
    order by day, channel, kind, part
)

select * from final
