"""Fixtures for the alert tests: a fake clock, tiny warehouse rows, and a real HTTP receiver
on 127.0.0.1 that behaves like the chat platforms (signatures, size limits, error codes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from returnwatch.settings import AlertSettings, ChannelSettings

NIGHT = date(2026, 8, 14)
SHOP = "demo-shop"

# Secrets the tests look for in logs and stored errors: each appears only in settings.
FEISHU_TOKEN = "feishu-hook-0a1b2c3d4e5f60718293"
FEISHU_SECRET = "feishu-secret-Zq9Wx8"
DINGTALK_TOKEN = "ding-access-token-9f8e7d6c5b4a3921"
DINGTALK_SECRET = "SECding-secret-Kp4Lm7"
WECOM_KEY = "wecom-key-693a91f6-7xxx-4bc4"
SLACK_TOKEN = "slack-token-XXXXXXXXXXXXXXXXXXXXXXXX"
GENERIC_SECRET = "generic-secret-Hh2Jj3"
SECRETS = (
    FEISHU_TOKEN,
    FEISHU_SECRET,
    DINGTALK_TOKEN,
    DINGTALK_SECRET,
    WECOM_KEY,
    SLACK_TOKEN,
    GENERIC_SECRET,
)

OK_BODY = {"code": 0, "msg": "success", "errcode": 0, "errmsg": "ok"}


class FakeClock:
    """Time that moves only when someone sleeps; records every sleep."""

    def __init__(self, start: float = 1_786_680_000.0):  # 2026-08-14 early morning
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- the warehouse --------------------------------------------------------------------

# The shape agreed with detection (migration 0002); used only where 0002 is not there.
_FALLBACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS daily_return_rates (
    shop_id VARCHAR, day DATE, dimension VARCHAR, key VARCHAR, order_lines BIGINT,
    returns BIGINT, return_rate DOUBLE, baseline_rate DOUBLE, baseline_days INTEGER,
    lift DOUBLE, computed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS anomalies (
    shop_id VARCHAR, day DATE, dimension VARCHAR, key VARCHAR, return_rate DOUBLE,
    baseline_rate DOUBLE, lift DOUBLE, order_lines BIGINT, returns BIGINT,
    expected_returns DOUBLE, extra_returns DOUBLE, p_value DOUBLE, severity VARCHAR,
    explained_by VARCHAR, reason VARCHAR, mode VARCHAR, detected_at TIMESTAMP);
"""


@pytest.fixture
def con(warehouse):
    warehouse.execute(_FALLBACK_SCHEMA)
    return warehouse


def add_anomaly(
    con, dimension: str, key: str, *, day: date = NIGHT, shop_id: str = SHOP, **values: Any
) -> None:
    rate = values.pop("return_rate", 0.30)
    baseline = values.pop("baseline_rate", 0.10)
    row = {
        "shop_id": shop_id,
        "day": day,
        "dimension": dimension,
        "key": key,
        "return_rate": rate,
        "baseline_rate": baseline,
        "lift": rate / baseline - 1,
        "order_lines": 200,
        "returns": 60,
        "expected_returns": 20.0,
        "extra_returns": 40.0,
        "p_value": 1e-6,
        "severity": "warning",
        "explained_by": None,
        "reason": f"{dimension} {key} spiked",
        "mode": "default",
        "detected_at": datetime(2026, 8, 15, 7, 0),
    }
    row.update(values)
    _insert(con, "anomalies", row)


def add_headline(con, *, day: date = NIGHT, rate: float = 0.098, baseline: float = 0.061) -> None:
    _insert(
        con,
        "daily_return_rates",
        {
            "shop_id": SHOP,
            "day": day,
            "dimension": "shop",
            "key": "*",
            "order_lines": 1234,
            "returns": 121,
            "return_rate": rate,
            "baseline_rate": baseline,
            "baseline_days": 28,
            "lift": rate / baseline - 1,
            "computed_at": datetime(2026, 8, 15, 7, 0),
        },
    )


