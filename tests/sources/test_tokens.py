"""Token renewal against the fake platform: a pull meets an expired token mid-way (and
throttling), renews it with the single-use refresh token, keeps the new pair and finishes
with every row; a new process uses the stored pair; a changed configuration wins; a
refused refresh says what to do; self-use apps create their own token; token health."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from returnwatch.sources.doudian_api import (
    TokenRefreshFailed,
    pull_range,
)
from returnwatch.sources.doudian_api.tokens import TokenHealth, token_file, token_health
from returnwatch.warehouse.connection import connect

from .conftest import api_with
from .fake_doudian import (
    ACCESS_TOKEN,
    APP_KEY,
    APP_SECRET,
    ORDERS_PATH,
    REFRESH_TOKEN,
    REFUNDS_PATH,
    SELF_USE_SHOP_ID,
)

DAY = 86_400


def expected_rows(fake) -> tuple[int, int]:
    """(paid order lines, refunds) the fake holds: what a complete pull must load."""
    lines = sum(
        1 for o in fake.data.orders.values() for line in o["sku_order_list"] if line["pay_time"]
    )
    return lines, len(fake.data.refunds)


def loaded(con) -> tuple[int, int]:
    lines = con.execute("SELECT count(DISTINCT line_id) FROM order_lines").fetchone()[0]
    refunds = con.execute("SELECT count(DISTINCT refund_id) FROM refund_records").fetchone()[0]
    return lines, refunds


def secrets_of(fake) -> list[str]:
    issued = [t for pair in fake.issued for t in (pair["access_token"], pair["refresh_token"])]
    return [ACCESS_TOKEN, REFRESH_TOKEN, APP_SECRET, *issued]


@pytest.fixture
def refreshing(api_settings):
    """The fake's settings with the refresh token configured too."""
    return api_with(api_settings, refresh_token=REFRESH_TOKEN)


def pull_all(con, settings, shop, sleeps):
    return pull_range(con, settings, shop.start, shop.end, sleep=sleeps.append)


