"""The value cleaning in staging SQL, on the shapes real exports deliver."""

from __future__ import annotations

import duckdb
import pytest

from returnwatch.transforms.staging import _carrier, _clean_id, _clean_number, _clean_timestamp, lit


def value(expr_of, raw: str):
    return duckdb.connect().execute(f"SELECT {expr_of(lit(raw))}").fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("\t6912345678901234567", "6912345678901234567"), ('="6912"', "6912"), ("'6912", "6912"),
     (" 42 ", "42"), ("", None), ("\t", None)],
)  # fmt: skip
def test_ids(raw, clean):
    assert value(_clean_id, raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("2026-08-01 10:00:00", "2026-08-01 10:00:00"), ("2026/08/01 10:00", "2026-08-01 10:00:00"),
     ("2026-08-01", "2026-08-01 00:00:00"), ("2026-08-01T10:00:00.123Z", "2026-08-01 10:00:00"),
     ("", None)],
)  # fmt: skip
def test_timestamps(raw, clean):
    assert value(_clean_timestamp, raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"), [("¥1,234.50", "1234.50"), (" 12 元", "12"), ("-3", "-3"), ("", None)]
)
def test_money(raw, clean):
    assert value(_clean_number, raw) == clean


@pytest.mark.parametrize(
    ("raw", "carrier"),
    [("YT1234567890-圆通速递,加绒卫衣", "圆通速递"), ("SF123-顺丰速运", "顺丰速运"),
     ("中通快递", "中通快递"), ("", None)],
)  # fmt: skip
def test_carrier_from_kuaidi_info(raw, carrier):
    assert value(_carrier, raw) == carrier
