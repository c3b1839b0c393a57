"""Fixtures for the flow tests: ONE Prefect test harness for the session, small synthetic
shops written as 抖店 exports, and a real HTTP receiver on 127.0.0.1 as a generic channel."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from returnwatch.settings import ChannelSettings, Settings

START = dt.date(2026, 7, 1)
DAYS = 50
# The generated period's last day: its exports end there, and it carries a spike.
LAST = START + dt.timedelta(days=DAYS - 1)


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for the whole session (starting one costs ~11 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@dataclass
class ShopFiles:
    shop_id: str
    files: list[Path]  # 抖店 订单 and 售后 exports for the whole period

    def drop(self, inbox: Path, *, age_seconds: float = 3600) -> list[Path]:
        """Copy the exports into an inbox, written `age_seconds` ago (settled)."""
        inbox.mkdir(parents=True, exist_ok=True)
        out = []
        for src in self.files:
            dest = inbox / src.name
            dest.write_bytes(src.read_bytes())
            old = time.time() - age_seconds
            os.utime(dest, (old, old))
            out.append(dest)
        return out


def _make_shop(root: Path, shop_id: str, seed: int) -> ShopFiles:
    from returnwatch.demo.exports import write_doudian_exports
    from returnwatch.demo.shop import SpikeSpec, generate_shop

    shop = generate_shop(
        seed=seed,
        start=START,
        days=DAYS,
        n_skus=20,
        lines_per_day=200,
        shop_id=shop_id,
        n_random_spikes=0,
        # 3x: at 2.5x shop-b's spike (p = 0.003) no longer passed the night's FDR cut once
        # the issue-17 tests joined the family (7 slice-days tested instead of 4)
        spikes=[SpikeSpec(day=LAST, dimension="shop", key="*", multiplier=3.0)],
    )
    return ShopFiles(shop_id, write_doudian_exports(shop, root / shop_id, by="all"))


@pytest.fixture(scope="session")
def shop_files(tmp_path_factory) -> ShopFiles:
    return _make_shop(tmp_path_factory.mktemp("exports"), "shop-a", seed=11)


@pytest.fixture(scope="session")
def other_shop_files(tmp_path_factory) -> ShopFiles:
    return _make_shop(tmp_path_factory.mktemp("exports-b"), "shop-b", seed=12)


@dataclass
class Receiver:
    """What the generic channel received: one JSON body per request."""

    server: HTTPServer
    bodies: list[dict] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url_for("/hook")

    def handle(self, request: Request) -> Response:
        self.bodies.append(json.loads(request.get_data()))
        return Response('{"ok": true}', status=200, content_type="application/json")

    def of_kind(self, kind: str, shop_id: str | None = None) -> list[dict]:
        return [
            b
            for b in self.bodies
            if b["kind"] == kind and (shop_id is None or b["shop_id"] == shop_id)
        ]


@pytest.fixture(scope="session")
def _http_server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver(_http_server) -> Receiver:
    _http_server.clear()
    got = Receiver(_http_server)
    _http_server.expect_request(re.compile(".*")).respond_with_handler(got.handle)
    return got


@pytest.fixture
def flow_settings(tmp_path: Path, receiver: Receiver) -> Settings:
    """One shop, its inbox under tmp_path, a generic channel on the local receiver; files
    settle instantly unless a test says otherwise."""
    return Settings(
        db=tmp_path / "published" / "returnwatch.duckdb",
        inbox=tmp_path / "inbox",
        shop_id="shop-a",
        pii_secret="test-pii-secret",
        inbox_settle_seconds=5,
        warehouse_wait_seconds=0,
        alerts={
            "send_all_clear": True,
            "timeout_seconds": 2,
            "max_attempts_per_run": 1,
            "channels": [ChannelSettings(name="ops", type="generic", url=receiver.url)],
        },
    )


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read a published file the way an analyst does: read-only, then close."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def kit():
    """This module's helpers and constants, for the tests."""
    return sys.modules[__name__]
