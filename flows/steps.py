"""The nightly run's steps as plain functions (no Prefect), and its summary.

Each step takes an open connection to the working file and the shop's settings; `tasks.py`
wraps them as Prefect tasks and `nightly.py` wires them. Catch-up state is the
`nightly_runs` table: a run detects and reports every night after the shop's last
successful one, up to its target night and at most `alerts.catch_up_days` before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from returnwatch.settings import ConfigError, Settings, notice_settings
from returnwatch.sources import inbox as inbox_files
from returnwatch.transforms.rates import rates_fingerprint
from returnwatch.warehouse import data_docs, detection, rates, serial_returners
from returnwatch.warehouse.serial_returners import SerialNight

log = logging.getLogger(__name__)


# -- the summary ------------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What a run did with one inbox file."""

    name: str
    status: str  # loaded | skipped | refused | error | changed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    moved_to: str | None = None


@dataclass
class NightlySummary:
    """One shop's nightly run, for the log, the CLI and `nightly_runs.summary`."""

    shop_id: str
    target: dt.date
    status: str = "running"  # success | failed | skipped (another run held the lock)
    nights: list[dt.date] = field(default_factory=list)
    nights_not_reported: list[dt.date] = field(default_factory=list)  # beyond catch_up_days
    files: list[FileOutcome] = field(default_factory=list)
    files_settling: int = 0  # still being written: left for the next run
    api: str | None = None
    days_recomputed: int = 0
    anomalies: int = 0
    primary_anomalies: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    alerts_sent: int = 0
    alerts_pending: int = 0
    alerts_failed: int = 0
    # Serial returners (issue 17): tracked at all ([detection] serial_returner_alerts),
    # buyers announced as new, and recorded as the starting point, over the run's nights.
    serial_tracked: bool = False
    serial_new: int = 0
    serial_starting_point: int = 0
    warnings: list[str] = field(default_factory=list)
    # Labels the night's loads did not recognise (`night_unknown_values`), one line each.
    unknown_values: list[str] = field(default_factory=list)
    published: str | None = None
    data_docs: str | None = None
    seconds: float = 0.0
    message: str = ""

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def serial_line(self) -> str:
        """'Serial returners: 1 new.' (and the starting point on the first night tracked)."""
        line = f"Serial returners: {self.serial_new} new"
        if self.serial_starting_point:
            line += (
                f", {self.serial_starting_point} already there recorded as the starting "
                "point (not announced one by one)"
            )
        return line + "."

    def to_json(self) -> str:
        data = asdict(self)
        data["rows_loaded"] = self.rows_loaded
        data["rows_quarantined"] = self.rows_quarantined
        return json.dumps(data, default=str, ensure_ascii=False)

    def paragraph(self) -> str:
        """The run in one paragraph: files, rows, quarantined, anomalies, alerts, duration."""
        if self.status == "skipped":
            return f"{self.shop_id}, night {self.target}: skipped — {self.message}"
        if len(self.nights) > 1:
            nights = (
                f"nights {self.nights[0]} … {self.nights[-1]} "
                f"({len(self.nights)}, caught up after missed runs)"
            )
        else:
            nights = f"night {self.nights[0] if self.nights else self.target}"
        parts = [
            f"{self.shop_id}, {nights}: {self.status}.",
            f"Files: {len(self.files)} taken from the inbox — {self.count('loaded')} loaded, "
            f"{self.count('skipped')} already imported, {self.count('refused')} refused"
            + (f", {self.count('error')} failed" if self.count("error") else "")
            + (
                f", {self.files_settling} still being written (next run)"
                if self.files_settling
                else ""
            )
            + ".",
        ]
        if self.api:
            parts.append(f"API: {self.api}.")
        parts.append(
            f"Rows: {self.rows_loaded:,} loaded, {self.rows_quarantined:,} quarantined; "
            f"{self.days_recomputed} days of rates recomputed."
        )
        severity = ", ".join(
            f"{self.by_severity[s]} {s}"
            for s in ("critical", "warning", "info")
            if self.by_severity.get(s)
        )
        parts.append(
            f"Anomalies: {self.anomalies} ({self.primary_anomalies} primary"
            + (f"; {severity}" if severity else "")
            + ")."
        )
        if self.serial_tracked:
            parts.append(self.serial_line())
        parts.append(
            f"Alerts: {self.alerts_sent} sent, {self.alerts_pending} pending, "
            f"{self.alerts_failed} failed."
        )
        if self.nights_not_reported:
            parts.append(
                f"Not reported (older than catch_up_days): {self.nights_not_reported[0]} … "
                f"{self.nights_not_reported[-1]}."
            )
        parts.extend(self.warnings)
        if self.unknown_values:
            parts.append("Not recognised: " + "; ".join(self.unknown_values) + ".")
        if self.published:
            parts.append(f"Published to {self.published}.")
        if self.data_docs:
            parts.append(f"Validation: {self.data_docs}.")
        if self.message:
            parts.append(self.message)
        parts.append(f"Took {self.seconds:.1f}s.")
        return " ".join(parts)


