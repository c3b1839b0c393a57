"""The HTTP client against the fake platform: paging, retries, throttling, token errors,
and secrets kept out of every message and log line."""

from __future__ import annotations

import logging
import random

import pytest

from returnwatch.sources.doudian_api import (
    ApiNotConfigured,
    DoudianApiError,
    DoudianClient,
    RateLimitedError,
    TokenExpiredError,
    TransientApiError,
    api_configured,
)
from returnwatch.sources.doudian_api import client as client_module
from returnwatch.sources.doudian_api.client import Credentials, resolve_credentials

from .conftest import api_with, epoch, local
from .fake_doudian import ACCESS_TOKEN, APP_KEY, APP_SECRET, ORDERS_PATH, REFUNDS_PATH


def make_client(fake, sleeps, **kwargs) -> DoudianClient:
    options = {"max_attempts": 4, "backoff_initial": 1.0, "backoff_max": 8.0, "timeout": 5.0}
    options.update(kwargs)
    return DoudianClient(
        Credentials(APP_KEY, APP_SECRET, ACCESS_TOKEN),
        base_url=fake.base_url,
        sleep=sleeps.append,
        rng=random.Random(1),
        **options,
    )


def window(shop, days=3):
    start = local(shop.start)
    return epoch(start), epoch(start) + days * 86_400 - 1


