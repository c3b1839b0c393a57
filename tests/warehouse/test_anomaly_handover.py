"""Issue 15: one anomaly explaining thousands of slices, the others explaining nothing.

A shop-wide surge on a big shop (a 10M-line month whose last day's return rate quadruples
across every SKU) gives ≈3,500 SKU anomalies folded under the shop's, whose `related`
lists them all, while every other `related` is empty. DuckDB types a DataFrame's list
column from a sample of its rows: the naive hand-over typed `related` NULL[] and failed.
These tests fold such a night with the detector's own `fold` and write it to a real
warehouse file.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from returnwatch.settings import Settings
from returnwatch.transforms.detection import ANOMALY_COLUMNS, default_frame, empty_breakdown
from returnwatch.warehouse.connection import connect
from returnwatch.warehouse.detection import insert_anomalies

DAY = date(2026, 5, 31)
SKUS = 3_500


def surge_night(skus: int = SKUS) -> pd.DataFrame:
    """Scored rows of a night whose every SKU returns 4x its expectation, as `score` hands
    them to `default_frame`."""
    expected = np.full(skus, 2.0)
    returns = np.full(skus, 8)
    rows = pd.DataFrame(
        {
            "shop_id": "big-shop",
            "day": DAY,
            "dimension": "sku",
            "key": [f"37{i:011d}" for i in range(skus)],
            "order_lines": 25,
            "returns": returns,
            "expected_returns": expected,
        }
    )
    shop = pd.DataFrame(
        {
            "shop_id": ["big-shop"],
            "day": [DAY],
            "dimension": ["shop"],
            "key": ["*"],
            "order_lines": [25 * skus],
            "returns": [int(returns.sum())],
            "expected_returns": [float(expected.sum())],
        }
    )
    f = pd.concat([shop, rows], ignore_index=True)
    f["return_rate"] = f["returns"] / f["order_lines"]
    f["baseline_rate"] = f["expected_returns"] / f["order_lines"]
    f["baseline_days"] = 28
    f["lift"] = f["return_rate"] / f["baseline_rate"] - 1
    f["exposure_lines"] = f["order_lines"].astype(float)
    f["detector_rate"] = f["baseline_rate"]
    f["extra_returns"] = f["returns"] - f["expected_returns"]
    f["dispersion"] = 0.05
    f["_c"] = 0.1
    f["p_value"] = 1e-6
    f["q_value"] = 1e-4
    f["score"] = 6.0
    f["_p_cut"] = 1e-6
    f["is_anomaly"] = True
    f["shop_expected_returns"] = float(expected.sum())
    return f


def anomaly_rows(scored: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    frame = default_frame(scored, empty_breakdown(), settings.detection)
    frame["mode"] = "default"
    frame["detected_at"] = pd.Timestamp(datetime(2026, 6, 1, 2, 0))
    return frame.reindex(columns=ANOMALY_COLUMNS)


@pytest.fixture(scope="module")
def folded() -> pd.DataFrame:
    return anomaly_rows(surge_night(), Settings())


def test_the_surge_folds_every_sku_under_the_shop(folded):
    shop = folded[folded["dimension"] == "shop"].iloc[0]
    assert shop["explained_by"] is None
    assert len(shop["related"]) == SKUS
    skus = folded[folded["dimension"] == "sku"]
    assert (skus["explained_by"] == "shop:*").all()
    assert all(len(r) == 0 for r in skus["related"])


def test_the_naive_hand_over_is_what_crashed(folded, tmp_path):
    """The frame reproduces issue 15: handed to DuckDB as it is, with the long list in
    the middle, the insert fails on the type DuckDB inferred from its sample."""
    con = duckdb.connect(str(tmp_path / "naive.duckdb"))
    con.execute("CREATE TABLE t (related VARCHAR[])")
    middle = folded.sort_values("dimension", key=lambda d: d != "sku").reset_index(drop=True)
    middle = pd.concat([middle.iloc[1:1700], middle.iloc[:1], middle.iloc[1700:]])
    con.register("naive", middle[["related"]].reset_index(drop=True))
    with pytest.raises(duckdb.Error, match="NULL"):
        con.execute("INSERT INTO t SELECT related FROM naive")
    con.close()


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_the_typed_hand_over_writes_every_row(folded, settings, position):
    shop = folded[folded["dimension"] == "shop"]
    skus = folded[folded["dimension"] == "sku"]
    at = {"first": 0, "middle": len(skus) // 2, "last": len(skus)}[position]
    frame = pd.concat([skus.iloc[:at], shop, skus.iloc[at:]], ignore_index=True)

    con = connect(settings, path=settings.db)
    try:
        insert_anomalies(con, frame)
        rows = con.execute(
            "SELECT dimension, count(*), sum(len(related)), count(related), "
            "count(explained_by), min(day), min(detected_at) FROM anomalies GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'anomalies'"
            ).fetchall()
        )
    finally:
        con.close()
    assert rows == [
        ("shop", 1, SKUS, 1, 0, DAY, datetime(2026, 6, 1, 2, 0)),
        ("sku", SKUS, 0, SKUS, SKUS, DAY, datetime(2026, 6, 1, 2, 0)),
    ]
    assert types["related"] == "VARCHAR[]"


def test_an_all_missing_text_column_still_reads_as_text(settings):
    """Every explained_by missing and every related empty: no column typed NULL."""
    frame = anomaly_rows(surge_night(skus=3).iloc[:1], Settings())
    frame = pd.concat([frame] * 5000, ignore_index=True)
    frame["key"] = [f"k{i}" for i in range(len(frame))]
    frame.loc[len(frame) - 1, "explained_by"] = "sku:late"
    frame.at[len(frame) - 1, "related"] = ["region:广东省"]
    con = connect(settings, path=settings.db)
    try:
        insert_anomalies(con, frame)
        last = con.execute(
            "SELECT explained_by, related FROM anomalies WHERE key = $key",
            {"key": f"k{len(frame) - 1}"},
        ).fetchone()
    finally:
        con.close()
    assert last == ("sku:late", ["region:广东省"])