def night_unknown_values(
    con: duckdb.DuckDBPyConnection, shop_id: str, since: dt.datetime
) -> list[str]:
    """Every label the loads since `since` did not recognise, as `file: 售后类型 '…' (n
    rows) not recognised: counted as …`: what the night's data-health notice names."""
    from returnwatch.warehouse.load import unknown_values_since

    return [f"{name}: {u.line()}" for name, u in unknown_values_since(con, since, shop_id)]


# -- sources ----------------------------------------------------------------------------


class SourceUnavailable(RuntimeError):
    """A configured source whose code cannot be loaded: the night fails (and says so)
    rather than quietly running without it. Retrying cannot help, so the task does not."""


def pull_api(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str) -> str | None:
    """Pull updates from the 抖店 Open Platform when it is configured; a one-line summary.

    Imported lazily. When `[source.api] app_key` switches the API on, a source that fails
    to import fails the night loudly: swallowing the ImportError would turn the nightly
    pull off unnoticed.
    """
    try:
        from returnwatch.sources.doudian_api import api_configured, pull_updates
    except ImportError as exc:
        if not settings.source.api.app_key:
            return None
        raise SourceUnavailable(
            f"[source.api] is configured but the 抖店 API source cannot be loaded ({exc})"
        ) from exc
    if not api_configured(settings):
        return None
    owner = settings.source.api.shop_id
    if owner is None and len(settings.shop_ids()) > 1:
        log.warning("[source.api] has no shop_id while several shops are configured: not pulled")
        return "not pulled: set [source.api] shop_id to the shop its credentials belong to"
    if owner is not None and owner != shop_id:
        return None  # the API credentials belong to another shop
    # Three days before the refresh token ends, the night's data health says to authorise
    # again (alerts.digest.api_token, code token_expiring).
    return str(pull_updates(con, settings, shop_id=shop_id))


def scan_inbox(settings: Settings, *, now: float | None = None) -> inbox_files.InboxScan:
    return inbox_files.scan(
        Path(settings.inbox), settle_seconds=settings.inbox_settle_seconds, now=now
    )


def import_inbox_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    file: inbox_files.InboxFile,
    *,
    run_day: dt.date,
    run_id: str,
) -> FileOutcome:
    """Import one settled inbox file and move it to processed/ or rejected/.

    A refused file is moved and explained; it never raises. A file whose size or mtime
    changed while it was read stays in the inbox: what was loaded was one consistent
    version (each load is one transaction), and the next run reads the newer bytes.
    """
    from returnwatch.sources.ingest import import_file

    inbox = Path(settings.inbox)
    result = import_file(con, settings, file.path, shop_id=shop_id)
    outcome = FileOutcome(
        file.path.name,
        result.status,
        rows_read=result.rows_read,
        rows_loaded=result.rows_loaded,
        rows_quarantined=result.rows_quarantined,
        message=result.line(),
    )
    if result.status == "loaded" and result.load_batch_id is not None:
        page = data_docs.load_page(con, settings, result.load_batch_id)
        outcome.message += f" — validation: {page}" if page else ""
    if not file.unchanged():
        outcome.status = "changed"
        outcome.message = f"{file.path.name} changed while it was read; left for the next run"
        log.warning(outcome.message)
        return outcome
    checksum = _checksum_of(con, result.load_batch_id)
    if result.status == "refused":
        moved = inbox_files.move_rejected(inbox, file.path, result.message)
    else:
        moved = inbox_files.move_processed(inbox, file.path, run_day)
    outcome.moved_to = str(moved)
    con.execute(
        "INSERT INTO inbox_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [
            shop_id,
            file.path.name,
            checksum,
            file.size,
            result.status,
            result.load_batch_id,
            result.message or None,
            str(moved),
            run_id,
        ],
    )
    return outcome


