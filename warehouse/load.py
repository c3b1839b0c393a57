"""Writing one checked file into the warehouse, all or nothing.

The batch record, its quarantined rows, the dirty days and the upsert commit in one
DuckDB transaction: a load that fails (or is killed) half-way leaves the warehouse as
it was. Rows are upserted by their natural key, so a re-export of the same month with
newer statuses replaces rows instead of duplicating them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from dataclasses import dataclass
from typing import Any

import duckdb

from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import LOADED_FIELDS, PLACEHOLDERS, TABLE_KEYS, ProfileMatch
from returnwatch.transforms.rules import RULES, Rule
from returnwatch.transforms.staging import json_path, load_value_sql, trim_sql
from returnwatch.transforms.unknown_values import UnknownValue
from returnwatch.warehouse.connection import joins_as_written

TARGET_TABLES = {"orders": "order_lines", "refunds": "refund_records"}
# Fields whose change moves a row between days or slices, so its days must be recomputed.
_RATE_FIELDS = {
    "orders": ("sku_id", "province", "product_id", "category", "carrier", "customer_id"),
    "refunds": (
        "refund_type", "sku_id", "province", "line_id", "order_id", "product_id", "carrier",
        "reason",
    ),
}  # fmt: skip
_DAY_FIELD = {"orders": "paid_at", "refunds": "requested_at"}
# Fault injection for the "killed half-way" test: the process dies inside the transaction.
CRASH_ENV = "RETURNWATCH_TEST_CRASH_DURING_LOAD"


@dataclass(frozen=True)
class LoadCounts:
    load_batch_id: int
    rows_read: int
    rows_loaded: int
    rows_inserted: int
    rows_updated: int
    rows_quarantined: int
    rows_duplicate: int


@dataclass(frozen=True)
class BatchInfo:
    """What load_batches records about where the rows came from."""

    source: str
    file_name: str
    file_path: str | None
    checksum: str
    encoding: str | None
    started_at: dt.datetime


@dataclass(frozen=True)
class Staged:
    """A checked file as the load takes it: counts, and SQL relations over what staging kept.

    `bad` holds one checked row per quarantined row (None when no row is quarantined),
    `valid` the checked rows breaking no rule (it may read the file again). `valid_ids`,
    when given, is a table of the valid rows' id hashes (`_kh`), a cheap first test of
    whether any row is already loaded.
    `missing` are the rules' null counts when staging counted them (else they are counted
    over `checked`, every checked row). `id_range`, when given, holds the lowest and
    highest id of the file's rows. `unknown` are the labels staging did not recognise.
    """

    rows_read: int
    distinct: int
    quarantined: int
    bad: str | None
    valid: str
    valid_ids: str | None = None
    missing: dict[str, int] | None = None
    checked: str | None = None
    id_range: tuple[str, str] | None = None
    unknown: tuple[UnknownValue, ...] = ()


def already_loaded(con: duckdb.DuckDBPyConnection, checksum: str) -> int | None:
    """The batch id that already loaded a file with these exact bytes, if any."""
    row = con.execute(
        "SELECT load_batch_id FROM load_batches WHERE checksum = ? ORDER BY load_batch_id LIMIT 1",
        [checksum],
    ).fetchone()
    return int(row[0]) if row else None


def _reason_sql(match: ProfileMatch) -> tuple[str, str]:
    """SQL for a quarantined row's readable reason and the column of its first broken rule.

    A required value missing because the file wrote a placeholder (`-`, `无` …) says so:
    `refund_id is missing (placeholder '-')`.
    """
    rules = RULES[match.profile.kind]
    describe = " ".join(f"WHEN {lit(r.name)} THEN {_describe_sql(match, r)}" for r in rules)
    reason = f"array_to_string(list_transform(_violations, lambda v: CASE v {describe} END), '; ')"
    columns = " ".join(f"WHEN {lit(r.name)} THEN {lit(r.column.split('__')[0])}" for r in rules)
    return reason, f"CASE _violations[1] {columns} END"


def _describe_sql(match: ProfileMatch, rule: Rule) -> str:
    value = f"coalesce(' (value: ' || {q(rule.column)}::VARCHAR || ')', '')"
    described = f"{lit(rule.description)} || {value}"
    header = match.columns.get(rule.column)
    if rule.expectation != "expect_column_values_to_not_be_null" or header is None:
        return described
    written = trim_sql(f"json_extract_string(_raw_row, {lit(json_path(header))})")
    placeholders = ", ".join(lit(p) for p in PLACEHOLDERS)
    quote = lit("'")
    placeholder = f"' (placeholder ' || {quote} || {written} || {quote} || ')'"
    return (
        f"CASE WHEN {written} IN ({placeholders}) "
        f"THEN {lit(rule.description)} || {placeholder} ELSE {described} END"
    )


def _mark_dirty_days(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    target: str,
    staged: str,
    batch_id: int,
    *,
    all_new: bool = False,
) -> None:
    """Record every day whose rates this load can change.

    A row counts when it is new or a rate-relevant field changed (its old day too). An
    order-line load also dirties the request days of the refunds it resolves
    (`_refund_days_of_lines`).
    `all_new`: the staged rows are known to be new (nothing to compare against).
    """
    key = TABLE_KEYS[kind]
    day = _DAY_FIELD[kind]
    changed_if = " OR ".join(
        [f"t.{day}::DATE IS DISTINCT FROM s.{day}::DATE"]
        + [f"t.{f} IS DISTINCT FROM s.{f}" for f in _RATE_FIELDS[kind]]
    )
    if all_new:
        # Nothing to compare, nothing materialised: a first load of 10M lines spent 0.7 s
        # copying them into `_changed`.
        changed = f"(SELECT shop_id, {key} AS key, order_id FROM {staged})"
        days = [f"SELECT shop_id, {day}::DATE AS day FROM {staged}"]
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _changed AS
            SELECT s.shop_id, s.{key} AS key, s.order_id, s.{day}::DATE AS new_day,
                   t.{day}::DATE AS old_day
            FROM {staged} AS s
            LEFT JOIN {target} AS t ON t.shop_id = s.shop_id AND t.{key} = s.{key}
            WHERE t.{key} IS NULL OR {changed_if}
        """)
        changed = "_changed"
        days = [
            "SELECT shop_id, new_day AS day FROM _changed",
            "SELECT shop_id, old_day FROM _changed WHERE old_day IS NOT NULL",
        ]
    if kind == "orders":
        days += _refund_days_of_lines(con, changed)
    con.execute(f"""
        INSERT INTO dirty_days
        SELECT DISTINCT shop_id, day, {batch_id}, now()::TIMESTAMP
        FROM ({" UNION ".join(days)}) AS d
        WHERE day IS NOT NULL
    """)
    con.execute("DROP TABLE IF EXISTS _changed")


