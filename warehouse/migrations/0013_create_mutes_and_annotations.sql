-- Alert lifecycle, part 2: what ops say back. Mutes ("known, stop") and annotations
-- (expected / new-normal / confirmed) are typed in with `returnwatch alerts mute|annotate`
-- and kept here, with who and why, so a silence can always be explained.

-- One row per mute. A mute covers nights up to `until_day` (inclusive) and ends by
-- itself; `alerts unmute` ends it early (unmuted_at). SLICE 'shop' is dimension 'shop',
-- key '*'; any other is '<dimension>:<key>' as the detector names it.
CREATE SEQUENCE mute_id_seq START 1;
CREATE TABLE alert_mutes (
    mute_id         BIGINT PRIMARY KEY DEFAULT nextval('mute_id_seq'),
    shop_id         VARCHAR NOT NULL,
    dimension       VARCHAR NOT NULL,
    key             VARCHAR NOT NULL,
    until_day       DATE NOT NULL,
    reason          VARCHAR NOT NULL,
    created_by      VARCHAR NOT NULL,   -- the OS user, or --by
    created_at      TIMESTAMP NOT NULL,
    unmuted_at      TIMESTAMP,
    unmuted_by      VARCHAR
);

-- One row per annotation of a slice-day; the latest one of a slice-day counts.
-- expected: the day stays out of the slice's baselines; new-normal: the slice's baseline
-- restarts from the day; confirmed: a true problem (precision in `alerts stats`).
CREATE SEQUENCE annotation_id_seq START 1;
CREATE TABLE alert_annotations (
    annotation_id   BIGINT PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
    shop_id         VARCHAR NOT NULL,
    dimension       VARCHAR NOT NULL,
    key             VARCHAR NOT NULL,
    day             DATE NOT NULL,
    verdict         VARCHAR NOT NULL,   -- expected | new-normal | confirmed
    note            VARCHAR,
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

-- What detection reads to honour the annotations (docs/alerts.md, "Feedback"): one row
-- per shop, dimension, key and day to leave out of baselines ...
CREATE VIEW baseline_exclusions AS
SELECT shop_id, dimension, key, day
FROM (
    SELECT shop_id, dimension, key, day, verdict
    FROM alert_annotations
    QUALIFY row_number() OVER (
        PARTITION BY shop_id, dimension, key, day ORDER BY created_at DESC, annotation_id DESC
    ) = 1
) AS latest
WHERE verdict = 'expected';

-- ... and one row per shop, dimension and key whose baseline starts again at `day`
-- (history before it is not read), the latest new-normal of the slice.
CREATE VIEW baseline_restarts AS
SELECT shop_id, dimension, key, max(day) AS day
FROM alert_annotations
WHERE verdict = 'new-normal'
GROUP BY ALL;
