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

from returnwatch.settings import CategoryMapping, DetectionSettings, Settings
from returnwatch.transforms.beyond_spike import (
    buyer_note,
    cold_start_params,
    drift_params,
    incident_anomalies,
    joint_fdr,
    merge_anomalies,
    mix_params,
    score_cold_start,
    score_drift,
    score_mix,
)
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
from returnwatch.transforms.rates import (
    category_rule_sql,
    clusters,
    date_range,
    feed_days,
    read_sql,
    with_return_item,
    with_slices,
)
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
            frame, tested = default_anomalies(con, detection, shop_id, group, settings.categories)
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
        anomalies = anomalies.reindex(columns=ANOMALY_COLUMNS)
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
    con: duckdb.DuckDBPyConnection,
    detection: DetectionSettings,
    shop_id: str,
    days: list[date],
    categories: list[CategoryMapping] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The default detector's anomalies for one cluster of days — the spike test and the
    incident tests (`detection.tests`) under one false-discovery control — and how many
    slice-days it tested."""
    features = con.execute(
        read_sql("detection_features"), features_params(detection, shop_id, days)
    ).df()
    scored = score(features, detection)
    if "spike" not in detection.tests:
        scored["is_candidate"] = False
    rule = category_rule_sql(categories or [])
    incidents = incident_features(con, detection, shop_id, days, rule)
    scored, incidents = joint_fdr(scored, incidents, detection)
    tested = int(scored["is_tested"].sum()) + sum(int(f["is_tested"].sum()) for f in incidents)
    skus = flagged_skus(scored)
    breakdown = empty_breakdown()
    if skus:
        breakdown = con.execute(
            read_sql("sku_region_returns"),
            {"shop_id": shop_id, "days": days, "skus": skus},
        ).df()
    spikes = default_frame(scored, breakdown, detection)
    shop_expected = scored.groupby("day")["shop_expected_returns"].first()
    earlier = earlier_incidents(con, detection, shop_id, days)
    skus = sorted(
        {k for f in incidents for k in f.loc[f["is_anomaly"] & (f["dimension"] == "sku"), "key"]}
    )
    others = incident_anomalies(
        incidents,
        spikes,
        shop_expected,
        detection,
        earlier=earlier,
        sku_products=sku_products(con, shop_id, skus),
    )
    anomalies = merge_anomalies(spikes, others)
    return with_buyers(con, detection, shop_id, anomalies, rule), tested


def earlier_incidents(
    con: duckdb.DuckDBPyConnection, detection: DetectionSettings, shop_id: str, days: list[date]
) -> pd.DataFrame:
    """The lasting incidents (cold start, drift) alerted in the weeks before these days,
    so a launch or a drift is alerted once, and the spikes of the drift window's days
    before them, whose excess a drift does not alert again
    (`beyond_spike.suppress_repeats`)."""
    frame = con.execute(
        """
        SELECT day, dimension, key, test FROM anomalies
        WHERE shop_id = $shop_id AND day < $first
          AND (test IN ('cold_start', 'drift') AND day >= $since
               OR test = 'spike' AND day >= $spikes_since)
        """,
        {
            "shop_id": shop_id,
            "since": days[0]
            - timedelta(days=max(detection.window_days, detection.cold_start_days)),
            "spikes_since": days[0] - timedelta(days=detection.drift_days),
            "first": days[0],
        },
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def sku_products(con: duckdb.DuckDBPyConnection, shop_id: str, skus: list[str]) -> dict[str, str]:
    """Each SKU's product (its lines' product_id, else the SKU itself)."""
    if not skus:
        return {}
    rows = con.execute(
        "SELECT sku_id, any_value(coalesce(product_id, sku_id)) FROM order_lines "
        "WHERE shop_id = $shop_id AND list_contains($skus::VARCHAR[], sku_id) GROUP BY sku_id",
        {"shop_id": shop_id, "skus": skus},
    ).fetchall()
    return dict(rows)


def incident_features(
    con: duckdb.DuckDBPyConnection,
    detection: DetectionSettings,
    shop_id: str,
    days: list[date],
    category_rule: str,
) -> list[pd.DataFrame]:
    """The scored rows of each incident test the settings run."""
    rule = category_rule
    out = []
    if "cold_start" in detection.tests and {"sku", "product"} & set(detection.dimensions):
        sql = read_sql("cold_start_features").replace("{category_rule}", rule)
        frame = con.execute(sql, cold_start_params(detection, shop_id, days)).df()
        out.append(score_cold_start(frame, detection))
    if "drift" in detection.tests:
        frame = con.execute(read_sql("drift_features"), drift_params(detection, shop_id, days))
        out.append(score_drift(frame.df(), detection))
    if "mix_shift" in detection.tests:
        frame = con.execute(read_sql("mix_features"), mix_params(detection, shop_id, days))
        out.append(score_mix(frame.df(), detection))
    return out


def with_buyers(
    con: duckdb.DuckDBPyConnection,
    detection: DetectionSettings,
    shop_id: str,
    anomalies: pd.DataFrame,
    category_rule: str,
) -> pd.DataFrame:
    """Each anomaly's buyer concentration over the returns it counted (the day; a drift's
    window; a cold start's days since launch), and a note in its reason when one or two
    buyers made most of them."""
    if anomalies.empty:
        return anomalies
    anomalies = anomalies.reset_index(drop=True)
    last = pd.to_datetime(anomalies["day"])
    first = (
        pd.to_datetime(anomalies["window_from"]).fillna(last)
        if "window_from" in anomalies
        else last
    )
    sql = with_slices(with_return_item(read_sql("anomaly_buyers")), category_rule)
    counts = con.execute(
        sql,
        {
            "shop_id": shop_id,
            "idx": list(range(len(anomalies))),
            "dimensions": anomalies["dimension"].astype(str).tolist(),
            "keys": anomalies["key"].astype(str).tolist(),
            "first_days": [d.date() for d in first],
            "last_days": [d.date() for d in last],
        },
    ).df()
    counts = counts.set_index("idx").reindex(range(len(anomalies)))
    anomalies["buyers"] = counts["buyers"].to_numpy()
    anomalies["top_buyer_returns"] = counts["top_buyer_returns"].to_numpy()
    anomalies["top2_buyer_returns"] = counts["top2_buyer_returns"].to_numpy()
    notes = [
        buyer_note(int(n or 0), int(t or 0), int(t2 or 0), detection.buyer_event_share)
        for n, t, t2 in zip(
            counts["returns"].fillna(0), counts["top_buyer_returns"].fillna(0),
            counts["top2_buyer_returns"].fillna(0), strict=True,
        )
    ]  # fmt: skip
    anomalies["reason"] = [
        f"{reason}; buyer event: {note}" if note else reason
        for reason, note in zip(anomalies["reason"], notes, strict=True)
    ]
    return anomalies
