"""The small shared helpers of returnwatch/ (core): SQL quoting, packaged SQL, short
errors and slice labels, each the one home of what three modules used to copy."""

from __future__ import annotations

import duckdb
import pytest

from returnwatch.errors import short_error
from returnwatch.slices import (
    PSEUDONYM_CHARS,
    parse_slice_id,
    short_pseudonym,
    slice_id,
    slice_label,
)
from returnwatch.sql import lit, q, read_sql


@pytest.mark.parametrize("name", ["订单编号", "商品单价(元)", 'a "quoted" name', "it's", "x y"])
def test_quoted_identifiers_and_literals_survive_duckdb(name):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({q(name)} VARCHAR)")
    con.execute(f"INSERT INTO t VALUES ({lit(name)})")
    assert con.execute("SELECT column_name FROM (DESCRIBE t)").fetchall() == [(name,)]
    assert con.execute(f"SELECT {q(name)} FROM t").fetchall() == [(name,)]


def test_packaged_sql_is_read_from_its_own_package():
    assert "FROM" in read_sql("returnwatch.report", "report_kpis").upper()
    assert "FROM" in read_sql("returnwatch.transforms", "daily_return_rates").upper()
    with pytest.raises(FileNotFoundError):
        read_sql("returnwatch.report", "daily_return_rates")


def test_short_error_keeps_the_gist():
    long = ValueError("first line\n\n  second line  \nthird\nfourth")
    assert short_error(long) == "first line"
    assert short_error(long, lines=3, limit=None) == "first line | second line | third"
    assert short_error(long, with_type=True) == "ValueError: first line"
    assert short_error(KeyboardInterrupt()) == "KeyboardInterrupt"
    cut = short_error(RuntimeError("x" * 500))
    assert len(cut) == 300 and cut.endswith("…")


def test_a_slice_is_named_the_same_way_everywhere():
    assert slice_label("shop", "*") == "全店"
    assert slice_label("shop", "*", language="en") == "Whole shop"
    assert slice_label("region", "广东省") == "广东省"
    assert slice_label("region", "广东省", language="en") == "Region 广东省"
    assert (
        slice_label("sku", "3712345678901", " 加绒连帽卫衣 ") == "SKU 3712345678901 · 加绒连帽卫衣"
    )
    assert slice_label("sku", "3712345678901", float("nan")) == "SKU 3712345678901"
    narrow = slice_label(
        "sku", "3712345678901", "加绒连帽卫衣 黑色 XL 加厚", key_chars=6, name_chars=8
    )
    assert narrow == "SKU …678901 · 加绒连帽卫衣 …"
    assert slice_label("sku", "123", key_chars=6) == "SKU 123"
    assert slice_label("channel", "live") == "channel live"  # an unknown dimension, named as is
    assert parse_slice_id(slice_id("sku", 3712345678901)) == ("sku", "3712345678901")
    assert slice_label(*parse_slice_id("shop:*")) == "全店"
    # a buyer: the first PSEUDONYM_CHARS characters of the pseudonym, as the report cuts it
    assert slice_label("customer", "3f9a2c1b77e0d5a4") == "买家 3f9a2c1b…"
    assert slice_label("customer", "3f9a2c1b77e0d5a4", language="en") == "Buyer 3f9a2c1b…"
    assert short_pseudonym("3f9a2c1b") == "3f9a2c1b" and PSEUDONYM_CHARS == 8
