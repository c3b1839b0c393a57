"""Running detection: read the features, write the days' `anomalies`, in one transaction.

`transforms.detection` holds the method (pure: SQL text and functions over frames); this
module executes its SQL on the warehouse connection it is handed, hands the frames to it,
and replaces the target days' rows. docs/detection.md has the full method.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from returnwatch.settings import DetectionSettings, Settings
from returnwatch.transforms.detection import (
    ANOMALY_COLUMNS,
    DetectionSummary,
    default_frame,
    empty_breakdown,
    features_params,
    flagged_skus,
    handover_frame,
    handover_select,
    literal_frame,
    literal_params,
    score,
)
from returnwatch.transforms.rates import clusters, date_range, feed_days, read_sql
from returnwatch.warehouse.rates import (
    affected_days,
    consume_dirty_days,
    recompute_rates,
    refresh_rates,
    shop_ids,
    transaction,
)

__all__ = [
    "DetectionSummary",
    "OnAnomalies",
    "backfill_rates",
    "default_anomalies",
    "detect_days",
    "detect_dirty",
    "detect_in_transaction",
    "insert_anomalies",
    "literal_anomalies",
    "run_detect",
]

OnAnomalies = Callable[[duckdb.DuckDBPyConnection, str, list[date]], None]


def detect_days(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: list[date],
    *,
    on_anomalies: OnAnomalies | None = None,
) -> DetectionSummary:
    """Replace the anomalies of these days for one shop, in one transaction.

    Reads `daily_return_rates`, which must be current for the days and the
    `rates.feed_days(settings)` days before them (what `refresh_rates`/`refresh_dirty`
    keep). If given, `on_anomalies(con, shop_id, days)` runs inside the same transaction
    before COMMIT, so whatever it writes (the alerts outbox) commits with the anomalies.
    """
    days = sorted(set(days))
    with transaction(con):
        summary = detect_in_transaction(con, settings, shop_id, days)
        if on_anomalies is not None:
            on_anomalies(con, shop_id, days)
    return summary


def detect_dirty(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    *,
    on_anomalies: OnAnomalies | None = None,
) -> DetectionSummary:
    """The nightly increment in one transaction: consume the shop's dirty days, recompute
    the rates they feed, detect those days, run `on_anomalies`, COMMIT.

    A crash anywhere leaves the dirty days in place for the next run.
    """
    with transaction(con):
        dirty = consume_dirty_days(con, shop_id)
        days = affected_days(con, settings, shop_id, dirty)
        if days:
            recompute_rates(con, settings, shop_id, days)
        summary = detect_in_transaction(con, settings, shop_id, days)
        if on_anomalies is not None:
            on_anomalies(con, shop_id, days)
    return summary


def run_detect(
    settings: Settings, start: date, end: date, shop_id: str | None = None
) -> DetectionSummary:
    """`returnwatch detect --start --end`: a backfill of rates, baselines and anomalies.

    For each shop (all shops in the warehouse when shop_id is None): recompute the rates
    of start..end, of the days before it that its baselines read and of the days after it
    that read its rates, then detect every day of start..end. No chat message is sent.
    Writes the working file (waiting while another writer holds it); publishing it for
    analysts is the caller's step.
    """
    from returnwatch.warehouse.publish import open_working

    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    con = open_working(settings)
    try:
        shops = [shop_id] if shop_id is not None else shop_ids(con)
        days = date_range(start, end)
        summary = DetectionSummary(mode=settings.detection.mode, days=days)
        for shop in shops:
            backfill_rates(con, settings, shop, start, end)
            summary = summary.merge(detect_days(con, settings, shop, days))
        return summary
    finally:
        con.close()


def backfill_rates(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, start: date, end: date
) -> list[date]:
    """Recompute the rates detection of start..end reads, and the days start..end feeds."""
    history_start = start - timedelta(days=feed_days(settings))
    return refresh_rates(con, settings, shop_id, start=history_start, end=end)


def detect_in_transaction(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: list[date],
    *,
    detected_at: datetime | None = None,
) -> DetectionSummary:
    """Replace the anomalies of `days` for one shop; the caller owns the transaction."""
    detection = settings.detection
    detected_at = detected_at or datetime.now()
    summary = DetectionSummary(mode=detection.mode, days=list(days), shops=[shop_id])
    if not days:
        return summary
    frames = []
    for group in clusters(days, feed_days(settings)):
        if detection.mode == "literal":
            frame = literal_anomalies(con, detection, shop_id, group)
        else:
            frame, tested = default_anomalies(con, detection, shop_id, group)
            summary.tested += tested
        frames.append(frame)
    anomalies = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    con.execute(
        "DELETE FROM anomalies WHERE shop_id = $shop_id AND day IN (SELECT unnest($days::DATE[]))",
        {"shop_id": shop_id, "days": days},
    )
    if len(anomalies):
        anomalies["mode"] = detection.mode
        anomalies["detected_at"] = pd.Timestamp(detected_at)
        anomalies = anomalies[ANOMALY_COLUMNS]
        insert_anomalies(con, anomalies)
        summary.anomalies = len(anomalies)
        summary.primary = int(anomalies["explained_by"].isna().sum())
        summary.by_dimension = anomalies["dimension"].value_counts().to_dict()
        summary.by_severity = anomalies["severity"].value_counts().to_dict()
    return summary


def insert_anomalies(con: duckdb.DuckDBPyConnection, anomalies: pd.DataFrame) -> None:
    """Append anomaly rows, every column cast to its declared type (no type inference
    from a sample: `transforms.detection.handover_frame`)."""
    con.register("_rw_new_anomalies", handover_frame(anomalies))
    try:
        con.execute(f"INSERT INTO anomalies BY NAME {handover_select('_rw_new_anomalies')}")
    finally:
        con.unregister("_rw_new_anomalies")


def literal_anomalies(
    con: duckdb.DuckDBPyConnection, detection: DetectionSettings, shop_id: str, days: list[date]
) -> pd.DataFrame:
    """The literal rule's anomalies for one cluster of days."""
    fired = con.execute(
        read_sql("literal_anomalies"), literal_params(detection, shop_id, days)
    ).df()
    return literal_frame(fired, detection)


def default_anomalies(
    con: duckdb.DuckDBPyConnection, detection: DetectionSettings, shop_id: str, days: list[date]
) -> tuple[pd.DataFrame, int]:
    """The default detector's anomalies for one cluster of days, and how many slice-days
    it tested."""
    features = con.execute(
        read_sql("detection_features"), features_params(detection, shop_id, days)
    ).df()
    scored = score(features, detection)
    tested = int(scored["is_tested"].sum())
    skus = flagged_skus(scored)
    breakdown = empty_breakdown()
    if skus:
        breakdown = con.execute(
            read_sql("sku_region_returns"),
            {"shop_id": shop_id, "days": days, "skus": skus},
        ).df()
    return default_frame(scored, breakdown, detection), tested