def _refund_days_of_lines(con: duckdb.DuckDBPyConnection, changed: str) -> list[str]:
    """SELECTs of the request days of the refunds the changed order lines resolve: every
    refund of a changed line (a return counts under its line's SKU, product, category,
    carrier and buyer, whatever its own province: issue 17's slices), and the refunds
    without a province of a changed order (their region may come from the order).

    Constant bounds on the ids let the scan of the refunds skip the row groups whose ids
    all lie outside them: ids grow with time, and a night's order lines resolve recent
    refunds, not a year of them.
    """
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM refund_records LIMIT 1)").fetchone()[0]:
        return []  # a first load of orders: no refund to resolve
    bounds = con.execute(
        f"SELECT min(key), max(key), min(order_id), max(order_id) FROM {changed}"
    ).fetchone()
    regionless = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM refund_records WHERE province IS NULL LIMIT 1)"
    ).fetchone()[0]
    # Two equi-joins, not one join ON (line OR order): DuckDB turns an OR condition into
    # a nested loop (seconds for a month of orders against a month of refunds).
    joins = [("line_id", "key", bounds[:2], "TRUE")]
    if regionless:
        joins.append(("order_id", "order_id", bounds[2:], "r.province IS NULL"))
    days = []
    for refund_col, changed_col, (lowest, highest), only in joins:
        if lowest is None:
            continue
        days.append(f"""
            SELECT r.shop_id, r.requested_at::DATE
            FROM refund_records AS r
            JOIN {changed} AS c
              ON c.shop_id = r.shop_id AND r.{refund_col} = c.{changed_col}
            WHERE {only}
              AND r.{refund_col} BETWEEN {lit(lowest)} AND {lit(highest)}
        """)
    return days


