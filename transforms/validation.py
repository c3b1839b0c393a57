"""Rule results for a staged file, in the shape of a GX ExpectationSuiteValidationResult.

The rules are evaluated row by row in DuckDB (`staging.checked_sql`); this module counts
what they found in one aggregate pass and writes it as GX's validation-result JSON, so
`load_batches.validation_result` reads back with GX's own classes
(`gx_suite.read_validation_result`) without importing GX (3.8 s) on every import.
"""

from __future__ import annotations

from typing import Any

import duckdb

from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import TableKind
from returnwatch.transforms.rules import RULES, Rule, rule_columns, suite_name

PARTIAL_LIST_SIZE = 20


def rule_counts(
    con: duckdb.DuckDBPyConnection,
    kind: TableKind,
    table: str | None,
    *,
    element_count: int | None = None,
    missing: dict[str, int] | None = None,
) -> tuple[int, dict[str, dict[str, Any]]]:
    """Per rule: unexpected and missing counts and the first offending values, in one scan.

    `table` holds every checked row, or, when `element_count` and `missing` (null counts
    per rule column, `missing_counts`) are given, only the rows breaking a rule: the
    others add nothing to the unexpected counts or lists — and None means there are none.
    """
    rules = RULES[kind]
    if table is None:
        if element_count is None or missing is None:
            raise ValueError("no table: element_count and missing are the counts")
        return element_count, {
            rule.name: {
                "unexpected_count": 0,
                "missing_count": missing[rule.column],
                "partial_unexpected_list": [],
            }
            for rule in rules
        }
    selects = ["count(*)"]
    for rule in rules:
        col = q(rule.column)
        hit = f"list_contains(_violations, {lit(rule.name)})"
        selects += [
            f"count(*) FILTER (WHERE {hit})",
            f"count(*) FILTER (WHERE {col} IS NULL)",
            f"min_by({col}, _row, {PARTIAL_LIST_SIZE}) FILTER (WHERE {hit})",
        ]
    row = con.execute(f"SELECT {', '.join(selects)} FROM {table}").fetchone()
    assert row is not None
    if element_count is None:
        element_count = int(row[0])
    counts: dict[str, dict[str, Any]] = {}
    for i, rule in enumerate(rules):
        unexpected, nulls, partial = row[1 + 3 * i : 4 + 3 * i]
        counts[rule.name] = {
            "unexpected_count": int(unexpected),
            "missing_count": int(nulls) if missing is None else missing[rule.column],
            "partial_unexpected_list": list(partial or []),
        }
    return element_count, counts


def missing_counts(con: duckdb.DuckDBPyConnection, kind: TableKind, flags: str) -> dict[str, int]:
    """Null counts per rule column from the `_nulls` bit masks of `staging.flags_sql`."""
    columns = rule_columns(kind)
    sums = ", ".join(f"sum((_nulls >> {i}) & 1)" for i in range(len(columns)))
    row = con.execute(f"SELECT {sums} FROM {flags}").fetchone()
    assert row is not None
    return {c: int(v or 0) for c, v in zip(columns, row, strict=True)}


def _expectation_result(rule: Rule, element_count: int, c: dict[str, Any]) -> dict[str, Any]:
    unexpected = c["unexpected_count"]
    missing = c["missing_count"]
    nonmissing = element_count - missing
    if rule.expectation == "expect_column_values_to_not_be_null":
        result: dict[str, Any] = {
            "element_count": element_count,
            "unexpected_count": unexpected,
            "unexpected_percent": _pct(unexpected, element_count),
            "partial_unexpected_list": c["partial_unexpected_list"],
        }
    else:
        result = {
            "element_count": element_count,
            "unexpected_count": unexpected,
            "unexpected_percent": _pct(unexpected, nonmissing),
            "partial_unexpected_list": c["partial_unexpected_list"],
            "missing_count": missing,
            "missing_percent": _pct(missing, element_count),
            "unexpected_percent_total": _pct(unexpected, element_count),
            "unexpected_percent_nonmissing": _pct(unexpected, nonmissing),
        }
    return {
        "success": unexpected == 0,
        "expectation_config": {
            "type": rule.expectation,
            "kwargs": rule.gx_kwargs(),
            "meta": {"rule": rule.name, "description": rule.description},
        },
        "result": result,
        "meta": {},
        "exception_info": {
            "raised_exception": False,
            "exception_traceback": None,
            "exception_message": None,
        },
    }


def _pct(part: int, whole: int) -> float | None:
    return (100.0 * part / whole) if whole else None


def validation_result(
    kind: TableKind, element_count: int, counts: dict[str, dict[str, Any]], meta: dict[str, Any]
) -> dict[str, Any]:
    """GX's ExpectationSuiteValidationResult as JSON, built from the rule counts."""
    results = [_expectation_result(r, element_count, counts[r.name]) for r in RULES[kind]]
    successful = sum(r["success"] for r in results)
    return {
        "success": successful == len(results),
        "results": results,
        "suite_name": suite_name(kind),
        "suite_parameters": {},
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": 100.0 * successful / len(results) if results else None,
        },
        "meta": {"engine": "duckdb", **meta},
    }
