"""The quarantine filter and the GX suite come from one declaration: prove they agree.

Real great-expectations (pandas engine) validates the same staged rows the DuckDB
predicates checked; for every rule, the rows GX calls unexpected must be exactly the rows
quarantined for that rule.
"""

from __future__ import annotations

import pytest

from returnwatch.sources.files import open_source
from returnwatch.sources.ingest import import_file, stage_file
from returnwatch.transforms.gx_suite import build_suite, read_validation_result, validate_dataframe
from returnwatch.transforms.profiles import match_profile
from returnwatch.transforms.rules import RULES

from .exports import ORDER_HEADER, REFUND_HEADER, write_csv

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
]
MESSY_REFUNDS = [
    ["R1", "O1", "L1", "S1", "return_refund", "", "completed", "2026-08-03 12:00:00", "2026-08-06 12:00:00", "1", 1, "", ""],
    ["R2", "O1", "", "S1", "chargeback", "", "lost", "2026-08-03 12:00:00", "soon", "-1", 0, "", ""],
    ["R2", "O2", "", "S1", "refund_only", "", "", "2026-08-03", "", "", "", "", ""],
    ["R4", "", "1E+5", "", "", "", "closed", "", "", "abc", "1.2", "", ""],
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
