-- Alert lifecycle, part 1: incidents. A slice anomalous on nearby nights is one incident
-- (docs/alerts.md, "Incidents"), so a problem lasting three nights is one alert that
-- goes new → ongoing/worse → resolved instead of three "new" alerts.
--
-- Derived, not typed in: `warehouse.incidents.update_incidents` rebuilds a shop's rows
-- from its anomalies in the detection transaction, so re-detecting history re-draws the
-- incidents and a rerun of a night changes nothing.

-- One row per shop, dimension, key and run of anomalous nights (gaps shorter than
-- [alerts] incident_gap_nights quiet nights bridged). dimension/key are whatever the
-- detector writes: no list of dimensions here.
CREATE TABLE incidents (
    incident_id         VARCHAR NOT NULL,   -- stable: hash of shop, dimension, key, first_day
    shop_id             VARCHAR NOT NULL,
    dimension           VARCHAR NOT NULL,
    key                 VARCHAR NOT NULL,
    first_day           DATE NOT NULL,      -- first anomalous night
    last_day            DATE NOT NULL,      -- latest anomalous night
    nights              INTEGER NOT NULL,   -- anomalous nights in it
    peak_extra_returns  DOUBLE,             -- the most extra returns of any of its nights
    peak_day            DATE,
    status              VARCHAR NOT NULL,   -- open | resolved
    resolved_day        DATE,               -- last_day + incident_gap_nights, once reached
    updated_at          TIMESTAMP NOT NULL
);

-- Each anomaly row references its incident and says where it stood that night; `muted`
-- is true when a mute (0013) covered the slice that night: still detected and stored,
-- left out of the digest's list and counted in its footer.
ALTER TABLE anomalies ADD COLUMN incident_id VARCHAR;
ALTER TABLE anomalies ADD COLUMN incident_status VARCHAR;  -- new | ongoing | worse
ALTER TABLE anomalies ADD COLUMN muted BOOLEAN;
