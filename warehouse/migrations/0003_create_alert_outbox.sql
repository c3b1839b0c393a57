-- The alert outbox: every chat message returnwatch means to send, written in the same
-- transaction as the anomalies it reports, and delivered later by `returnwatch alerts send`.
-- A crash or a channel that is down loses nothing (the row stays pending); a re-run of a
-- night adds nothing (same dedup_key).

-- One row per message part: channel, shop, night, kind and part. A digest too big for its
-- platform is split into numbered parts, each its own row.
CREATE SEQUENCE alert_id_seq START 1;
CREATE TABLE alert_outbox (
    alert_id        BIGINT PRIMARY KEY DEFAULT nextval('alert_id_seq'),
    -- channel|shop|day|kind|content|part/parts: equal keys mean the same message. Not a
    -- UNIQUE column: a superseded row may come back with the same key (enforced on insert).
    dedup_key       VARCHAR NOT NULL,
    digest_key      VARCHAR NOT NULL,   -- channel|shop|day|kind: the parts of one digest, and its revisions
    shop_id         VARCHAR NOT NULL,
    day             DATE NOT NULL,      -- the night reported on
    channel         VARCHAR NOT NULL,   -- the channel's NAME from the config, never its URL
    channel_type    VARCHAR NOT NULL,   -- feishu | lark | dingtalk | wecom | slack | generic
    kind            VARCHAR NOT NULL,   -- digest | all_clear | failure
    part            INTEGER NOT NULL,   -- 1-based
    parts           INTEGER NOT NULL,
    title           VARCHAR NOT NULL,   -- as shown in the chat, for `alerts list`
    slices          VARCHAR[] NOT NULL, -- 'sku:123456', 'region:广东省', … reported (primary spikes)
    payload         JSON NOT NULL,      -- the request body before signing
    status          VARCHAR NOT NULL,   -- pending | sent | failed | superseded
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      VARCHAR,            -- scrubbed of URLs and secrets
    created_at      TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    sent_at         TIMESTAMP
);
CREATE INDEX alert_outbox_digest_key ON alert_outbox (digest_key);
