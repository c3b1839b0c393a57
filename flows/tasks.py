"""The nightly steps as Prefect tasks: names, retries, logging. The logic is in `steps.py`.

Every task takes the run's open DuckDB connection, so none is cached (`NO_CACHE`): a
connection cannot be hashed, and a cached step would skip real work.

Retries: outbound HTTP is retried once, per request, by `returnwatch.retrying` (the 抖店
client and the alert sender both use it), so the tasks that make HTTP calls — `pull-api`
and `send-alerts` — have no Prefect retries: a task retry would repeat every request of
the step and multiply the attempts (3 task runs × 6 tries = 18 for one page). Prefect
retries stay where no request policy reaches: a file an exporter was still finishing
(`import-file`) and publishing to a network share (`publish`). Detection does not retry:
the same data gives the same error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from returnwatch.flows import steps
from returnwatch.settings import Settings
from returnwatch.sources.inbox import InboxFile, InboxScan


@task(name="pull-api", retries=0, cache_policy=NO_CACHE)
def pull_api(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str) -> str | None:
    return steps.pull_api(con, settings, shop_id)


@task(name="scan-inbox", cache_policy=NO_CACHE)
def scan_inbox(settings: Settings) -> InboxScan:
    return steps.scan_inbox(settings)


@task(
    name="import-file",
    task_run_name="import-{file.path.name}",
    retries=1,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
)
def import_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    shop_id: str,
    file: InboxFile,
    run_day: dt.date,
    run_id: str,
) -> steps.FileOutcome:
    return steps.import_inbox_file(con, settings, shop_id, file, run_day=run_day, run_id=run_id)


@task(name="refresh-rates", cache_policy=NO_CACHE)
def refresh_rates(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, nights: list[dt.date]
) -> list[dt.date]:
    return steps.refresh_rates(con, settings, shop_id, nights)


@task(name="detect-history", cache_policy=NO_CACHE)
def detect_history(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, days: list[dt.date]
):
    return steps.detect_history(con, settings, shop_id, days)


@task(
    name="track-serial-returners", task_run_name="serial-returners-{night}", cache_policy=NO_CACHE
)
def track_serial_returners(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date
):
    return steps.track_serial_returners(con, settings, shop_id, night)


@task(name="detect-night", task_run_name="detect-{night}", cache_policy=NO_CACHE)
def detect_night(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date):
    return steps.detect_night(con, settings, shop_id, night)


@task(name="send-alerts", retries=0, cache_policy=NO_CACHE)
def send_alerts(con: duckdb.DuckDBPyConnection, settings: Settings):
    # send_pending retries each message itself (returnwatch.retrying) and never raises for
    # a channel that is down: its rows stay pending for the next run.
    return steps.send_alerts(con, settings)


@task(name="refresh-data-docs", cache_policy=NO_CACHE)
def refresh_data_docs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    return steps.refresh_data_docs(con, settings)


@task(name="publish", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def publish(settings: Settings, con: duckdb.DuckDBPyConnection) -> Path:
    from returnwatch.warehouse.publish import publish as publish_file

    return publish_file(settings, con)
