"""The alert outbox: digests become rows in the detection's transaction; the sender
delivers them later.

Dedup: a digest's rows share a `dedup_key` = channel|shop|day|night|content, where the
content is a hash of the kind and the primary slices it reports. Enqueueing a night again:

- same slices as a row already pending, sent or failed → nothing new;
- only slices that were already sent (some went away) → nothing new;
- (slices here are the digest's content items: primary slices, `resolved:<incident>`
  and `health:<code>`, so a resolution or a data-health finding is news too)
- new slices → the pending rows of the old version are superseded (never sent), and the new
  digest goes out, titled as an update if an earlier version was already sent;
- a quiet night → the pending rows are superseded; an all-clear is enqueued only with
  `send_all_clear`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import duckdb

from returnwatch.alerts.channels import channels_for, make_channel, to_json
from returnwatch.alerts.digest import (
    Attachment,
    Digest,
    digest_for_channel,
    failure_digest,
    load_night,
)
from returnwatch.settings import ChannelSettings, Settings
from returnwatch.warehouse.calendar import sync_promo_days
from returnwatch.warehouse.incidents import update_incidents

log = logging.getLogger(__name__)

NIGHT = "night"  # digests and all-clears of one night supersede each other
FAILURE = "failure"


@dataclass(frozen=True)
class AlertRecord:
    """One outbox row, as `returnwatch alerts list` shows it."""

    alert_id: int
    shop_id: str
    day: date
    channel: str
    channel_type: str
    kind: str
    part: int
    parts: int
    title: str
    slices: list[str]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    dedup_key: str


def enqueue_digests(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: list[date],
    *,
    now: datetime | None = None,
    attachments: Mapping[date, Sequence[Attachment]] | None = None,
) -> int:
    """Queue one digest per night and matching channel for `shop_id`; returns rows added.

    `attachments` adds links or images to the digests of given nights (the monthly
    report's trend on the month's first digest).

    Runs inside the caller's transaction (the one that wrote the anomalies): it neither
    begins nor commits. Nights are queued oldest first, so catch-up nights arrive in order;
    nights older than `catch_up_days` before the newest one are history, not news, and are
    skipped.
    """
    if not days:
        return 0
    channels = channels_for(settings, shop_id)
    # The lifecycle's bookkeeping (promo days, incidents, mutes) is kept with or without
    # channels: analysts read it too.
    sync_promo_days(con, settings, shop_id)
    for day in sorted(set(days)):
        update_incidents(con, settings, shop_id, day, now=now)
    if not channels:
        return 0
    horizon = max(days) - timedelta(days=settings.alerts.catch_up_days)
    recent = sorted({day for day in days if day >= horizon})
    if len(recent) < len(set(days)):
        log.info(
            "%s: %d night(s) before %s re-detected without a digest (older than catch_up_days)",
            shop_id,
            len(set(days)) - len(recent),
            horizon,
        )
    added = 0
    for day in recent:
        night = load_night(con, settings, shop_id, day)
        for channel in channels:
            digest = digest_for_channel(night, channel, settings)
            extra = tuple((attachments or {}).get(day, ()))
            if digest is not None and extra:
                digest = replace(digest, attachments=(*digest.attachments, *extra))
            added += len(_enqueue(con, channel, shop_id, day, NIGHT, digest, now))
    return added


def enqueue_failure(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    day: date,
    what_failed: str,
    what_to_do: str,
    *,
    now: datetime | None = None,
) -> list[int]:
    """Queue a failed-run notice for every channel of the shop; returns the new alert ids
    (none when the same failure was already queued for that night)."""
    ids: list[int] = []
    for channel in channels_for(settings, shop_id):
        digest = failure_digest(settings, channel, shop_id, day, what_failed, what_to_do)
        ids += _enqueue(con, channel, shop_id, day, FAILURE, digest, now)
    return ids


def _enqueue(
    con: duckdb.DuckDBPyConnection,
    channel: ChannelSettings,
    shop_id: str,
    day: date,
    group: str,
    digest: Digest | None,
    now: datetime | None,
) -> list[int]:
    """Insert the digest's messages unless the night already has them; their alert ids."""
    digest_key = f"{channel.name}|{shop_id}|{day.isoformat()}|{group}"
    dedup_key = f"{digest_key}|{digest.content_key()}" if digest else None
    rows = con.execute(
        "SELECT dedup_key, status, slices FROM alert_outbox WHERE digest_key = ?",
        [digest_key],
    ).fetchall()
    # Pending rows of another version of this night will never be wanted now.
    con.execute(
        "UPDATE alert_outbox SET status = 'superseded' "
        "WHERE digest_key = ? AND status = 'pending' AND dedup_key IS DISTINCT FROM ?",
        [digest_key, dedup_key],
    )
    if digest is None:
        return []
    live = {key for key, status, _ in rows if status != "superseded"}
    sent_slices = {s for _, status, slices in rows if status == "sent" for s in slices}
    if dedup_key in live:
        return []
    if any(status == "sent" for _, status, _ in rows) and group == NIGHT:
        if set(digest.content_items()) <= sent_slices:
            return []  # nothing the reader has not seen
        if digest.kind == "digest":
            digest = replace(digest, is_update=True)

    messages = make_channel(channel).render(digest, dedup_key=dedup_key)
    created = now or datetime.now()
    ids = []
    for message in messages:
        inserted = con.execute(
            """
            INSERT INTO alert_outbox (dedup_key, digest_key, shop_id, day, channel,
                channel_type, kind, part, parts, title, slices, payload, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)
            RETURNING alert_id
            """,
            [
                dedup_key,
                digest_key,
                shop_id,
                day,
                channel.name,
                channel.type,
                digest.kind,
                message.part,
                message.parts,
                message.title,
                list(digest.content_items()),
                to_json(message.payload).decode(),
                created,
            ],
        ).fetchone()
        ids.append(int(inserted[0]))
    return ids


def list_alerts(con: duckdb.DuckDBPyConnection, day: date | None = None) -> list[AlertRecord]:
    """Every outbox row (of one night, if given), newest night first, parts in order."""
    query = """
        SELECT alert_id, shop_id, day, channel, channel_type, kind, part, parts, title,
               slices, status, attempts, last_error, created_at, sent_at, dedup_key
        FROM alert_outbox
    """
    params: list[object] = []
    if day is not None:
        query += " WHERE day = ?"
        params.append(day)
    query += " ORDER BY day DESC, shop_id, channel, alert_id"
    return [AlertRecord(*row) for row in con.execute(query, params).fetchall()]


def retry_failed(con: duckdb.DuckDBPyConnection, channel: str | None = None) -> int:
    """Put failed rows back to pending (after fixing a channel's secret or key); returns
    how many. The next `send_pending` delivers them."""
    query = "UPDATE alert_outbox SET status = 'pending' WHERE status = 'failed'"
    params: list[object] = []
    if channel is not None:
        query += " AND channel = ?"
        params.append(channel)
    row = con.execute(query + " RETURNING alert_id", params).fetchall()
    return len(row)
