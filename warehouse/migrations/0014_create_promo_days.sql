-- Alert lifecycle, part 3: the promo calendar. During a promotion (618, 双11, a big
-- live-stream day) and its return window the shop's returns are expected to rise: those
-- days must not teach the baseline what "normal" is.

-- One row per shop and day a promotion or its return window covers, written from the
-- settings ([[calendar]] and the default platform calendar) before each night's digests
-- (`warehouse.calendar.sync_promo_days`), so the file states the calendar in force.
CREATE TABLE promo_days (
    shop_id     VARCHAR NOT NULL,
    day         DATE NOT NULL,
    event       VARCHAR NOT NULL,   -- the event's name: 双11, 618, …
    phase       VARCHAR NOT NULL    -- event | return_window
);

-- baseline_exclusions now also holds every promo day, for every slice of the shop
-- (dimension and key '*'): detection leaves a row's day out of the baselines of the
-- slices it matches (its own dimension/key, or all slices when they are '*').
CREATE OR REPLACE VIEW baseline_exclusions AS
SELECT shop_id, dimension, key, day
FROM (
    SELECT shop_id, dimension, key, day, verdict
    FROM alert_annotations
    QUALIFY row_number() OVER (
        PARTITION BY shop_id, dimension, key, day ORDER BY created_at DESC, annotation_id DESC
    ) = 1
) AS latest
WHERE verdict = 'expected'
UNION ALL
SELECT shop_id, '*' AS dimension, '*' AS key, day
FROM promo_days;
