-- incident_nights: one row per shop, dimension, key and anomalous night, with the
-- incident the night belongs to and where that incident stood that night.
--
-- A slice's anomalous nights form one incident while each comes within $gap_nights
-- nights of the previous one (fewer than $gap_nights quiet nights in between); the
-- incident's id is a hash of shop, dimension, key and first night, so re-deriving it
-- from the same anomalies gives the same id. A night is 'new' on the incident's first
-- night, 'worse' when its extra returns reach $worse_ratio x the incident's peak before
-- that night, else 'ongoing'. Keyed on (dimension, key) only: every dimension the
-- detector writes has incidents, with no list of dimensions here.
--
-- Parameters: $shop_id, $gap_nights, $worse_ratio. Reads anomalies.

with

anomaly_nights as (
    -- one row per slice-night even if the table holds several (two detection modes)
    select
        anomaly.dimension,
        anomaly.key,
        anomaly.day,
        max(anomaly.extra_returns) as extra_returns,
        bool_or(anomaly.explained_by is null) as is_primary
    from anomalies as anomaly
    where anomaly.shop_id = $shop_id
    group by all
),

steps as (
    select
        *,
        day - lag(day) over (partition by dimension, key order by day) as days_since_previous
    from anomaly_nights
),

islands as (
    select
        *,
        sum(case when days_since_previous is null or days_since_previous > $gap_nights then 1 else 0 end)
            over (partition by dimension, key order by day rows unbounded preceding) as island
    from steps
),

marked as (
    select
        *,
        min(day) over (partition by dimension, key, island) as first_day,
        max(extra_returns) over (
            partition by dimension, key, island
            order by day rows between unbounded preceding and 1 preceding
        ) as previous_peak,
        row_number() over (partition by dimension, key, island order by day) as night_number
    from islands
),

final as (
    select
        'inc-' || left(md5(concat_ws('|', $shop_id, dimension, key, first_day::varchar)), 12)
            as incident_id,
        dimension,
        key,
        day,
        first_day,
        night_number,
        extra_returns,
        is_primary,
        case
            when day = first_day then 'new'
            when extra_returns > coalesce(previous_peak, 0)
                and extra_returns >= $worse_ratio * coalesce(previous_peak, 0) then 'worse'
            else 'ongoing'
        end as incident_status
    from marked
)

select * from final
