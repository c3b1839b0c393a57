"""Telling every channel that the nightly run failed, so silence always means "all fine";
and that the 抖店 API's authorisation is about to run out, while there is time to act.

Best effort by design: this runs while something is already broken. When the warehouse is
usable, the notice goes through the outbox (recorded, deduplicated per night and failure,
retried by the next `alerts send` if a channel is down too) and is sent at once; when it
is not, each channel is sent the notice directly.
"""

from __future__ import annotations

import logging
from datetime import date

import duckdb
import requests

from returnwatch.alerts.channels import channels_for, make_channel
from returnwatch.alerts.digest import failure_digest
from returnwatch.alerts.outbox import enqueue_failure
from returnwatch.alerts.sender import Clock, Deliverer, SendSummary, Sleep, send_pending
from returnwatch.settings import Settings

log = logging.getLogger(__name__)


def notify_failure(
    settings: Settings,
    shop_id: str,
    what_failed: str,
    what_to_do: str,
    *,
    day: date | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    session: requests.Session | None = None,
    clock: Clock | None = None,
    sleep: Sleep | None = None,
    use_outbox: bool = True,
) -> SendSummary:
    """Notify every channel of `shop_id` that the run for `day` (default today) failed.

    `con` is a warehouse connection to record the notice on (outside any transaction); by
    default one is opened. `use_outbox=False` sends directly (the settings are broken and
    name no warehouse that exists: none is created just to hold the notice). Never
    raises: what could not be sent is in the summary.
    """
    day = day or date.today()
    try:
        if not use_outbox:
            raise LookupError("no warehouse to record the notice in")
        return _via_outbox(
            settings, shop_id, day, what_failed, what_to_do, con, session, clock, sleep
        )
    except Exception as error:  # the warehouse may be what failed
        log.warning(
            "failure notice not recorded in the outbox (%s); sending directly", type(error).__name__
        )
    summary = SendSummary()
    deliverer = Deliverer(settings.alerts, session=session, clock=clock, sleep=sleep)
    for config in channels_for(settings, shop_id):
        channel = make_channel(config)
        digest = failure_digest(settings, config, shop_id, day, what_failed, what_to_do)
        for message in channel.render(digest):
            outcome = deliverer.deliver(channel, message.payload)
            if outcome.ok:
                summary.sent += 1
            else:
                summary.failed += 1
                summary.errors.append(f"{config.name}: {outcome.error}")
                break
    return summary


def _via_outbox(settings, shop_id, day, what_failed, what_to_do, con, session, clock, sleep):
    own = con is None
    if own:
        from returnwatch.warehouse.connection import connect

        con = connect(settings)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            ids = enqueue_failure(con, settings, shop_id, day, what_failed, what_to_do)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return send_pending(con, settings, session=session, clock=clock, sleep=sleep, alert_ids=ids)
    finally:
        if own:
            con.close()