def _keep_absent_columns(
    con: duckdb.DuckDBPyConnection, match: ProfileMatch, target: str, staged: str
) -> None:
    """A column this file's format lacks keeps the value an earlier load gave it.

    Sources overlap without being equal: the 抖店 API has no 同意售后申请时间, the 售后
    export no refund quantity. Replacing whole rows would blank whatever the newer
    source does not carry; a value the file has, even empty, still replaces.
    """
    kind = match.profile.kind
    key = TABLE_KEYS[kind]
    absent = [
        f
        for f in LOADED_FIELDS[kind]
        if f != "shop_id" and f.removesuffix("_raw") not in match.columns
    ]
    if not absent:
        return
    assignments = ", ".join(f"{q(f)} = t.{q(f)}" for f in absent)
    con.execute(f"""
        UPDATE {staged} AS s SET {assignments}
        FROM {target} AS t
        WHERE t.shop_id = s.shop_id AND t.{key} = s.{key}
    """)


def load_checked(
    con: duckdb.DuckDBPyConnection,
    match: ProfileMatch,
    staged: Staged,
    info: BatchInfo,
    validation: dict[str, Any],
) -> LoadCounts:
    """Write the checked rows of one file; everything commits together or not at all."""
    kind = match.profile.kind
    target = TARGET_TABLES[kind]
    fields = LOADED_FIELDS[kind]
    reason_sql, column_sql = _reason_sql(match)
    values = ", ".join(f"{load_value_sql(match.profile, f)} AS {q(f)}" for f in fields)
    valid = f"SELECT {values} FROM {staged.valid}"

    con.execute("BEGIN TRANSACTION")
    try:
        batch_id = int(con.execute("SELECT nextval('load_batch_id_seq')").fetchone()[0])
        if staged.bad is not None:
            con.execute(f"""
                INSERT INTO quarantine
                SELECT {batch_id}, shop_id, {lit(info.file_name)}, {lit(kind)}, _row,
                       _violations[1], {column_sql}, {reason_sql}, _raw_row,
                       now()::TIMESTAMP
                FROM {staged.bad}
            """)
        if _may_replace(con, kind, staged):
            updated = _replace_rows(con, match, valid, batch_id)
        else:
            with joins_as_written(con):
                _insert_rows(con, match, f"({valid})", batch_id)
            updated = 0
            # Every row is new: its day, and the days of refunds its region resolves.
            new_rows = f"(SELECT * FROM {target} WHERE load_batch_id = {batch_id})"
            _mark_dirty_days(con, kind, target, new_rows, batch_id, all_new=True)
        loaded = staged.distinct - staged.quarantined
        counts = LoadCounts(
            load_batch_id=batch_id,
            rows_read=staged.rows_read,
            rows_loaded=loaded,
            rows_inserted=loaded - updated,
            rows_updated=updated,
            rows_quarantined=staged.quarantined,
            rows_duplicate=staged.rows_read - staged.distinct,
        )
        bad_shops = f"UNION ALL SELECT shop_id FROM {staged.bad}" if staged.bad is not None else ""
        shop = con.execute(f"""
            SELECT min(shop_id) FROM (
                SELECT shop_id FROM {target} WHERE load_batch_id = {batch_id}
                {bad_shops}
            )
        """).fetchone()[0]
        _record_batch(con, counts, match, info, validation, shop)
        _record_unknown_values(con, batch_id, shop, match.profile.kind, staged.unknown)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def _may_replace(con: duckdb.DuckDBPyConnection, kind: str, staged: Staged) -> bool:
    """Whether any valid row may already be in the warehouse (so rows must be replaced).

    The id hashes answer without reading the file again; a hash collision only sends the
    load down the exact path. Without them (or when the table is empty) it is the same
    question the exact path asks anyway.
    """
    target = TARGET_TABLES[kind]
    key = TABLE_KEYS[kind]
    if staged.valid_ids is None:
        row = con.execute(f"""
            SELECT count(*) FROM {staged.valid} AS s
            JOIN {target} AS t ON t.shop_id = s.shop_id AND t.{key} = s.{key}
        """).fetchone()
    else:
        # An id outside the file's range cannot match; the constant bounds let DuckDB skip
        # the row groups whose ids all lie outside it (a year's history: 0.45 s -> ~0).
        in_range = ""
        if staged.id_range is not None:
            lowest, highest = staged.id_range
            in_range = f"{key} BETWEEN {lit(lowest)} AND {lit(highest)} AND "
        row = con.execute(f"""
            SELECT count(*) FROM {target}
            WHERE {in_range}hash({key}) IN (SELECT _kh FROM {staged.valid_ids})
        """).fetchone()
    return int(row[0]) > 0


