"""The backfill flow: recompute rates and anomalies over a date range, sending nothing.

For a new shop's history, after changing `[detection]` settings, or after importing a
month that had been missing. Per shop: the rates of start..end, of the days its baselines
read before it and of the days after it that read its rates, then detection of every day
of start..end — without digests (the outbox is not touched). Then the working file is
published for analysts. Idempotent: each day's rows are replaced.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from returnwatch.flows.shops import current_settings, shop_settings, use_settings
from returnwatch.settings import Settings
from returnwatch.warehouse import detection, rates


@dataclass
class BackfillSummary:
    start: dt.date
    end: dt.date
    shops: list[str] = field(default_factory=list)
    days_recomputed: int = 0
    anomalies: int = 0
    primary_anomalies: int = 0
    published: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def paragraph(self) -> str:
        return (
            f"Backfill {self.start} … {self.end} for {len(self.shops)} shop(s) "
            f"({', '.join(self.shops) or 'none in the warehouse'}): "
            f"{self.days_recomputed} days of rates recomputed, {self.anomalies} anomalies "
            f"({self.primary_anomalies} primary); no alerts sent; published to "
            f"{', '.join(self.published) or 'nothing'}. Took {self.seconds:.1f}s."
        )


@task(name="backfill-shop", task_run_name="backfill-{shop_id}", cache_policy=NO_CACHE)
def backfill_shop(
    settings: Settings, shop_id: str, start: dt.date, end: dt.date
) -> tuple[int, detection.DetectionSummary]:
    from returnwatch.warehouse.publish import open_working, publish

    con = open_working(settings)
    try:
        history_start = start - dt.timedelta(days=rates.feed_days(settings))
        recomputed = rates.refresh_rates(con, settings, shop_id, start=history_start, end=end)
        detected = detection.detect_days(con, settings, shop_id, rates.date_range(start, end))
        publish(settings, con)
        return len(recomputed), detected
    finally:
        con.close()


@flow(name="backfill", flow_run_name="backfill-{start}-{end}", log_prints=True)
def backfill(start: dt.date, end: dt.date, shop_id: str | None = None) -> BackfillSummary:
    """Recompute rates and anomalies for start..end (inclusive) without sending messages.

    `shop_id`: one shop; default every shop with data in the configured warehouse(s).
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    logger = get_run_logger()
    settings = current_settings()
    begun = time.perf_counter()
    summary = BackfillSummary(start, end)
    for shop in _shops(settings, shop_id):
        shop_cfg = shop_settings(settings, shop)
        days, detected = backfill_shop(shop_cfg, shop, start, end)
        summary.shops.append(shop)
        summary.days_recomputed += days
        summary.anomalies += detected.anomalies
        summary.primary_anomalies += detected.primary
        if str(shop_cfg.db) not in summary.published:
            summary.published.append(str(shop_cfg.db))
    summary.seconds = time.perf_counter() - begun
    logger.info(summary.paragraph())
    return summary


def _shops(settings: Settings, shop_id: str | None) -> list[str]:
    """The shop asked for; else the configured `[[shops]]`; else the shops in the warehouse."""
    if shop_id:
        return [shop_id]
    if settings.shops:
        return settings.shop_ids()
    from returnwatch.warehouse.publish import open_working

    con = open_working(settings)
    try:
        return rates.shop_ids(con)
    finally:
        con.close()


def run_backfill(
    start: dt.date,
    end: dt.date,
    shop_id: str | None = None,
    settings: Settings | None = None,
) -> BackfillSummary:
    """`returnwatch backfill --start --end [--shop]`: the backfill flow once, in process."""
    with use_settings(settings or current_settings()):
        return backfill(start=start, end=end, shop_id=shop_id)