def _checksum_of(con: duckdb.DuckDBPyConnection, load_batch_id: int | None) -> str | None:
    if load_batch_id is None:
        return None
    row = con.execute(
        "SELECT checksum FROM load_batches WHERE load_batch_id = ?", [load_batch_id]
    ).fetchone()
    return row[0] if row else None


# -- nights -----------------------------------------------------------------------------


def last_successful_night(con: duckdb.DuckDBPyConnection, shop_id: str) -> dt.date | None:
    row = con.execute(
        "SELECT max(day) FROM nightly_runs WHERE shop_id = ? AND status = 'success'", [shop_id]
    ).fetchone()
    return row[0] if row else None


def nights_to_detect(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, target: dt.date
) -> tuple[list[dt.date], list[dt.date]]:
    """(nights to detect and report, oldest first; missed nights too old to report).

    The nights after the shop's last successful one up to `target`, but none more than
    `alerts.catch_up_days` before it (the same horizon the outbox applies). A first run,
    or a re-run of a night already done, reports only `target`.
    """
    last = last_successful_night(con, shop_id)
    if last is None or last >= target:
        return [target], []
    first = last + dt.timedelta(days=1)
    horizon = target - dt.timedelta(days=settings.alerts.catch_up_days)
    start = max(first, horizon)
    nights = rates.date_range(start, target)
    too_old = rates.date_range(first, start - dt.timedelta(days=1)) if first < start else []
    return nights, too_old


def refresh_rates(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, nights: list[dt.date]
) -> list[dt.date]:
    """Recompute the rates the new loads changed (consuming the dirty days) and those of
    the nights to report; returns every day recomputed.

    When the stored rates are current (`stored_rates_current`), a few target days take
    their baselines' window from the stored rows instead of recomputing ~29 days from
    the order lines and refunds. Otherwise (first run, other `[[categories]]`, another
    rates definition) the window before the first night is recomputed and stored too, so
    the next night can trust it; those days are not re-detected (as before: a settings
    change that should change past anomalies needs `returnwatch detect --start --end`).
    """
    current = stored_rates_current(con, settings, shop_id)
    changed = set(rates.refresh_dirty(con, settings, shop_id, stored_history=current))
    missing = [night for night in nights if night not in changed]
    if missing:
        changed.update(rates.refresh_rates(con, settings, shop_id, missing, stored_history=current))
    if not current and nights:
        first = nights[0] - dt.timedelta(days=settings.detection.window_days)
        window = [day for day in rates.date_range(first, nights[0]) if day not in changed]
        if window:
            with rates.transaction(con):
                rates.recompute_rates(con, settings, shop_id, window)
    return sorted(changed)


def stored_rates_current(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str) -> bool:
    """Whether the shop's stored `daily_return_rates` were computed as today's settings and
    code would: the shop's latest recorded run (success or not) stored them under the same
    `rates_fingerprint`. Data changes need no check: every load marks its days dirty and
    the dirty days, widened by `feed_days`, are recomputed before anything reads them.

    Not covered: a run killed after its rates committed under other settings (no record)
    whose settings are then reverted; `returnwatch detect --start --end` repairs it.
    """
    row = con.execute(
        "SELECT summary FROM nightly_runs WHERE shop_id = ? ORDER BY finished_at DESC LIMIT 1",
        [shop_id],
    ).fetchone()
    if row is None or not row[0]:
        return False
    recorded = json.loads(row[0])
    return recorded.get("rates") == rates_fingerprint(settings)


def detect_history(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    days: list[dt.date],
) -> detection.DetectionSummary | None:
    """Re-detect days whose rates changed but that are not reported tonight: no digests."""
    if not days:
        return None
    sync_calendar(con, settings, shop_id)
    return detection.detect_days(con, settings, shop_id, days)


