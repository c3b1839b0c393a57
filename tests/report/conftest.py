"""A small synthetic shop, imported and detected once, and its August report.

The shop runs July–August 2026 (two months: the report compares with the previous one),
with spikes in August; one generic chat channel is configured so detection's digests land
in the alert outbox (nothing is sent). Building it takes a few seconds, so the warehouse
and the report are shared by the folder's tests, which read them and never write to them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from returnwatch.settings import ChannelSettings, Settings

SHOP = "demo-shop"
MONTH = "2026-08"
GENERATED_AT = dt.datetime(2026, 9, 1, 8, 0)


def shop_settings(root: Path, **overrides) -> Settings:
    return Settings(
        db=root / "returnwatch.duckdb",
        inbox=root / "inbox",
        shop_id=SHOP,
        pii_secret="report-test-secret",
        alerts={
            "channels": [ChannelSettings(name="ops", type="generic", url="http://127.0.0.1:9/x")]
        },
        report={"out_dir": root / "reports"},
        **overrides,
    )


@pytest.fixture(scope="package")
def shop_dir(tmp_path_factory) -> Path:
    """The warehouse of a 62-day, 15-SKU shop (~150 order lines a day), detected, with
    the August nights' digests queued."""
    from returnwatch.alerts.outbox import enqueue_digests
    from returnwatch.demo.exports import write_doudian_exports
    from returnwatch.demo.shop import generate_shop
    from returnwatch.sources.ingest import import_paths
    from returnwatch.warehouse.connection import connect
    from returnwatch.warehouse.detection import run_detect
    from returnwatch.warehouse.publish import publish

    root = tmp_path_factory.mktemp("report-shop")
    settings = shop_settings(root)
    shop = generate_shop(
        seed=5, start=dt.date(2026, 7, 1), days=62, n_skus=15, lines_per_day=150, shop_id=SHOP
    )
    files = write_doudian_exports(shop, root / "inbox")
    con = connect(settings)
    results = import_paths(con, settings, files)
    assert {r.status for r in results} == {"loaded"}
    con.close()
    run_detect(settings, dt.date(2026, 7, 1), dt.date(2026, 8, 31))
    con = connect(settings)
    days = [
        row[0] for row in con.execute("SELECT DISTINCT day FROM anomalies ORDER BY day").fetchall()
    ]
    enqueue_digests(con, settings, SHOP, days, now=GENERATED_AT)
    publish(settings, con)  # the report reads the published file, as analysts do
    con.close()
    return root


@pytest.fixture(scope="package")
def august(shop_dir):
    """The August report, written to its default place under [report] out_dir."""
    from returnwatch.report import build_report

    return build_report(shop_settings(shop_dir), MONTH, now=GENERATED_AT)


@pytest.fixture
def copied_shop(shop_dir, tmp_path) -> Path:
    """A private copy of the warehouse, for tests that change it."""
    target = tmp_path / "copy"
    target.mkdir()
    shutil.copy(shop_dir / "returnwatch.duckdb", target / "returnwatch.duckdb")
    return target
