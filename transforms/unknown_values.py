"""Labels a file used that returnwatch does not recognise: counted, named, never hidden.

A new 售后类型, 售后状态 or 仲裁状态 still loads (as `other`, with no status, or as written:
`profiles.classify` says which), but the load's summary line names it with its row count
and what it was counted as, `load_unknown_values` keeps it, and the nightly summary
repeats it. Counting is one grouped scan of the `_unknown__<field>` columns staging adds
(`staging.unknown_columns`), NULL for every recognised label.
"""

from __future__ import annotations

from dataclasses import dataclass

from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import ProfileMatch, classify
from returnwatch.transforms.staging import UNKNOWN_PREFIX


@dataclass(frozen=True)
class UnknownValue:
    """One unrecognised label of one column of one file."""

    field: str  # the canonical field, e.g. refund_type
    column: str  # the file's header, e.g. 售后类型
    value: str  # the label as the file wrote it (cleaned of padding)
    rows: int
    mapped_to: str | None  # what the rows were counted as; None: loaded without a value

    def line(self) -> str:
        """`售后类型 '特殊售后' (12 rows) not recognised: counted as other`."""
        return f"{self.column} '{self.value}' ({self.rows:,} rows) not recognised: {self.outcome()}"

    def outcome(self) -> str:
        if self.mapped_to is None:
            return f"loaded without a {self.field}"
        if self.mapped_to == self.value:
            return "loaded as written"
        return f"counted as {self.mapped_to}"


def unknown_values_sql(match: ProfileMatch, table: str) -> str | None:
    """(field, label, rows) for each unrecognised label in `table`, which carries the
    `_unknown__<field>` columns; None when the format has no field whose labels are
    checked (order exports)."""
    parts = [
        f"SELECT {lit(f.name)} AS field, {q(UNKNOWN_PREFIX + f.name)} AS label, count(*) AS n "
        f"FROM {table} WHERE {q(UNKNOWN_PREFIX + f.name)} IS NOT NULL GROUP BY ALL"
        for f in match.profile.fields
        if f.watched and f.name in match.columns
    ]
    if not parts:
        return None
    return " UNION ALL ".join(parts) + " ORDER BY field, n DESC, label"


def unknown_values(match: ProfileMatch, rows: list[tuple[str, str, int]]) -> list[UnknownValue]:
    """The result of `unknown_values_sql` with each label's header and outcome."""
    found = []
    for name, label, n in rows:
        f = match.profile.field(name)
        assert f is not None
        mapped, _ = classify(f, label)
        found.append(UnknownValue(name, match.columns[name], label, int(n), mapped))
    return found
