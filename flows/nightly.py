"""The nightly flow: inbox and API → load → rates → detect → alerts → publish, per shop.

For each shop, under its lock (a second run of the same shop exits at once, cleanly):

1. open the working file (waiting while another process writes it);
2. pull the 抖店 API when it is configured;
3. import every settled inbox file, each on its own — a refused file goes to rejected/
   with its reason, a file that errors stays in the inbox and fails the run at the end,
   after the good files have been detected and reported;
4. recompute the rates the loads changed and those of the nights to report;
5. re-detect the changed history (no chat messages), then each night to report, oldest
   first — its new serial returners recorded, its digests queued in the detection's
   transaction (with those serial returners), sent after the commit, and the night
   recorded in `nightly_runs` — so missed nights each get their own digest;
6. publish the working file for analysts (atomic rename);
7. log and return a one-paragraph summary.

Any failure notifies the shop's channels (`alerts.notify_failure`) and fails the flow run.
With several shops, `nightly` runs one subflow per shop (a failing shop does not stop the
others), or, from a deployment with `fan_out`, submits one flow run per shop to the work
pool so several workers share them. docs/orchestration.md explains it all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import deployment as runtime_deployment
from prefect.runtime import flow_run as runtime_flow_run

from returnwatch.errors import short_error
from returnwatch.flows import steps, tasks
from returnwatch.flows.lock import RunInProgress, shop_lock
from returnwatch.flows.shops import (
    current_settings,
    default_night,
    local_today,
    shop_settings,
    use_settings,
)
from returnwatch.flows.steps import NightlySummary
from returnwatch.settings import ConfigError, Settings

FLOW_NAME = "nightly"


class NightlyFailed(RuntimeError):
    """The run failed after notifying the channels; `summary` says how far it got."""

    def __init__(self, message: str, summary: NightlySummary):
        super().__init__(message)
        self.summary = summary


def _run_name() -> str:
    params = runtime_flow_run.parameters
    shop = params.get("shop_id") or "all-shops"
    night = params.get("date") or "yesterday"
    return f"nightly-{shop}-{night}"


@flow(name=FLOW_NAME, flow_run_name=_run_name, log_prints=True)
def nightly(
    date: dt.date | None = None,
    shop_id: str | None = None,
    fan_out: bool = False,
) -> list[NightlySummary] | NightlySummary:
    """Run the night `date` (default: yesterday in the shop's timezone) for one shop, or for
    every configured shop when `shop_id` is not given.

    `fan_out` (set by the deployment): with several shops, submit one flow run per shop to
    this deployment's work pool instead of running them here, so workers share the shops.
    """
    try:
        settings = current_settings()
    except ConfigError as exc:
        steps.notify_bad_settings(exc, date)
        raise
    logger = get_run_logger()
    shops = [shop_id] if shop_id else settings.shop_ids()
    if len(shops) == 1:
        return run_shop(settings, shops[0], date)

    deployment = _current_deployment()
    if fan_out and deployment:
        return _submit_per_shop(deployment, shops, date)
    if fan_out:
        logger.warning("fan_out needs a deployment run; running the shops here, one by one")
    summaries: list[NightlySummary] = []
    failed: list[str] = []
    for shop in shops:
        state = nightly(date=date, shop_id=shop, return_state=True)
        if state.is_failed():
            failed.append(shop)
            continue
        summaries.append(state.result())
    if failed:
        raise RuntimeError(
            f"nightly run failed for {len(failed)} of {len(shops)} shops: {', '.join(failed)} "
            "(their channels were notified; the other shops completed)"
        )
    return summaries


def _current_deployment() -> str | None:
    """`flow/deployment` when this flow run came from a deployment, else None."""
    name = runtime_deployment.name
    return f"{FLOW_NAME}/{name}" if name else None


def _submit_per_shop(
    deployment: str, shops: list[str], date: dt.date | None
) -> list[NightlySummary]:
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    for shop in shops:
        run = run_deployment(
            deployment,
            parameters={"date": date.isoformat() if date else None, "shop_id": shop},
            timeout=0,  # submit and go on: any worker of the pool takes it
        )
        logger.info("submitted %s for shop %s (flow run %s)", deployment, shop, run.id)
    return []


def run_shop(settings: Settings, shop_id: str, date: dt.date | None = None) -> NightlySummary:
    """One shop's night, inside the current flow run; see the module docstring."""
    logger = get_run_logger()
    settings = shop_settings(settings, shop_id)
    target = date or default_night(settings)
    summary = NightlySummary(shop_id=shop_id, target=target)
    started = time.perf_counter()
    try:
        with shop_lock(settings, shop_id):
            _run_locked(settings, shop_id, target, summary)
    except RunInProgress as busy:
        summary.status = "skipped"
        summary.message = str(busy)
        logger.warning(summary.paragraph())
        return summary
    finally:
        summary.seconds = time.perf_counter() - started
    logger.info(summary.paragraph())
    return summary


def _run_locked(settings: Settings, shop_id: str, target: dt.date, summary: NightlySummary) -> None:
    from returnwatch.warehouse.publish import open_working

    logger = get_run_logger()
    run_id = str(runtime_flow_run.id or uuid.uuid4())
    started_at = dt.datetime.now()
    stage = "opening the warehouse"
    con = None
    try:
        con = open_working(settings)

        stage = "pulling from the 抖店 API"
        summary.api = tasks.pull_api(con, settings, shop_id)

        stage = "reading the inbox"
        scan = tasks.scan_inbox(settings)
        summary.files_settling = len(scan.settling)
        done = None if scan.ready else steps.night_already_done(con, settings, shop_id, target)
        if done is not None:
            stage = "sending alerts"
            _nothing_new(con, settings, summary, done)
            stage = "publishing for analysts"
            summary.published = str(tasks.publish(settings, con))
            summary.status = "success"
            return
        stage = "importing inbox files"
        errors: list[str] = []
        for file in scan.ready:
            state = tasks.import_file(
                con, settings, shop_id, file, local_today(settings), run_id, return_state=True
            )
            if state.is_failed():
                error = _error_text(state)
                summary.files.append(steps.FileOutcome(file.path.name, "error", message=error))
                errors.append(f"{file.path.name}: {error}")
                logger.error("%s left in the inbox: %s", file.path.name, error)
                continue
            outcome = state.result()
            summary.files.append(outcome)
            logger.info(outcome.message)
        summary.unknown_values = steps.night_unknown_values(con, shop_id, started_at)

        stage = "computing return rates"
        nights, too_old = steps.nights_to_detect(con, settings, shop_id, target)
        summary.nights, summary.nights_not_reported = nights, too_old
        recomputed = tasks.refresh_rates(con, settings, shop_id, nights)
        summary.days_recomputed = len(recomputed)

        stage = "detecting anomalies"
        history = [day for day in recomputed if day not in set(nights)]
        empty: list[dt.date] = []
        tasks.detect_history(con, settings, shop_id, history)
        for night in nights:
            stage = "tracking serial returners"
            serial = _track_serial(con, settings, shop_id, night, summary)
            stage = "detecting anomalies"
            detected = tasks.detect_night(con, settings, shop_id, night)
            _add_detection(summary, detected)
            if not steps.has_data(con, shop_id, night):
                empty.append(night)
            stage = "sending alerts"
            sent = tasks.send_alerts(con, settings)
            summary.alerts_sent += sent.sent
            summary.alerts_failed += sent.failed
            summary.alerts_pending = sent.pending
            steps.record_night(
                con,
                run_id=run_id,
                shop_id=shop_id,
                night=night,
                target=target,
                status="success",
                started_at=started_at,
                summary={
                    "anomalies": detected.anomalies,
                    "primary": detected.primary,
                    "alerts_sent": sent.sent,
                    "serial_returners_new": len(serial.new) if serial else None,
                    "settings": steps.settings_fingerprint(settings),
                    "rates": steps.rates_fingerprint(settings),
                },
            )

        if empty:
            span = (
                f"{empty[0]}"
                if len(empty) == 1
                else f"{empty[0]} … {empty[-1]} ({len(empty)} nights)"
            )
            summary.warnings.append(
                f"No order lines or returns for {span}: were the exports dropped into the inbox?"
            )

        stage = "publishing for analysts"
        summary.published = str(tasks.publish(settings, con))
        # After the alerts and the publish: GX's import never delays either.
        summary.data_docs = tasks.refresh_data_docs(con, settings)
        if errors:
            stage = "importing inbox files"
            raise RuntimeError("; ".join(errors))
        summary.status = "success"
    except Exception as exc:
        from returnwatch.alerts import notify_failure

        summary.status = "failed"
        summary.message = f"Failed while {stage}: {exc}"
        logger.error(summary.message)
        hint = steps.WHAT_TO_DO.get(stage, "Check the run's log.").format(night=target)
        notice = notify_failure(
            settings,
            shop_id,
            f"{stage}: {short_error(exc, with_type=True)}",
            hint,
            day=target,
            con=con,
        )
        logger.info("failure notice: %d sent, %d failed", notice.sent, notice.failed)
        _record_failure(con, run_id, shop_id, target, started_at, summary)
        raise NightlyFailed(summary.message, summary) from exc
    finally:
        if con is not None:
            con.close()


def _nothing_new(
    con: Any, settings: Settings, summary: NightlySummary, done: steps.NightDone
) -> None:
    """The night is already detected, reported and recorded, and nothing has arrived
    since: recompute nothing and record nothing again (the warehouse stays byte-identical,
    so publishing copies nothing). Alerts still pending from earlier runs are retried."""
    summary.nights = [summary.target]
    summary.anomalies, summary.primary_anomalies = done.anomalies, done.primary
    if steps.pending_alerts(con):
        sent = tasks.send_alerts(con, settings)
        summary.alerts_sent, summary.alerts_failed = sent.sent, sent.failed
        summary.alerts_pending = sent.pending
    summary.message = (
        f"Nothing new since the run that finished {done.finished_at:%Y-%m-%d %H:%M:%S}: "
        "the night was already detected and reported, so nothing was recomputed."
    )


def _track_serial(
    con: Any, settings: Settings, shop_id: str, night: dt.date, summary: NightlySummary
) -> Any:
    """The night's new serial returners, recorded before its digest is queued (the digest
    reads them). A failure here is a warning in the summary, not a failed night: the
    spikes still go out, and the next night's run records whoever is still a serial
    returner then (announced that night)."""
    state = tasks.track_serial_returners(con, settings, shop_id, night, return_state=True)
    if state.is_failed():
        error = _error_text(state)
        summary.warnings.append(f"Serial returners not tracked for {night}: {error}")
        get_run_logger().warning("serial returners not tracked for %s: %s", night, error)
        return None
    found = state.result()
    if found is not None:
        summary.serial_tracked = True
        summary.serial_new += len(found.new)
        summary.serial_starting_point += found.starting_point
    return found


def _add_detection(summary: NightlySummary, detected: Any) -> None:
    summary.anomalies += detected.anomalies
    summary.primary_anomalies += detected.primary
    for severity, n in detected.by_severity.items():
        summary.by_severity[severity] = summary.by_severity.get(severity, 0) + n


def _record_failure(con, run_id, shop_id, target, started_at, summary) -> None:
    """Best effort: the warehouse may be what failed."""
    if con is None:
        return
    with contextlib.suppress(Exception):
        steps.record_night(
            con,
            run_id=run_id,
            shop_id=shop_id,
            night=target,
            target=target,
            status="failed",
            started_at=started_at,
            summary={"error": summary.message},
        )


def _error_text(state: Any) -> str:
    try:
        state.result()
    except Exception as exc:
        return short_error(exc, with_type=True)
    return state.message or "failed"


def run_nightly(
    settings: Settings | None = None,
    date: dt.date | None = None,
    shop_id: str | None = None,
) -> list[NightlySummary]:
    """`returnwatch run --date D`: the nightly flow once, in this process.

    No server to set up: Prefect starts a temporary local API for the run (its fixed cost
    is in docs/orchestration.md). Returns one summary per shop, including failed ones (the
    channels were notified); raises nothing for a failed shop — check `status`.
    """
    settings = settings or current_settings()
    shops = [shop_id] if shop_id else settings.shop_ids()
    summaries = []
    with use_settings(settings):
        for shop in shops:
            state = nightly(date=date, shop_id=shop, return_state=True)
            if state.is_failed():
                summaries.append(_summary_from_failure(state, shop, date, settings))
            else:
                summaries.append(state.result())
    return summaries


def _summary_from_failure(state, shop, date, settings) -> NightlySummary:
    try:
        state.result()
    except NightlyFailed as failed:
        return failed.summary
    except Exception as exc:
        target = date or default_night(shop_settings(settings, shop))
        return NightlySummary(
            shop, target, status="failed", message=short_error(exc, with_type=True)
        )
    return NightlySummary(shop, date or default_night(settings), status="failed")
