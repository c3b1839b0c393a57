"""The value cleaning in staging SQL, on the shapes real exports deliver."""

from __future__ import annotations

import duckdb
import pytest

from returnwatch.sql import lit
from returnwatch.transforms.staging import (
    _carrier,
    _clean_id,
    _clean_id_full,
    _clean_number,
    _clean_number_full,
    _clean_text,
    _clean_text_full,
    _clean_timestamp,
    _clean_timestamp_full,
    _dirty_sql,
    _secret_normalized,
    _secret_normalized_full,
)


def value(expr_of, raw: str):
    return duckdb.connect().execute(f"SELECT {expr_of(lit(raw))}").fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("\t6912345678901234567", "6912345678901234567"), ('="6912"', "6912"), ("'6912", "6912"),
     (" 42 ", "42"), ("", None), ("\t", None), ("6.9E+18\n", "6.9E+18"), ("\t6912\r\n", "6912"),
     ("\u30006912\u3000", "6912"), ("6912\u00a0", "6912"), ("-", None), ("\t--", None),
     (" / ", None), ("无", None)],
)  # fmt: skip
def test_ids(raw, clean):
    assert value(_clean_id, raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("2026-08-01 10:00:00", "2026-08-01 10:00:00"), ("2026/08/01 10:00", "2026-08-01 10:00:00"),
     ("2026-08-01", "2026-08-01 00:00:00"), ("2026-08-01T10:00:00.123Z", "2026-08-01 10:00:00"),
     ("", None), ("2010-12-01 08:26:00\n", "2010-12-01 08:26:00"),
     ("\r\n2010-12-01 08:26:00\u3000", "2010-12-01 08:26:00"), ("-", None), ("--", None),
     ("/", None), ("无", None), (" - ", None)],
)  # fmt: skip
def test_timestamps(raw, clean):
    assert value(_clean_timestamp, raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("¥1,234.50", "1234.50"), (" 12 元", "12"), ("-3", "-3"), ("", None), ("-", None),
     ("--", None), ("/", None), ("无", None), ("\u3000-\u3000", None), ("59.00\n", "59.00"),
     ("\u300012.5", "12.5"), ("1\u00a0234", "1234")],
)  # fmt: skip
def test_money(raw, clean):
    assert value(_clean_number, raw) == clean


@pytest.mark.parametrize(
    ("raw", "carrier"),
    [("YT1234567890-圆通速递,加绒卫衣", "圆通速递"), ("SF123-顺丰速运", "顺丰速运"),
     ("中通快递", "中通快递"), ("", None)],
)  # fmt: skip
def test_carrier_from_kuaidi_info(raw, carrier):
    assert value(_carrier, raw) == carrier


TRICKY = [
    "", " ", "\t", "42", " 42", "42 ", "\t42", "4\t2", "=42", '="42"', "'42", "-3", "+3", "1.50",
    "1.", ".5", "1,234.50", "¥12", "12元", "0x10", "1_000", "1e5", "6.9E+18", "abc", "广东省",
    " 广东省 ", "2026-08-01 10:00:00", " 2026-08-01 10:00:00", "2026-08-01 10:00:00 ",
    "2026-8-1 10:00:00", "2026/08/01 10:00:00", "2026-08-01T10:00:00Z", "2026-08-01 10:00",
    "2026-08-01", "2026-13-45 99:99:99", "13812345678", "8613812345678", "+8613812345678",
    "138-1234-5678", "138 1234 5678", "86138123456789", "C119894",
    # Excel's Alt+Enter, CR, NBSP, full-width padding, placeholders, leading 无 in words.
    "42\n", "\n42", "42\r\n", "42\u3000", "\u300042", "42\u00a0", "\u00a042", "6.9E+18\n",
    "2010-12-01 08:26:00\n", "2010-12-01 08:26:00\u3000", "-", "--", "/", "无", " - ",
    "无线耳机", "-5", "/path", "退货退款\n", "待商家同意\u3000", "a\nb", "\u2003x\u2003",
]  # fmt: skip


@pytest.mark.parametrize(
    ("fast", "full"),
    [(_clean_text, _clean_text_full), (_clean_id, _clean_id_full),
     (_clean_number, _clean_number_full), (_clean_timestamp, _clean_timestamp_full),
     (_secret_normalized, _secret_normalized_full)],
)  # fmt: skip
def test_shortcuts_clean_exactly_as_the_full_cleaning(fast, full):
    """Each cleaner skips the work for values already clean; the result must not change."""
    for raw in TRICKY:
        assert value(fast, raw) == value(full, raw), repr(raw)


@pytest.mark.parametrize(
    ("cleaning", "cleaner"),
    [("text", _clean_text), ("id", _clean_id), ("number", _clean_number),
     ("timestamp", _clean_timestamp)],
)  # fmt: skip
def test_a_value_not_flagged_dirty_needs_no_cleaning(cleaning, cleaner):
    """The load skips cleaning a column no valid row flagged (`dirty_mask_sql`): for every
    value the flag leaves unset, skipping must give what cleaning gives."""
    con = duckdb.connect()
    for raw in [*TRICKY, None]:
        src = "NULL::VARCHAR" if raw is None else lit(raw)
        dirty, cleaned, skipped = con.execute(
            f"SELECT {_dirty_sql(cleaning, src)}, {cleaner(src)}, {cleaner(src, plain=True)}"
        ).fetchone()
        if not dirty:
            assert skipped == cleaned, repr(raw)
    assert con.execute(f"SELECT {_dirty_sql(cleaning, lit(' 42'))}").fetchone()[0]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("退货退款\n", "退货退款"), ("\u3000广东省\u3000", "广东省"), ("\u00a0待商家同意", "待商家同意"),
     ("-", None), ("无", None), ("无线耳机", "无线耳机"), ("/", None), ("a\nb", "a\nb")],
)  # fmt: skip
def test_text(raw, clean):
    assert value(_clean_text, raw) == clean


@pytest.mark.parametrize(
    ("title", "spec"),
    [("纯棉短袖T恤 白色 L", "白色 L"), ("纯棉短袖T恤【白色 L】", "白色 L"),
     ("T恤（颜色:白;尺码:L）", "颜色:白;尺码:L"), ("T恤[M]", "M"), ("T恤\u3000黑色 M", "黑色 M"),
     ("T恤\u00a0黑色", "黑色"), ("夏季 新款 连衣裙 黑色 M", "新款 连衣裙 黑色 M"),
     ("T恤(男款) 白色 L", "白色 L"), ("加绒卫衣", None), ("【】", None), ("", None),
     ("T恤 \u3000 白色\nL", "白色\nL"), ("T恤\t白色 (L)", "L"), ("T恤 (L", "(L"), ("T恤)", None)],
)  # fmt: skip
def test_the_spec_part_of_an_item_text(title, spec):
    """docs/formats.md "SKU of an export": a trailing bracket's contents, else what follows
    the first whitespace run, else nothing (the SKU is then the product)."""
    from returnwatch.transforms.staging import spec_full_sql, spec_sql

    assert value(spec_sql, title) == spec
    assert value(spec_full_sql, title) == spec  # the fast path answers as the definition