def add_refunds(
    con,
    sku_id: str,
    province: str,
    reasons: dict[str, int],
    *,
    carrier: str | None = "中通快递",
    product_name: str = "加绒卫衣",
    refund_type: str = "return_refund",
    day: date = NIGHT,
) -> None:
    """Refunds requested on `day`, `n` per reason, for one SKU shipped to one province."""
    start = con.execute("SELECT count(*) FROM refund_records").fetchone()[0]
    i = start
    for reason, n in reasons.items():
        for _ in range(n):
            i += 1
            _insert(
                con,
                "refund_records",
                {
                    "shop_id": SHOP,
                    "refund_id": f"R{i}",
                    "order_id": f"O{i}",
                    "sku_id": sku_id,
                    "product_name": product_name,
                    "refund_type": refund_type,
                    "reason": reason,
                    "requested_at": datetime.combine(day, datetime.min.time()).replace(hour=10),
                    "province": province,
                    "carrier": carrier,
                    "source_format": "test",
                    "load_batch_id": 1,
                    "loaded_at": datetime(2026, 8, 15, 6, 0),
                },
            )


def _insert(con, table: str, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))


def outbox(con, *columns: str) -> list[tuple]:
    cols = ", ".join(columns or ("channel", "part", "parts", "status", "attempts"))
    return con.execute(f"SELECT {cols} FROM alert_outbox ORDER BY alert_id").fetchall()


# -- the receiver ---------------------------------------------------------------------


@dataclass
class Received:
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    ok: bool = False  # the platform took it

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]] | Callable[[Received], Response]


@dataclass
class Receiver:
    """Chat platforms in miniature, by path prefix: /feishu, /dingtalk, /wecom, /slack,
    /generic. Each checks what the real one checks (signature when the test gave it the
    secret, size limits) and answers like it does; `script` queues replies for the next
    requests (status, body[, headers]) before the platform logic runs."""

    server: HTTPServer
    received: list[Received] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    secrets: dict[str, str] = field(default_factory=dict)

    def url(self, suffix: str) -> str:
        return self.server.url_for(suffix)

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def accepted(self, prefix: str = "/") -> list[Received]:
        """Requests the platform took (the scripted failures are left out)."""
        return [r for r in self.received if r.path.startswith(prefix) and r.ok]

    def handle(self, request: Request) -> Response:
        got = Received(request.path, dict(request.args), dict(request.headers), request.get_data())
        self.received.append(got)
        if self.script:
            reply = self.script.popleft()
            if callable(reply):
                return reply(got)
            status, body, *headers = reply
            return _response(status, body, headers[0] if headers else None)
        status, body = self._platform(got)
        got.ok = 200 <= status < 300 and body in (OK_BODY, "ok")
        return _response(status, body)

    def _platform(self, got: Received) -> tuple[int, Any]:
        platform = got.path.split("/")[1]
        secret = self.secrets.get(platform)
        if platform == "feishu":
            if len(got.raw) > 20 * 1024:
                return 400, {"code": 9499, "msg": "request body too large"}
            body = got.json
            if secret:
                key = f"{body.get('timestamp')}\n{secret}".encode()
                expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
                if body.get("sign") != expected:
                    return 200, {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour from current time",
                    }
        elif platform == "dingtalk":
            if secret:
                ts = got.args.get("timestamp", "")
                mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256)
                # werkzeug already decoded the query once; the sign was sent URL-encoded.
                if got.args.get("sign") != base64.b64encode(mac.digest()).decode():
                    return 200, {"errcode": 310000, "errmsg": "sign not match"}
        elif platform == "wecom":
            body = got.json
            if body.get("msgtype") == "text":
                if len(body["text"]["content"].encode()) > 2048:
                    return 200, {"errcode": 40058, "errmsg": "text.content exceed max length 2048"}
            elif len(body["markdown"]["content"].encode()) > 4096:
                return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        elif platform == "slack":
            blocks = got.json["blocks"]
            too_long = any(b["type"] == "section" and len(b["text"]["text"]) > 3000 for b in blocks)
            if len(blocks) > 50 or too_long:
                return 400, "invalid_blocks"
            # slackapi/bolt-js#2509: refused at about 13,200 characters of text in total,
            # well under 50 × 3,000
            if sum(_slack_chars(b) for b in blocks) > SLACK_TOTAL_REFUSED:
                return 400, "msg_blocks_too_long"
            return 200, "ok"
        elif platform == "generic" and secret:
            ts = got.headers.get("X-Returnwatch-Timestamp", "")
            mac = hmac.new(secret.encode(), f"{ts}.".encode() + got.raw, hashlib.sha256)
            if got.headers.get("X-Returnwatch-Signature") != "sha256=" + mac.hexdigest():
                return 401, "bad signature"
        return 200, OK_BODY


