"""One request is tried at most N times end to end: the retry policy lives at the request
(`returnwatch.retrying`), and the Prefect tasks that make HTTP calls add no retries of
their own (they used to: 3 task runs × 6 tries = 18 for one failing 抖店 page).

Real Prefect flow runs under the session's harness, a real fake 抖店 platform and a real
webhook receiver on 127.0.0.1; backoffs are set to zero, so nothing waits."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect import flow
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from returnwatch.alerts.outbox import enqueue_failure
from returnwatch.demo.shop import generate_shop
from returnwatch.flows import tasks
from returnwatch.settings import ApiSourceSettings, ChannelSettings, Settings, SourceSettings
from returnwatch.warehouse.connection import connect
from tests.sources.fake_doudian import (
    ACCESS_TOKEN,
    APP_KEY,
    APP_SECRET,
    ORDERS_PATH,
    REFUNDS_PATH,
    FakeDoudian,
    build_dataset,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

ATTEMPTS = 3


@flow(name="retry-budget-pull")
def pull_once(settings: Settings) -> str | None:
    con = connect(settings)
    try:
        return tasks.pull_api(con, settings, settings.shop_id)
    finally:
        con.close()


@flow(name="retry-budget-send")
def send_once(settings: Settings) -> int:
    con = connect(settings)
    try:
        return tasks.send_alerts(con, settings).pending
    finally:
        con.close()


@pytest.fixture(scope="module")
def dataset():
    shop = generate_shop(seed=5, days=7, lines_per_day=20, n_skus=6, n_random_spikes=0)
    return build_dataset(shop)


@pytest.fixture
def fake(dataset):
    with FakeDoudian(dataset) as server:
        yield server


def with_api(settings: Settings, fake: FakeDoudian) -> Settings:
    api = ApiSourceSettings(
        base_url=fake.base_url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        max_attempts=ATTEMPTS,
        backoff_initial_seconds=0,
        backoff_max_seconds=0,
        initial_days=2,
    )
    return settings.model_copy(update={"source": SourceSettings(api=api)})


def test_a_page_that_stays_throttled_is_asked_for_max_attempts_times(settings, fake):
    fake.add_fault(REFUNDS_PATH, "throttle", times=None)

    text = pull_once(with_api(settings, fake))

    assert "FAILED" in text and "throttled" in text
    assert len(fake.data_requests(REFUNDS_PATH)) == ATTEMPTS


def test_a_pull_that_raises_is_not_run_again_by_prefect(settings, fake):
    fake.token_expired = True  # no refresh token configured: the pull stops with an error

    with pytest.raises(Exception, match="access token has expired"):
        pull_once(with_api(settings, fake))

    assert len(fake.data_requests(ORDERS_PATH)) == 1


def test_a_webhook_that_keeps_failing_gets_max_attempts_per_run_requests(settings):
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/hook").respond_with_data("down", status=500)
        configured = settings.model_copy(
            update={
                "alerts": settings.alerts.model_copy(
                    update={
                        "max_attempts_per_run": ATTEMPTS,
                        "backoff_initial_seconds": 0,
                        "backoff_max_seconds": 0,
                        "channels": [
                            ChannelSettings(name="ops", type="generic", url=server.url_for("/hook"))
                        ],
                    }
                )
            }
        )
        con = connect(configured)
        con.execute("BEGIN TRANSACTION")
        enqueue_failure(con, configured, "test-shop", dt.date(2026, 8, 14), "x failed", "do y")
        con.execute("COMMIT")
        con.close()

        assert send_once(configured) == 1  # still pending, for the next run
        assert len(server.log) == ATTEMPTS
    finally:
        server.clear()
        server.stop()


def test_a_refused_token_refresh_fails_the_night_and_tells_the_chat_what_to_do(
    flow_settings, receiver, fake, kit
):
    from returnwatch.flows.nightly import run_nightly

    fake.token_expired = True
    settings = with_api(flow_settings, fake)
    settings = settings.model_copy(
        update={
            "source": SourceSettings(
                api=settings.source.api.model_copy(
                    update={"refresh_token": SecretStr("refresh-token-spent-long-ago")}
                )
            )
        }
    )

    [summary] = run_nightly(settings, date=kit.LAST)

    assert summary.status == "failed"
    [notice] = receiver.of_kind("failure")
    assert "authorise the app again in the 抖店 backend" in notice["failure"]["what_failed"]
    assert "refresh-token-spent-long-ago" not in str(notice)
    assert [s.path for s in fake.seen] == [ORDERS_PATH, "/token/refresh"]  # no task retry