@pytest.mark.parametrize(
    ("path", "params", "items_key"),
    [
        (ORDERS_PATH, ("update_time_start", "update_time_end"), "shop_order_list"),
        (REFUNDS_PATH, ("update_start_time", "update_end_time"), "items"),
    ],
)
def test_pages_run_to_the_end_in_order(fake, sleeps, shop, path, params, items_key):
    start, end = window(shop, days=7)
    expected = fake.matching(path, "update", start, end)
    client = make_client(fake, sleeps)

    pages = list(
        client.pages(path, {params[0]: start, params[1]: end}, items_key=items_key, size=7)
    )

    assert [p.number for p in pages] == list(range(-(-len(expected) // 7)))
    key = (
        (lambda o: o["order_id"])
        if path == ORDERS_PATH
        else (lambda i: i["aftersale_info"]["aftersale_id"])
    )
    assert [key(item) for p in pages for item in p.items] == expected
    assert [s.params["page"] for s in fake.seen] == [p.number for p in pages]
    assert all(s.params["size"] == 7 for s in fake.seen)


def test_page_size_is_capped_at_the_platforms_100(fake, sleeps, shop):
    start, end = window(shop)
    client = make_client(fake, sleeps)
    list(
        client.pages(
            ORDERS_PATH,
            {"update_time_start": start, "update_time_end": end},
            items_key="shop_order_list",
            size=500,
        )
    )
    assert {s.params["size"] for s in fake.seen} == {100}


@pytest.mark.parametrize("kind", ["http_500", "http_502", "disconnect", "unavailable"])
def test_transient_failures_are_retried_with_growing_jittered_waits(fake, sleeps, shop, kind):
    start, end = window(shop)
    fake.add_fault(ORDERS_PATH, kind, times=3)
    client = make_client(fake, sleeps)

    response = client.call(
        ORDERS_PATH, {"update_time_start": start, "update_time_end": end, "page": 0, "size": 10}
    )

    assert response.data["total"] > 0
    assert [s.answer for s in fake.seen] == [kind, kind, kind, "ok"]
    assert client.retries == 3 and len(sleeps) == 3
    for attempt, wait in enumerate(sleeps, start=1):
        base = min(8.0, 2 ** (attempt - 1))
        assert base / 2 <= wait <= base  # half fixed, half jitter


def test_a_call_gives_up_after_max_attempts(fake, sleeps, shop):
    start, end = window(shop)
    fake.add_fault(ORDERS_PATH, "http_500", times=None)
    client = make_client(fake, sleeps, max_attempts=3)

    with pytest.raises(TransientApiError) as raised:
        client.call(
            ORDERS_PATH, {"update_time_start": start, "update_time_end": end, "page": 0, "size": 10}
        )

    assert raised.value.attempts == 3
    assert "HTTP 500" in str(raised.value) and "gave up after 3 attempts" in str(raised.value)
    assert len(fake.seen) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("kind", ["throttle", "throttle_words"])
def test_throttling_is_recognised_by_sub_code_or_by_its_words_and_waited_out(
    fake, sleeps, shop, kind
):
    start, end = window(shop)
    fake.add_fault(REFUNDS_PATH, kind, times=2)
    client = make_client(fake, sleeps)

    client.call(
        REFUNDS_PATH, {"update_start_time": start, "update_end_time": end, "page": 0, "size": 10}
    )

    assert [s.answer for s in fake.seen] == [kind, kind, "ok"]
    assert len(sleeps) == 2


def test_throttling_that_never_ends_raises_rate_limited(fake, sleeps, shop):
    start, end = window(shop)
    fake.add_fault(REFUNDS_PATH, "throttle", times=None)
    client = make_client(fake, sleeps, max_attempts=2)

    with pytest.raises(RateLimitedError) as raised:
        client.call(
            REFUNDS_PATH,
            {"update_start_time": start, "update_end_time": end, "page": 0, "size": 10},
        )

    assert "throttled" in str(raised.value) and raised.value.sub_code == "isv.frequency-limited"


def test_an_expired_token_fails_at_once_and_names_the_fix(fake, sleeps, shop):
    fake.token_expired = True
    client = make_client(fake, sleeps)

    with pytest.raises(TokenExpiredError) as raised:
        client.call(
            ORDERS_PATH, {"update_time_start": 0, "update_time_end": 10, "page": 0, "size": 10}
        )

    message = str(raised.value)
    assert message.startswith(
        "the 抖店 access token has expired: refresh it in the 抖店 open platform"
    )
    assert (
        "RETURNWATCH_SOURCE__API__ACCESS_TOKEN" in message
        and "[source.api] access_token" in message
    )
    assert ACCESS_TOKEN not in message
    assert raised.value.log_id and raised.value.sub_code == "isv.access-token-expired"
    assert len(fake.seen) == 1 and sleeps == []


def test_a_refused_parameter_is_not_retried_and_keeps_the_log_id(fake, sleeps):
    client = make_client(fake, sleeps)
    with pytest.raises(DoudianApiError) as raised:
        client.call(
            ORDERS_PATH,
            {"update_time_start": 0, "update_time_end": 30 * 86_400, "page": 0, "size": 10},
        )
    assert not isinstance(raised.value, TransientApiError)
    assert "查询时间跨度" in str(raised.value) and "log_id" in str(raised.value)
    assert len(fake.seen) == 1


def test_no_secret_reaches_an_error_its_cause_or_any_log_line(fake, sleeps, shop, caplog):
    start, end = window(shop)
    caplog.set_level(logging.DEBUG)
    client = make_client(fake, sleeps, max_attempts=2)
    client.call(
        ORDERS_PATH, {"update_time_start": start, "update_time_end": end, "page": 0, "size": 10}
    )
    dead = DoudianClient(
        Credentials(APP_KEY, APP_SECRET, ACCESS_TOKEN),
        base_url="http://127.0.0.1:9",  # nothing listens there
        sleep=sleeps.append,
        max_attempts=2,
    )
    with pytest.raises(TransientApiError) as raised:
        dead.call(ORDERS_PATH, {"page": 0})

    texts = [r.getMessage() for r in caplog.records] + [str(raised.value)]
    # urllib3 did log its request lines (query string included, before scrubbing)
    assert any(
        r.name.startswith("urllib3") and "/order/searchList?" in r.getMessage()
        for r in caplog.records
    )
    for text in texts:
        assert ACCESS_TOKEN not in text and APP_SECRET not in text
        assert "sign=" not in text.replace("sign=***", "")
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_a_prefect_secret_block_can_hold_the_secret_and_the_token(api_settings, monkeypatch):
    blocks = {"doudian-secret": APP_SECRET, "doudian-token": ACCESS_TOKEN}
    asked = []

    def load(name):
        asked.append(name)
        return blocks[name]

    monkeypatch.setattr(client_module, "load_prefect_secret", load)
    settings = api_with(
        api_settings,
        app_secret="prefect-secret:doudian-secret",
        access_token="prefect-secret:doudian-token",
    )
    credentials = resolve_credentials(settings.source.api)

    assert asked == ["doudian-secret", "doudian-token"]
    assert (credentials.app_secret, credentials.access_token) == (APP_SECRET, ACCESS_TOKEN)
    assert APP_SECRET not in repr(credentials) and ACCESS_TOKEN not in repr(credentials)


def test_missing_settings_are_named(settings):
    assert not api_configured(settings)
    configured = api_with(settings, app_key="k")
    assert api_configured(configured)
    with pytest.raises(ApiNotConfigured) as raised:
        resolve_credentials(configured.source.api)
    assert "app_secret, access_token" in str(raised.value)
    assert "RETURNWATCH_SOURCE__API__ACCESS_TOKEN" in str(raised.value)
