"""Fixtures for import tests: small hand-made export files with every value known."""

from __future__ import annotations

from pathlib import Path

import pytest

from .exports import ORDER_HEADER, REFUND_HEADER, write_csv


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    rows = [
        [
            "O1",
            "L1",
            "S1",
            "衬衫",
            1,
            "99.50",
            "2026-08-01 10:00:00",
            "广东省",
            "广州市",
            "圆通速递",
            "c1",
        ],
        [
            "O1",
            "L2",
            "S2",
            "帽子",
            2,
            "20",
            "2026-08-01 10:05:00",
            "广东省",
            "广州市",
            "圆通速递",
            "c1",
        ],
        [
            "O2",
            "L3",
            "S1",
            "衬衫",
            1,
            "99.50",
            "2026-08-02 11:00:00",
            "浙江省",
            "杭州市",
            "中通快递",
            "c2",
        ],
        ["O3", "L4", "S3", "裤子", 1, "120", "2026-08-03 09:00:00", "", "", "", "c3"],
    ]
    return write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)


@pytest.fixture
def refunds_csv(tmp_path: Path) -> Path:
    rows = [
        [
            "R1",
            "O1",
            "L1",
            "S1",
            "return_refund",
            "尺码不合适",
            "completed",
            "2026-08-03 12:00:00",
            "2026-08-06 12:00:00",
            "99.50",
            1,
            "",
            "",
        ],
        [
            "R2",
            "O2",
            "L3",
            "S1",
            "refund_only",
            "质量问题",
            "requested",
            "2026-08-04 08:00:00",
            "",
            "50",
            1,
            "浙江省",
            "",
        ],
    ]
    return write_csv(tmp_path / "refunds.csv", REFUND_HEADER, rows)
