"""Labels a night's files used that returnwatch does not recognise reach the run summary."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest

from returnwatch.flows import steps
from returnwatch.flows.nightly import run_nightly
from returnwatch.sources.ingest import import_file
from returnwatch.warehouse.connection import connect

FIXTURE = (
    Path(__file__).parents[1] / "sources" / "fixtures" / "doudian" / "refunds_aftersale_list.csv"
)
NAMED = [
    "refunds_aftersale_list.csv: 仲裁状态 '平台介入' (1 rows) not recognised: loaded as written",
    "refunds_aftersale_list.csv: 售后类型 '特殊售后' (1 rows) not recognised: counted as other",
    "refunds_aftersale_list.csv: 售后状态 '待平台审核' (1 rows) not recognised: "
    "counted as in_progress",
    "refunds_aftersale_list.csv: 售后状态 '神秘状态' (1 rows) not recognised: "
    "loaded without a status",
]


def test_night_unknown_values_reads_the_nights_loads_only(settings, tmp_path):
    s = settings.model_copy(update={"db": tmp_path / "w.duckdb", "shop_id": "shop-a"})
    con = connect(s)
    path = Path(shutil.copy(FIXTURE, tmp_path / FIXTURE.name))
    before = dt.datetime.now()
    import_file(con, s, path)

    assert sorted(steps.night_unknown_values(con, "shop-a", before)) == sorted(NAMED)
    assert steps.night_unknown_values(con, "shop-b", before) == []
    assert steps.night_unknown_values(con, "shop-a", dt.datetime.now()) == []

    summary = steps.NightlySummary("shop-a", dt.date(2026, 8, 5), status="success")
    summary.unknown_values = NAMED
    assert "Not recognised: " + "; ".join(NAMED) + "." in summary.paragraph()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_nightly_summary_names_unknown_labels(flow_settings):
    flow_settings.inbox.mkdir(parents=True, exist_ok=True)
    dropped = Path(shutil.copy(FIXTURE, flow_settings.inbox / FIXTURE.name))
    old = time.time() - 3600
    os.utime(dropped, (old, old))

    [summary] = run_nightly(flow_settings, date=dt.date(2026, 8, 5))

    assert summary.status == "success", summary.message
    assert sorted(summary.unknown_values) == sorted(NAMED)
    assert "售后类型 '特殊售后' (1 rows) not recognised: counted as other" in summary.paragraph()