def sync_calendar(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str) -> None:
    """Write the shop's promo days before detecting, so the baselines leave them out
    (`baseline_exclusions`); the digests sync them again in the same transaction."""
    from returnwatch.warehouse.calendar import sync_promo_days

    con.execute("BEGIN TRANSACTION")
    try:
        sync_promo_days(con, settings, shop_id)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def month_report_attachment(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date
):
    """Last month's report, for the month's first digest, when `[report] public_base_url`
    says where reports are served; None otherwise or when this month already had a digest.

    Built before the detection transaction (a report takes seconds) from the published
    warehouse, which holds last month once a night of it has been published; on the very
    first run there is nothing published yet, and no link.
    """
    if not settings.report.public_base_url:
        return None
    earlier = con.execute(
        "SELECT count(*) FROM alert_outbox WHERE shop_id = ? AND kind <> 'failure' "
        "AND day >= date_trunc('month', ?::DATE) AND day < ?",
        [shop_id, night, night],
    ).fetchone()[0]
    if earlier:
        return None
    from returnwatch.report import trend_attachment

    try:
        return trend_attachment(settings, shop_id, night)
    except (LookupError, ValueError) as exc:  # no data for last month yet: no link
        log.info("%s: no monthly report to attach for %s: %s", shop_id, night, exc)
        return None


def detect_night(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date
) -> detection.DetectionSummary:
    """Detect one night and queue its digests in the same transaction (committed together)."""
    from returnwatch.alerts.outbox import enqueue_digests

    report_link = month_report_attachment(con, settings, shop_id, night)
    attachments = {night: [report_link]} if report_link else None

    def queue(con_: duckdb.DuckDBPyConnection, shop: str, days: list[dt.date]) -> None:
        enqueue_digests(con_, settings, shop, days, attachments=attachments)

    sync_calendar(con, settings, shop_id)
    return detection.detect_days(con, settings, shop_id, [night], on_anomalies=queue)


def track_serial_returners(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date
) -> SerialNight | None:
    """Record the night's new serial returners in their own transaction; None when
    `[detection] serial_returner_alerts` is off. Runs before the night's detection: its
    transaction queues the digest, which reads what this recorded (a rerun records
    nothing and the digest says the same)."""
    if not settings.detection.serial_returner_alerts:
        return None
    with rates.transaction(con):
        return serial_returners.track_serial_returners(con, shop_id, night)


def refresh_data_docs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """Bring the GX Data Docs up to date with the loads; where they are, or None when
    switched off. Cheap when no load happened since the last build (no GX import); else
    GX's import (~4 s) and the new pages. Never fails the night: the docs are a view."""
    if not settings.validation.nightly_docs:
        return None
    try:
        result = data_docs.refresh(con, settings)
    except Exception as exc:
        log.warning("GX Data Docs not refreshed: %s: %s", type(exc).__name__, exc)
        return f"GX Data Docs not refreshed ({type(exc).__name__}: {exc})"
    log.info(result.line())
    return str(result.index)


def send_alerts(con: duckdb.DuckDBPyConnection, settings: Settings):
    """Deliver what the outbox holds (this night's digests, and anything left pending)."""
    from returnwatch.alerts.sender import send_pending

    return send_pending(con, settings)


def has_data(con: duckdb.DuckDBPyConnection, shop_id: str, night: dt.date) -> bool:
    row = con.execute(
        "SELECT count(*) FROM daily_return_rates WHERE shop_id = ? AND day = ? AND dimension = 'shop'",
        [shop_id, night],
    ).fetchone()
    return bool(row and row[0])


# The settings a night's rates, anomalies and digests depend on besides the data.
# `categories` ([[categories]]) decides the category slice of every line and return
# (transforms.rates.category_rule_sql), hence its rates and what the detector tests.
NIGHT_SETTINGS = frozenset(
    {"detection", "categories", "alerts", "report", "timezone", "calendar", "default_calendar"}
)


def settings_fingerprint(settings: Settings) -> str:
    """A short hash of the settings a night's rates, anomalies and digests depend on
    besides the data (NIGHT_SETTINGS: [detection], [[categories]], [alerts] without
    secrets, [report], the timezone, the promo calendar): a night detected with other
    settings is not "already done"."""
    data = settings.model_dump(mode="json", include=set(NIGHT_SETTINGS))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class NightDone:
    """The run that already did a night, when nothing has changed since."""

    finished_at: dt.datetime
    anomalies: int = 0
    primary: int = 0