def _insert_rows(
    con: duckdb.DuckDBPyConnection, match: ProfileMatch, rows: str, batch_id: int
) -> None:
    fields = LOADED_FIELDS[match.profile.kind]
    column_list = ", ".join(q(f) for f in fields)
    con.execute(f"""
        INSERT INTO {TARGET_TABLES[match.profile.kind]}
               ({column_list}, source_format, load_batch_id, loaded_at)
        SELECT {column_list}, {lit(match.profile.name)}, {batch_id}, now()::TIMESTAMP
        FROM {rows}
    """)


def _replace_rows(
    con: duckdb.DuckDBPyConnection, match: ProfileMatch, valid: str, batch_id: int
) -> int:
    """Upsert by natural key: the rows already loaded are replaced; returns how many."""
    kind = match.profile.kind
    target = TARGET_TABLES[kind]
    key = TABLE_KEYS[kind]
    with joins_as_written(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _valid AS {valid}")
    try:
        updated = int(
            con.execute(f"""
                SELECT count(*) FROM _valid AS s
                JOIN {target} AS t ON t.shop_id = s.shop_id AND t.{key} = s.{key}
            """).fetchone()[0]
        )
        if updated:
            _keep_absent_columns(con, match, target, "_valid")
        _mark_dirty_days(con, kind, target, "_valid", batch_id)
        if updated:
            con.execute(f"""
                DELETE FROM {target} AS t USING _valid AS s
                WHERE t.shop_id = s.shop_id AND t.{key} = s.{key}
            """)
        if os.environ.get(CRASH_ENV) == "after_delete":
            os.kill(os.getpid(), signal.SIGKILL)
        _insert_rows(con, match, "_valid", batch_id)
    finally:
        con.execute("DROP TABLE IF EXISTS _valid")
    return updated


def _record_batch(
    con: duckdb.DuckDBPyConnection,
    counts: LoadCounts,
    match: ProfileMatch,
    info: BatchInfo,
    validation: dict[str, Any],
    shop_id: str | None,
) -> None:
    now = dt.datetime.now()
    con.execute(
        """
        INSERT INTO load_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                                         ?, ?, ?)
        """,
        [
            counts.load_batch_id,
            shop_id,
            info.source,
            info.file_name,
            info.file_path,
            info.checksum,
            match.profile.kind,
            match.profile.name,
            info.encoding,
            counts.rows_read,
            counts.rows_loaded,
            counts.rows_inserted,
            counts.rows_updated,
            counts.rows_quarantined,
            counts.rows_duplicate,
            bool(validation["success"]),
            json.dumps(validation, ensure_ascii=False, default=str),
            info.started_at,
            now,
            (now - info.started_at).total_seconds(),
        ],
    )


def _record_unknown_values(
    con: duckdb.DuckDBPyConnection,
    batch_id: int,
    shop_id: str | None,
    kind: str,
    unknown: tuple[UnknownValue, ...],
) -> None:
    if not unknown:
        return
    now = dt.datetime.now()
    con.executemany(
        "INSERT INTO load_unknown_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [batch_id, shop_id, kind, u.field, u.column, u.value, u.rows, u.mapped_to, now]
            for u in unknown
        ],
    )


def unknown_values_since(
    con: duckdb.DuckDBPyConnection, since: dt.datetime, shop_id: str | None = None
) -> list[tuple[str, UnknownValue]]:
    """Each unrecognised label loaded since `since` (a night's run start), with the file
    it came from: what the night's data-health notice (for now the run summary) names."""
    rows = con.execute(
        """
        SELECT b.file_name, u.field_name, u.column_name, u.label, u.row_count, u.mapped_to
        FROM load_unknown_values AS u JOIN load_batches AS b USING (load_batch_id)
        WHERE u.loaded_at >= ? AND (? IS NULL OR u.shop_id = ?)
        ORDER BY u.load_batch_id, u.field_name, u.row_count DESC, u.label
        """,
        [since, shop_id, shop_id],
    ).fetchall()
    return [(r[0], UnknownValue(r[1], r[2], r[3], int(r[4]), r[5])) for r in rows]
