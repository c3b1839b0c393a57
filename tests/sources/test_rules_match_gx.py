"""The quarantine filter and the GX suite come from one declaration: prove they agree.

Real great-expectations (pandas engine) validates the same staged rows the DuckDB
predicates checked; for every rule, the rows GX calls unexpected must be exactly the rows
quarantined for that rule. The engines differ at the edges (Python's `$` matches before a
final newline, RE2's does not; `try_strptime` skips whitespace `strptime` refuses), so
the raw values are checked too, as if no cleaning had run.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from returnwatch.sources.files import open_source
from returnwatch.sources.ingest import import_file, stage_file
from returnwatch.transforms.gx_suite import build_suite, read_validation_result, validate_dataframe
from returnwatch.transforms.profiles import match_profile
from returnwatch.transforms.rules import RULES, rule_columns, unique_count_column

from ..exports import ORDER_HEADER, REFUND_HEADER, write_csv

pytestmark = pytest.mark.slow  # Great Expectations' engine (~4 s to import) and warehouse files

MESSY_ORDERS = [
    ["O1", "L1", "S1", "a", 1, "10", "2026-08-01 10:00:00", "", "", "", ""],
    ["O2", "L2", "S1", "a", -1, "10", "2026-08-01 10:00:00", "", "", "", ""],
    ["O3", "L3", "6.9E+18", "a", 0, "-5", "2026-02-30 10:00:00", "", "", "", ""],
    ["", "L4", "", "a", "1.5", "abc", "", "", "", "", ""],
    ["O5", "L5", "S1", "a", "2.0", "¥1,234.50", "2026/8/2 9:05", "", "", "", ""],
    ["O6", "L6", "S1", "a", 1, "10", "2026-08-02", "", "", "", ""],
    ["O7", "L6", "S2", "b", 1, "10", "2026-13-02 10:00:00", "", "", "", ""],
    ["O8", "\t6.91234E+18", "S3", "c", "x", "", "yesterday", "", "", "", ""],
    # Excel cells typed with Alt+Enter, CR, NBSP and full-width padding.
    ["O9", "6.9E+18\n", "S1", "d", "1\n", "10\r\n", "2010-12-01 08:26:00\n", "", "", "", ""],
    [
        "O10\u3000",
        "L10",
        "\u00a0S1",
        "e",
        "2",
        "\u300012.5",
        "\n2010-12-01 08:26:00",
        "",
        "",
        "",
        "",
    ],
    ["O11", "L11", "S1", "f", "1", "-", "2010-12-01 08:26:00\u3000", "", "", "", ""],
]
MESSY_REFUNDS = [
    ["R1", "O1", "L1", "S1", "return_refund", "", "completed", "2026-08-03 12:00:00", "2026-08-06 12:00:00", "1", 1, "", ""],
    ["R2", "O1", "", "S1", "chargeback", "", "lost", "2026-08-03 12:00:00", "soon", "-1", 0, "", ""],
    ["R2", "O2", "", "S1", "refund_only", "", "", "2026-08-03", "", "", "", "", ""],
    ["R4", "", "1E+5", "", "", "", "closed", "", "", "abc", "1.2", "", ""],
    ["R5\n", "O1", "6.9E+18\n", "S1", "refund_only\n", "", "closed\r", "2010-12-01 08:26:00\n", "-", "1\n", "/", "", ""],
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "header", "rows"),
    [("orders", ORDER_HEADER, MESSY_ORDERS), ("refunds", REFUND_HEADER, MESSY_REFUNDS)],
)
def test_gx_flags_exactly_the_quarantined_rows(warehouse, settings, tmp_path, kind, header, rows):
    path = write_csv(tmp_path / f"{kind}.csv", header, rows)
    with open_source(path) as src:
        match = match_profile(src.header)
        table = stage_file(warehouse, settings, src, match, "shop")
    staged = warehouse.execute(f"SELECT * FROM {table} ORDER BY _row").df()

    result = validate_dataframe(staged, kind)

    by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
    assert set(by_rule) == {rule.name for rule in RULES[kind]}
    for rule in RULES[kind]:
        gx_rows = {
            int(staged["_row"][i]) for i in by_rule[rule.name].result["unexpected_index_list"]
        }
        sql_rows = {
            int(r)
            for r, v in zip(staged["_row"], staged["_violations"], strict=True)
            if rule.name in v
        }
        assert gx_rows == sql_rows, rule.name
    assert any(len(v) for v in staged["_violations"])  # the file really is messy


def test_stored_result_reads_back_as_gx_validation_result(warehouse, settings, tmp_path):
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, MESSY_ORDERS)
    import_file(warehouse, settings, path)
    stored = warehouse.execute("SELECT validation_result FROM load_batches").fetchone()[0]

    result = read_validation_result(stored)

    assert result.success is False
    assert result.suite_name == "returnwatch_orders"
    quantity = next(
        r for r in result.results if r.expectation_config.meta["rule"] == "quantity_at_least_1"
    )
    assert quantity.result["unexpected_count"] == 2
    assert sorted(quantity.result["partial_unexpected_list"]) == [-1, 0]
    assert result.statistics["evaluated_expectations"] == len(RULES["orders"])


def test_suite_lists_every_rule():
    suite = build_suite("refunds")
    assert [e.meta["rule"] for e in suite.expectation_configurations] == [
        r.name for r in RULES["refunds"]
    ]


# Values as no cleaning would leave them: each rule must judge them alike in both engines.
RAW_TEXT = [
    "6.9E+18", "6.9E+18\n", "6.9e18\r\n", "\n6.9E+18", "6912345678901234567", "6912\n",
    "12", "12\n", "12\r", "\n12", "12\u3000", "\u300012", "12\u00a0", "1.50\n", "-1\n",
    "2010-12-01 08:26:00", "2010-12-01 08:26:00\n", " 2010-12-01 08:26:00",
    "2010-12-01 08:26:00 ", "2010-12-01 08:26:00\r\n", "2010-12-01 08:26:00\u3000",
    "2010-12-01 08:26:00\u00a0", "\t2010-12-01 08:26:00", "2010-12-1 8:26:00",
    "2010-12-01T08:26:00", "2026-02-30 10:00:00", "", "-", None,
]  # fmt: skip


@pytest.mark.parametrize("kind", ["orders", "refunds"])
def test_rules_judge_raw_values_alike_in_both_engines(kind):
    """Every rule over text, fed every tricky value (no cleaning): GX's pandas engine and
    the DuckDB predicates flag exactly the same values."""
    columns = rule_columns(kind)
    numeric = {c.removesuffix("__text") for c in columns if c.endswith("__text")}
    frame = pd.DataFrame(
        {
            c: (
                [None] * len(RAW_TEXT)
                if c in numeric
                else [1] * len(RAW_TEXT)
                if c.startswith("_count__")
                else RAW_TEXT
            )
            for c in (*columns, *(unique_count_column(c) for c in columns))
        }
    )
    frame = frame.loc[:, ~frame.columns.duplicated()]

    result = validate_dataframe(frame, kind)

    by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
    con = duckdb.connect()
    con.register("raw", frame)
    checked = 0
    for rule in RULES[kind]:
        if rule.column in numeric or rule.expectation.endswith("_be_unique"):
            continue  # numbers and repeat counts are typed by staging, not raw text
        sql = [v for (v,) in con.execute(f"SELECT {rule.violation_sql()} FROM raw").fetchall()]
        sql_flagged = {i for i, v in enumerate(sql) if v}
        gx_flagged = set(by_rule[rule.name].result["unexpected_index_list"])
        assert sql_flagged == gx_flagged, (
            rule.name,
            [RAW_TEXT[i] for i in sql_flagged ^ gx_flagged],
        )
        checked += 1
    assert checked >= 6
