-- report_reasons: one row per period, 售后原因 label, standard reason class and how the
-- class was decided, with its returns, for one shop's current and previous periods.
--
-- Classification (docs/report.md): a label in $label_map that is not in $vague_labels
-- takes its mapped class ('label'). Otherwise the buyer's own words (reason_detail, with
-- the label) are matched against $keyword_rules, lowest priority first ('keywords'); a
-- text matching no rule keeps its label's mapped class, else '其他' ('default').
--
-- Parameters: $shop_id, $prev_start, $start, $end (TIMESTAMP), $return_types,
-- $vague_labels (VARCHAR[]), $label_map (STRUCT(label, reason_class)[]), $keyword_rules
-- (STRUCT(reason_class, keyword, priority)[]), $other_class (VARCHAR).

with

-- import CTEs

scoped_returns as (
    select
        refund_id,
        coalesce(nullif(trim(reason), ''), '（未填）') as reason,
        coalesce(reason_detail, '') as reason_detail,
        case when requested_at >= $start::timestamp then 'current' else 'previous' end
            as period
    from refunds
    where
        shop_id = $shop_id
        and refund_type in (select unnest($return_types::varchar[]))
        and requested_at >= $prev_start::timestamp
        and requested_at < $end::timestamp
),

label_map as (
    select entry.label, entry.reason_class
    from (
        select unnest($label_map::struct(label varchar, reason_class varchar)[]) as entry
    )
),

keyword_rules as (
    select rule.reason_class, rule.keyword, rule.priority
    from (
        select unnest(
            $keyword_rules::struct(reason_class varchar, keyword varchar, priority integer)[]
        ) as rule
    )
    where rule.keyword <> ''
),

-- logic CTEs

keyword_hits as (
    select
        rets.refund_id,
        arg_min(rules.reason_class, rules.priority) as keyword_class
    from scoped_returns as rets
    inner join keyword_rules as rules
        on contains(rets.reason || ' ' || rets.reason_detail, rules.keyword)
    group by rets.refund_id
),

classified as (
    select
        rets.period,
        rets.reason,
        case
            when labels.reason_class is not null
                and rets.reason not in (select unnest($vague_labels::varchar[]))
                then labels.reason_class
            else coalesce(hits.keyword_class, labels.reason_class, $other_class::varchar)
        end as reason_class,
        case
            when labels.reason_class is not null
                and rets.reason not in (select unnest($vague_labels::varchar[]))
                then 'label'
            when hits.keyword_class is not null then 'keywords'
            else 'default'
        end as decided_by
    from scoped_returns as rets
    left join label_map as labels on labels.label = rets.reason
    left join keyword_hits as hits on hits.refund_id = rets.refund_id
),

final as (
    select period, reason, reason_class, decided_by, count(*) as returns
    from classified
    group by all
    order by period, returns desc, reason, reason_class, decided_by
)

select * from final
