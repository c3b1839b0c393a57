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
    SignatureRejectedError,
    TokenExpiredError,
    TokenRefreshFailed,
    TransientApiError,
    api_configured,
)
from returnwatch.sources.doudian_api import credentials as credentials_module
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


@pytest.mark.parametrize("kind", ["http_500", "http_502", "disconnect", "unavailable", "timeout"])
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

    assert "throttled" in str(raised.value) and raised.value.code == 60000
    assert raised.value.sub_code == "isv.traffic-limited"


def test_an_expired_token_fails_at_once_and_names_the_fix(fake, sleeps, shop):
    fake.token_expired = True
    client = make_client(fake, sleeps)

    with pytest.raises(TokenExpiredError) as raised:
        client.call(
            ORDERS_PATH, {"update_time_start": 0, "update_time_end": 10, "page": 0, "size": 10}
        )

    message = str(raised.value)
    assert message.startswith("the 抖店 access token has expired or is not accepted")
    assert "RETURNWATCH_SOURCE__API__REFRESH_TOKEN" in message and "抖店 backend" in message
    assert (
        "RETURNWATCH_SOURCE__API__ACCESS_TOKEN" in message
        and "[source.api] access_token" in message
    )
    assert raised.value.refreshable and raised.value.code == 40003
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

    monkeypatch.setattr(credentials_module, "load_prefect_secret", load)
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


def test_every_call_sends_the_headers_the_official_sdks_send(fake, sleeps, shop):
    start, end = window(shop)
    make_client(fake, sleeps).call(
        ORDERS_PATH, {"update_time_start": start, "update_time_end": end, "page": 0, "size": 5}
    )
    headers = fake.seen[0].headers
    assert headers["x-open-no-old-err-code"] == "1" and headers["from"] == "sdk"
    assert headers["content-type"].startswith("application/json")


# The base error table (平台基础错误码汇总), one envelope per row the client reacts to:
# (code, sub_code, msg) → the class it must raise. Written from the table, not from the
# client's constants.
ERROR_TABLE = [
    (60000, "isv.traffic-limited", "触发限流，请稍后重试", RateLimitedError),
    (60000, "", "触发限流，请稍后重试", RateLimitedError),
    (20000, "dop.service-error", "服务不可用", TransientApiError),
    (20001, "", "内部服务超时", TransientApiError),
    (40003, "isv.access-token-expired", "access_token已过期", TokenExpiredError),
    (40003, "isv.access-token-no-existed", "access_token不存在", TokenExpiredError),
    (40003, "isv.access-token-invalid", "app_key和access_token不匹配", TokenExpiredError),
    (40001, "isv.access-token-missing", "认证失败，access_token不能为空", TokenExpiredError),
    (30001, "dop.authorization-no-existed", "店铺授权已失效，请重新授权", TokenExpiredError),
    (40003, "isv.signature-invalid", "签名校验失败", SignatureRejectedError),
    (40001, "isv.signature-missing", "获取签名失败", SignatureRejectedError),
    (50001, "dop.token-generate-failed:token-expired", "生成token失败", TokenRefreshFailed),
    (40003, "isv.parameter-invalid", "参数错误", DoudianApiError),
    (70000, "isp.api-service-off", "API不存在或API已下线", DoudianApiError),  # not retried
    # no code the table knows, no sub_code: the words decide (the fallback)
    (50002, "", "接口调用频率超限", RateLimitedError),
    (50002, "", "签名不对", SignatureRejectedError),
]


@pytest.mark.parametrize(("code", "sub_code", "msg", "expected"), ERROR_TABLE)
def test_errors_are_classed_by_code_then_sub_code_then_words(code, sub_code, msg, expected):
    client = DoudianClient(Credentials(APP_KEY, APP_SECRET, ACCESS_TOKEN), base_url="http://x")
    envelope = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": "", "log_id": "1"}
    error = client._envelope_error("m", envelope, code, "1")
    assert type(error) is expected
    assert (error.code, error.sub_code or "") == (code, sub_code)


def test_only_expired_or_superseded_tokens_are_refreshable():
    assert TokenExpiredError(sub_code="isv.access-token-expired").refreshable
    assert TokenExpiredError(sub_code="isv.access-token-no-existed").refreshable
    assert not TokenExpiredError(sub_code="isv.access-token-invalid").refreshable
    assert not TokenExpiredError(sub_code="dop.authorization-no-existed").refreshable
    assert not TokenRefreshFailed(sub_code="dop.token-generate-failed:token-invalid").refreshable


def test_a_missing_signature_is_a_signing_problem(fake, sleeps):
    fake.add_fault(ORDERS_PATH, "sign_missing")
    with pytest.raises(SignatureRejectedError) as raised:
        make_client(fake, sleeps).call(ORDERS_PATH, {"page": 0})
    assert raised.value.sub_code == "isv.signature-missing"
    assert "RETURNWATCH_SOURCE__API__APP_SECRET" in str(raised.value)
    assert len(fake.seen) == 1 and sleeps == []
