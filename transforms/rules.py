r"""The validation contract, declared once per table.

Each rule is a Great Expectations expectation (type and kwargs) over one column of the
staged, normalised rows. From this single declaration come both the GX expectation suite
(`returnwatch.transforms.gx_suite`, the documented contract) and the row-level
quarantine filter (`Rule.violation_sql`, run in DuckDB where the data is staged).

One declaration does not make the two engines agree by itself: GX runs Python's `re` and
`datetime.strptime`, DuckDB runs RE2 and `try_strptime`, and they differ at the edges.
Python's `$` also matches before a final newline (RE2's does not), so the regexes here
end in `\Z`, which `violation_sql` writes as RE2's `\z` (both: the very end of the
text); `try_strptime` accepts leading and trailing whitespace that `strptime` refuses, so
the SQL refuses it too. Staging trims every kind of whitespace before the rules run
(`staging.WHITESPACE`), so in practice no value reaches them with any.
`tests/sources/test_rules_match_gx.py` runs real GX beside the SQL on the same rows,
staged and raw, to prove they agree.

Columns the rules see: id/text/timestamp/enum fields as normalised text, int and money
fields both as their normalised text (`<name>__text`) and as numbers (`<name>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import REFUND_STATUSES, REFUND_TYPES, TableKind

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# An id Excel has already turned into a float (6.9123E+18): its digits are gone.
# Anchored with `\Z`, never `$` (see the module docstring); `re2` translates for DuckDB.
ROUNDED_ID_REGEX = r"^[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+\Z"
INTEGER_REGEX = r"^[+-]?[0-9]+(?:\.0+)?\Z"
NUMBER_REGEX = r"^[+-]?[0-9]+(?:\.[0-9]+)?\Z"


def re2(regex: str) -> str:
    r"""A rule's Python regex as RE2 (DuckDB) writes the same pattern.

    The rules anchor the end with `\Z` (Python: the very end of the text). RE2 spells that
    `\z` and has no `\Z`; a bare `$` would mean different things on the two sides, so it
    is refused rather than translated.
    """
    if re.search(r"(?<!\\)\$", regex):
        raise ValueError(f"regex {regex!r}: anchor the end with \\Z, not $ (see rules.py)")
    return regex.replace(r"\Z", r"\z")


@dataclass(frozen=True)
class Rule:
    """One expectation over one column; `description` is what a quarantined row is told."""

    name: str
    column: str
    expectation: str
    description: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def gx_kwargs(self) -> dict[str, Any]:
        return {"column": self.column, **self.kwargs}

    def violation_sql(self) -> str:
        """A DuckDB predicate, true for exactly the rows GX counts as unexpected.

        GX ignores nulls in every expectation but not_be_null, hence `IS NOT NULL` first.
        """
        col = q(self.column)
        kind = self.expectation
        if kind == "expect_column_values_to_not_be_null":
            return f"{col} IS NULL"
        if kind == "expect_column_values_to_match_regex":
            regex = lit(re2(self.kwargs["regex"]))
            return f"({col} IS NOT NULL AND NOT regexp_matches({col}, {regex}))"
        if kind == "expect_column_values_to_not_match_regex":
            regex = lit(re2(self.kwargs["regex"]))
            return f"({col} IS NOT NULL AND regexp_matches({col}, {regex}))"
        if kind == "expect_column_values_to_match_strftime_format":
            # strptime refuses any character around the time, try_strptime skips spaces,
            # tabs and newlines there: the first and last character decide (cheaply).
            fmt = lit(self.kwargs["strftime_format"])
            edges = f"ord({col}) <= 32 OR ord(({col})[-1]) <= 32"
            return f"({col} IS NOT NULL AND ({edges} OR try_strptime({col}, {fmt}) IS NULL))"
        if kind == "expect_column_values_to_be_between":
            bounds = []
            if self.kwargs.get("min_value") is not None:
                bounds.append(f"{col} < {self.kwargs['min_value']}")
            if self.kwargs.get("max_value") is not None:
                bounds.append(f"{col} > {self.kwargs['max_value']}")
            return f"({col} IS NOT NULL AND ({' OR '.join(bounds)}))"
        if kind == "expect_column_values_to_be_in_set":
            values = ", ".join(lit(v) for v in self.kwargs["value_set"])
            return f"({col} IS NOT NULL AND {col} NOT IN ({values}))"
        if kind == "expect_column_values_to_be_unique":
            return f"({col} IS NOT NULL AND {q(unique_count_column(self.column))} > 1)"
        raise ValueError(f"rule {self.name}: no SQL for expectation {kind}")


def unique_count_column(column: str) -> str:
    """The staging column holding how often each value of `column` occurs in the file."""
    return f"_count__{column}"


# --- the declarations ------------------------------------------------------------------


def _required(col: str) -> Rule:
    return Rule(f"{col}_present", col, "expect_column_values_to_not_be_null", f"{col} is missing")


def _not_rounded(col: str) -> Rule:
    return Rule(
        f"{col}_not_rounded",
        col,
        "expect_column_values_to_not_match_regex",
        f"{col} was rounded by Excel to scientific notation; re-export with ids as text",
        {"regex": ROUNDED_ID_REGEX},
    )


def _timestamp(col: str) -> Rule:
    return Rule(
        f"{col}_parses",
        col,
        "expect_column_values_to_match_strftime_format",
        f"{col} is not a time like 2026-08-01 12:30:00",
        {"strftime_format": TIMESTAMP_FORMAT},
    )


def _integer_at_least_1(col: str) -> tuple[Rule, Rule]:
    return (
        Rule(
            f"{col}_is_integer",
            f"{col}__text",
            "expect_column_values_to_match_regex",
            f"{col} is not a whole number",
            {"regex": INTEGER_REGEX},
        ),
        Rule(
            f"{col}_at_least_1",
            col,
            "expect_column_values_to_be_between",
            f"{col} is below 1",
            {"min_value": 1},
        ),
    )


def _money_non_negative(col: str) -> tuple[Rule, Rule]:
    return (
        Rule(
            f"{col}_is_number",
            f"{col}__text",
            "expect_column_values_to_match_regex",
            f"{col} is not a number",
            {"regex": NUMBER_REGEX},
        ),
        Rule(
            f"{col}_non_negative",
            col,
            "expect_column_values_to_be_between",
            f"{col} is negative",
            {"min_value": 0},
        ),
    )


def _in_set(col: str, values: tuple[str, ...]) -> Rule:
    return Rule(
        f"{col}_known",
        col,
        "expect_column_values_to_be_in_set",
        f"{col} is not one of {', '.join(values)}",
        {"value_set": list(values)},
    )


def _unique(col: str) -> Rule:
    return Rule(
        f"{col}_unique",
        col,
        "expect_column_values_to_be_unique",
        f"{col} occurs more than once in the file with different contents",
    )


ORDER_RULES: tuple[Rule, ...] = (
    *(_required(c) for c in ("order_id", "line_id", "sku_id", "paid_at")),
    *(_not_rounded(c) for c in ("order_id", "line_id", "sku_id")),
    _timestamp("paid_at"),
    *_integer_at_least_1("quantity"),
    *_money_non_negative("amount"),
    *_money_non_negative("unit_price"),
    _unique("line_id"),
)

REFUND_RULES: tuple[Rule, ...] = (
    *(_required(c) for c in ("refund_id", "order_id", "sku_id", "requested_at", "refund_type")),
    *(_not_rounded(c) for c in ("refund_id", "order_id", "line_id", "sku_id")),
    *(_timestamp(c) for c in ("requested_at", "approved_at", "completed_at")),
    _in_set("refund_type", REFUND_TYPES),
    _in_set("status", REFUND_STATUSES),
    *_money_non_negative("refund_amount"),
    *_integer_at_least_1("quantity"),
    _unique("refund_id"),
)

RULES: dict[TableKind, tuple[Rule, ...]] = {"orders": ORDER_RULES, "refunds": REFUND_RULES}


def rule_columns(kind: TableKind) -> tuple[str, ...]:
    """The columns the rules of a table look at, each once, in declaration order."""
    return tuple(dict.fromkeys(r.column for r in RULES[kind]))


def suite_name(kind: TableKind) -> str:
    return f"returnwatch_{kind}"
