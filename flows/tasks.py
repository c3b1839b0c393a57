"""The nightly steps as Prefect tasks: names, retries, logging. The logic is in `steps.py`.

Every task takes the run's open DuckDB connection, so none is cached (`NO_CACHE`): a
connection cannot be hashed, and a cached step would skip real work. Retries are for
what can heal by itself within minutes — the network (API, publishing to a network
share) and a file an exporter was still finishing. Detection does not retry: the same
data gives the same error.
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


def _worth_retrying(task, task_run, state) -> bool:
    """Network trouble heals; a source that cannot even be imported does not."""
    try:
        state.result()
    except steps.SourceUnavailable:
        return False
    except Exception:
        return True
    return True


@task(
    name="pull-api",
    retries=2,
    retry_delay_seconds=[30, 120],
    retry_condition_fn=_worth_retrying,
    cache_policy=NO_CACHE,
)
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


@task(name="detect-night", task_run_name="detect-{night}", cache_policy=NO_CACHE)
def detect_night(con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, night: dt.date):
    return steps.detect_night(con, settings, shop_id, night)


@task(name="send-alerts", cache_policy=NO_CACHE)
def send_alerts(con: duckdb.DuckDBPyConnection, settings: Settings):
    # send_pending retries each message itself (backoff, Retry-After) and never raises for
    # a channel that is down: its rows stay pending for the next run.
    return steps.send_alerts(con, settings)


@task(name="refresh-data-docs", cache_policy=NO_CACHE)
def refresh_data_docs(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    return steps.refresh_data_docs(con, settings)


@task(name="publish", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def publish(settings: Settings, con: duckdb.DuckDBPyConnection) -> Path:
    from returnwatch.warehouse.publish import publish as publish_file

    return publish_file(settings, con)