def night_already_done(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, target: dt.date
) -> NightDone | None:
    """The earlier run's record when `target` needs no work: the shop's latest recorded
    night is `target`, it succeeded, with the same settings, and no load has changed the
    shop's data since (no dirty days). None otherwise: the night is (re)done in full.

    Reads two small tables (nightly_runs, dirty_days), never the history.
    """
    row = con.execute(
        "SELECT day, status, finished_at, summary FROM nightly_runs WHERE shop_id = ? "
        "ORDER BY finished_at DESC LIMIT 1",
        [shop_id],
    ).fetchone()
    if row is None or row[0] != target or row[1] != "success":
        return None
    recorded = json.loads(row[3]) if row[3] else {}
    if recorded.get("settings") != settings_fingerprint(settings):
        return None
    dirty = con.execute("SELECT count(*) FROM dirty_days WHERE shop_id = ?", [shop_id]).fetchone()[
        0
    ]
    if dirty:
        return None
    return NightDone(row[2], int(recorded.get("anomalies", 0)), int(recorded.get("primary", 0)))


def pending_alerts(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM alert_outbox WHERE status = 'pending'").fetchone()
    return int(row[0]) if row else 0


def record_night(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    shop_id: str,
    night: dt.date,
    target: dt.date,
    status: str,
    started_at: dt.datetime,
    summary: dict,
) -> None:
    con.execute(
        "INSERT INTO nightly_runs VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
        [run_id, shop_id, night, target, status, started_at, json.dumps(summary, default=str)],
    )


# -- failure hints ----------------------------------------------------------------------


def notify_bad_settings(error: ConfigError, night: dt.date | None = None) -> None:
    """Tell the chat that the nightly run cannot start because of its settings, with the
    same lines the command prints. Best effort, never raises: the channels are those of
    the config file that are valid on their own (`notice_settings`)."""
    from returnwatch.alerts import notify_failure
    from returnwatch.flows.shops import default_night

    try:
        settings = notice_settings()
        if not settings.alerts.channels:
            log.warning("settings unusable and no valid channel to tell: %s", error)
            return
        day = night or default_night(settings)
        what = "reading the settings: " + "; ".join(error.problems)
        todo = WHAT_TO_DO["reading the settings"].format(night=day)
        from returnwatch.warehouse.publish import working_path

        # Recorded in the outbox (deduplicated per night) only where a warehouse exists.
        existing = Path(settings.db).exists() or working_path(settings).exists()
        for shop_id in settings.shop_ids():
            notify_failure(settings, shop_id, what, todo, day=day, use_outbox=existing)
    except Exception as exc:  # already failing: never hide the settings error behind this
        log.warning("could not notify the channels of the settings error: %s", exc)


WHAT_TO_DO = {
    "reading the settings": (
        "Fix the setting named (in the config file or the RETURNWATCH_* variable), then "
        "run `returnwatch run --date {night}`. Every returnwatch command prints the same "
        "line until it is fixed."
    ),
    "opening the warehouse": (
        "Another program may be writing the working file (a long import?), or the disk is "
        "full. Check the machine, then run `returnwatch run --date {night}`."
    ),
    "pulling from the 抖店 API": (
        "Check the API credentials ([source.api]) and the network, then run "
        "`returnwatch run --date {night}`."
    ),
    "reading the inbox": (
        "Check that the inbox folder exists and is readable, then run "
        "`returnwatch run --date {night}`."
    ),
    "importing inbox files": (
        "The files named were left in the inbox; the next run tries them again. If it fails "
        "again, re-export them and check the run's log."
    ),
    "computing return rates": "Check the run's log, then run `returnwatch run --date {night}`.",
    "detecting anomalies": "Check the run's log, then run `returnwatch run --date {night}`.",
    "sending alerts": (
        "Undelivered alerts stay in the outbox; `returnwatch alerts send` retries them."
    ),
    "publishing for analysts": (
        "Alerts were sent, but analysts still see the previous night: check the disk space "
        "next to the warehouse file, then run `returnwatch run --date {night}`."
    ),
}