def test_a_pull_meeting_an_expired_token_and_throttling_renews_and_finishes_with_every_row(
    refreshing, shop, fake, sleeps, caplog
):
    caplog.set_level(logging.DEBUG)
    con = connect(refreshing)
    fake.expire_token_after(5)  # mid-way through the orders
    fake.add_fault(REFUNDS_PATH, "throttle", page=0, times=2)  # 60000 触发限流, twice

    summary = pull_all(con, refreshing, shop, sleeps)

    assert summary.ok, str(summary)
    assert loaded(con) == expected_rows(fake)
    assert len(fake.issued) == 1  # one refresh
    [refresh] = [s for s in fake.seen if s.path == "/token/refresh"]
    assert refresh.params == {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    assert "access_token" not in refresh.query  # token calls carry no access token
    assert REFRESH_TOKEN not in fake.refresh_tokens  # spent: single use
    answers = [s.answer for s in fake.data_requests(ORDERS_PATH)]
    assert "isv.access-token-expired" in answers and answers[-1] == "ok"
    assert [s.answer for s in fake.data_requests(REFUNDS_PATH)][:2] == ["throttle"] * 2
    assert len(sleeps) == 2  # the throttling waited; the renewal did not

    # the new pair is kept next to the warehouse, readable by its owner only
    path = token_file(refreshing)
    assert path.parent == refreshing.db.parent
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["apps"][APP_KEY]
    assert stored["access_token"] == fake.issued[0]["access_token"]
    assert stored["refresh_token"] == fake.issued[0]["refresh_token"]
    assert stored["refresh_expires_at"] - stored["obtained_at"] == 14 * DAY

    # never printed, never logged
    text = str(summary) + "\n".join(r.getMessage() for r in caplog.records)
    assert "renewed" in str(summary)
    for secret in secrets_of(fake):
        assert secret not in text


def test_the_stored_pair_is_used_by_a_new_process(refreshing, shop, fake, sleeps, tmp_path):
    con = connect(refreshing)
    fake.expire_token_after(1)
    pull_all(con, refreshing, shop, sleeps)
    con.close()
    issued = fake.issued[0]["access_token"]
    seen_before = len(fake.seen)

    # A new process configured exactly as before: its configured access token is retired
    # and its refresh token spent, so only the stored pair can work.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNWATCH_")}
    env.update(
        RETURNWATCH_DB=str(refreshing.db),
        RETURNWATCH_SHOP_ID=refreshing.shop_id,
        RETURNWATCH_PII_SECRET="test-pii-secret",
        RETURNWATCH_SOURCE__API__BASE_URL=fake.base_url,
        RETURNWATCH_SOURCE__API__APP_KEY=APP_KEY,
        RETURNWATCH_SOURCE__API__APP_SECRET=APP_SECRET,
        RETURNWATCH_SOURCE__API__ACCESS_TOKEN=ACCESS_TOKEN,
        RETURNWATCH_SOURCE__API__REFRESH_TOKEN=REFRESH_TOKEN,
        RETURNWATCH_SOURCE__API__MAX_ATTEMPTS="1",
    )
    cli = Path(sys.executable).parent / "returnwatch"
    done = subprocess.run(
        [str(cli), "pull", "--start", str(shop.start), "--end", str(shop.end)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    later = fake.seen[seen_before:]
    assert later and {s.query.get("access_token") for s in later} == {issued}
    assert len(fake.issued) == 1  # nothing renewed again
    for secret in secrets_of(fake):
        assert secret not in done.stdout + done.stderr


def test_a_changed_configuration_takes_precedence_over_the_stored_pair(
    refreshing, shop, fake, sleeps
):
    con = connect(refreshing)
    fake.expire_token_after(1)
    pull_all(con, refreshing, shop, sleeps)
    # Someone authorised again and configured the new refresh token it came with.
    fake.refresh_tokens.add("refresh-after-reauthorising-42")
    reconfigured = api_with(
        refreshing, access_token=None, refresh_token="refresh-after-reauthorising-42"
    )

    pull_all(con, reconfigured, shop, sleeps)

    refreshes = [s for s in fake.seen if s.path == "/token/refresh"]
    assert refreshes[-1].params["refresh_token"] == "refresh-after-reauthorising-42"
    assert len(fake.issued) == 2
    stored = json.loads(token_file(refreshing).read_text())["apps"][APP_KEY]
    assert stored["access_token"] == fake.issued[1]["access_token"]


def test_a_refused_refresh_stops_the_pull_and_says_to_authorise_again(
    api_settings, shop, fake, sleeps
):
    settings = api_with(api_settings, refresh_token="a-refresh-token-already-spent")
    con = connect(settings)
    fake.token_expired = True

    with pytest.raises(TokenRefreshFailed) as raised:
        pull_all(con, settings, shop, sleeps)

    message = str(raised.value)
    assert "authorise the app again in the 抖店 backend" in message
    assert "RETURNWATCH_SOURCE__API__REFRESH_TOKEN" in message
    assert raised.value.code == 50001 and "token-invalid" in raised.value.sub_code
    assert "a-refresh-token-already-spent" not in message
    assert not token_file(settings).exists()


def test_a_self_use_app_creates_its_own_token(api_settings, shop, fake, sleeps):
    settings = api_with(api_settings, access_token=None, self_use_shop_id=SELF_USE_SHOP_ID)
    con = connect(settings)

    summary = pull_all(con, settings, shop, sleeps)

    assert summary.ok and loaded(con) == expected_rows(fake)
    [create] = [s for s in fake.seen if s.path == "/token/create"]
    assert create.params == {
        "code": "",
        "grant_type": "authorization_self",
        "shop_id": int(SELF_USE_SHOP_ID),
    }
    assert token_health(settings).status == "ok"


def test_a_self_use_app_for_a_shop_that_is_not_authorised_says_what_to_do(
    api_settings, shop, fake, sleeps
):
    settings = api_with(api_settings, access_token=None, self_use_shop_id="12345")
    with pytest.raises(TokenRefreshFailed, match="no-authorization"):
        pull_all(connect(settings), settings, shop, sleeps)


def test_token_health_counts_down_to_the_refresh_tokens_end(refreshing, shop, fake, sleeps):
    assert token_health(refreshing).status == "unknown"  # nothing renewed yet
    con = connect(refreshing)
    fake.expire_token_after(1)
    pull_all(con, refreshing, shop, sleeps)
    renewed = json.loads(token_file(refreshing).read_text())["apps"][APP_KEY]["obtained_at"]

    def at(days: float) -> TokenHealth:
        return token_health(refreshing, now=renewed + days * DAY)

    assert (at(1).status, at(1).code) == ("ok", None)
    assert at(10.9).status == "ok"
    assert (at(11.5).status, at(11.5).code) == ("expiring", "token_expiring")
    assert int(at(11.5).days_left) == 2 and "还剩 2 天" in at(11.5).what_failed
    assert "重新授权" in at(11.5).what_to_do
    assert (at(14.5).status, at(14.5).code) == ("expired", "token_expiring")
    assert time.time() < renewed + 14 * DAY


def test_the_token_file_and_its_repr_keep_tokens_out_of_prints(refreshing, shop, fake, sleeps):
    from returnwatch.sources.doudian_api.client import DoudianClient

    con = connect(refreshing)
    fake.expire_token_after(1)
    pull_all(con, refreshing, shop, sleeps)
    client = DoudianClient.from_settings(refreshing.source.api, token_file=token_file(refreshing))
    text = repr(client.tokens) + repr(client.tokens.pair) + repr(client.credentials)
    for secret in secrets_of(fake):
        assert secret not in text