SLACK_TOTAL_REFUSED = 13_200


def _slack_chars(node: Any) -> int:
    """Every text string in a block, at any depth (written for the receiver, not shared
    with the channel code it checks)."""
    if isinstance(node, dict):
        return sum(
            len(v) if k in ("text", "alt_text") and isinstance(v, str) else _slack_chars(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(_slack_chars(v) for v in node)
    return 0


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, headers=headers, content_type="application/json")


def start_server(port: int = 0) -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=port, threaded=True)
    server.start()
    return server


def attach(server: HTTPServer, receiver: Receiver) -> Receiver:
    import re

    server.expect_request(re.compile(".*")).respond_with_handler(receiver.handle)
    return receiver


@pytest.fixture(scope="session")
def _http_server():
    server = start_server()  # one for the session: stopping a server takes half a second
    yield server
    server.stop()


@pytest.fixture
def receiver(_http_server):
    _http_server.clear()
    return attach(_http_server, Receiver(_http_server))


def free_port() -> int:
    """A port nothing listens on (yet): connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def channel_configs(base: str) -> list[ChannelSettings]:
    """One channel of each type at `base` (the receiver's root URL, no trailing slash)."""
    return [
        ChannelSettings(
            name="ops-feishu",
            type="feishu",
            url=f"{base}/feishu/open-apis/bot/v2/hook/{FEISHU_TOKEN}",
            secret=FEISHU_SECRET,
        ),
        ChannelSettings(
            name="ops-dingtalk",
            type="dingtalk",
            url=f"{base}/dingtalk/robot/send?access_token={DINGTALK_TOKEN}",
            secret=DINGTALK_SECRET,
        ),
        ChannelSettings(
            name="ops-wecom", type="wecom", url=f"{base}/wecom/cgi-bin/webhook/send?key={WECOM_KEY}"
        ),
        ChannelSettings(
            name="ops-slack",
            type="slack",
            url=f"{base}/slack/services/T000/B000/{SLACK_TOKEN}",
            language="en",
        ),
        ChannelSettings(
            name="ops-generic",
            type="generic",
            url=f"{base}/generic/returnwatch",
            secret=GENERIC_SECRET,
        ),
    ]


def with_channels(settings, channels: list[ChannelSettings], **alerts: Any):
    """`settings` with these channels and alert options; short timeouts for tests."""
    options = {"timeout_seconds": 0.5, **alerts}
    return settings.model_copy(update={"alerts": AlertSettings(channels=channels, **options)})


def secrets_for_receiver() -> dict[str, str]:
    return {"feishu": FEISHU_SECRET, "dingtalk": DINGTALK_SECRET, "generic": GENERIC_SECRET}


@pytest.fixture
def kit():
    """This module: the constants and helpers above, for the tests to call (test modules
    cannot import a conftest reliably without packages)."""
    return sys.modules[__name__]
