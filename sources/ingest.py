"""File → validation → warehouse: the import path every source goes through.

`import_file` wires the pieces: the file source prepares a UTF-8 CSV and its header, a
profile is matched, DuckDB stages and checks the rows (`transforms.staging`), the rule
counts become a GX validation result (`transforms.validation`), and the warehouse writes
it all in one transaction (`warehouse.load`). A refused file leaves the warehouse as it was.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from returnwatch.errors import short_error
from returnwatch.settings import Settings
from returnwatch.sources.files import (
    RefusedFile,
    SourceFile,
    expand_paths,
    open_source,
    read_csv_sql,
)
from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import ProfileMatch, UnknownFormat, match_profile
from returnwatch.transforms.staging import (
    SOURCE_PREFIX,
    checked_sql,
    flags_sql,
    hmac_macro_sql,
    loadable_sql,
    plain_candidates,
    raw_source_sql,
    repeated_keys_sql,
    secret_fields,
    secret_hashes_sql,
    source_sql,
    unique_key,
)
from returnwatch.transforms.unknown_values import (
    UnknownValue,
    unknown_values,
    unknown_values_sql,
)
from returnwatch.transforms.validation import missing_counts, rule_counts, validation_result
from returnwatch.warehouse.connection import joins_as_written
from returnwatch.warehouse.load import (
    TARGET_TABLES,
    BatchInfo,
    Staged,
    already_loaded,
    load_checked,
)

Status = Literal["loaded", "skipped", "refused"]
ProgressHook = Callable[[str], None]


@dataclass
class ImportResult:
    """What happened to one file; `line()` is the per-file summary the CLI prints."""

    path: Path
    status: Status
    message: str = ""
    profile: str | None = None
    profile_label: str | None = None
    kind: str | None = None
    encoding: str | None = None
    load_batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    seconds: float = 0.0
    unknown_values: tuple[UnknownValue, ...] = ()

    def line(self) -> str:
        if self.status == "refused":
            return f"{self.path.name}: REFUSED — {self.message}"
        if self.status == "skipped":
            return (
                f"{self.path.name}: already imported (batch {self.load_batch_id}), nothing changed"
            )
        return (
            f"{self.path.name}: {self.profile_label} [{self.encoding}] — rows read "
            f"{self.rows_read:,} = loaded {self.rows_loaded:,} + quarantined "
            f"{self.rows_quarantined:,} + exact duplicates skipped {self.rows_duplicate:,} "
            f"({self.rows_inserted:,} new, {self.rows_updated:,} updated) in {self.seconds:.1f}s"
            + "".join(f"; {u.line()}" for u in self.unknown_values)
        )


def _refuse_incomplete(path: Path, match: ProfileMatch) -> None:
    if not match.complete:
        raise RefusedFile(
            path,
            f"looks like a {match.profile.label} but lacks required column(s) "
            f"{', '.join(match.missing_required)}",
        )


STAGE = "rw_stage"


@contextmanager
def staging_area(con: duckdb.DuckDBPyConnection) -> Iterator[str]:
    """A scratch database file beside the warehouse for a file's staged rows; yields the
    schema prefix to create them under ("rw_stage." or, for an in-memory warehouse, "").

    Staged tables of a big file outgrow the memory limit: as temp tables they spill
    uncompressed to DuckDB's temp files, as tables of an attached file they are written
    compressed once and read back cheaply. The file is removed afterwards.
    """
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = row[0][0] if row else None
    if not path:
        yield ""
        return
    folder = Path(tempfile.mkdtemp(prefix=".stage-", dir=Path(path).parent))
    stage_file_ = folder / "stage.duckdb"
    con.execute(f"ATTACH {lit(stage_file_)} AS {STAGE}")
    try:
        yield STAGE + "."
    finally:
        try:
            con.execute(f"DETACH {STAGE}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def stage_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    match: ProfileMatch,
    shop_id: str,
    say: ProgressHook = lambda _stage: None,
    prefix: str = "",
) -> str:
    """Read and check a file into the table `<prefix>_checked`; returns its name.

    Without a prefix both staged tables are temp tables.
    """
    kind = "TABLE" if prefix else "TEMP TABLE"
    con.execute(hmac_macro_sql(settings.pii_key()))
    csv = read_csv_sql(src)
    hashes = secret_hashes_sql(match, csv)
    key = unique_key(match)
    source = f"({source_sql(match, csv, '_hashes' if hashes is not None else None)})"
    any_repeated = True
    try:
        if hashes is not None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _hashes AS {hashes}")
        if key is not None:
            # The ids alone first (one column read): when none repeats, which is nearly
            # always, `_checked` takes the staged rows as they are, without grouping.
            ids = f"(SELECT {q(match.columns[key])} AS {q(SOURCE_PREFIX + key)} FROM {csv})"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _repeated_keys AS {repeated_keys_sql(match, ids)}"
            )
            any_repeated = con.execute("SELECT count(*) FROM _repeated_keys").fetchone()[0] > 0
        # Staged first, not streamed on into `_checked`: after row_number() DuckDB runs
        # the rest of the statement on one thread.
        with joins_as_written(con):
            con.execute(f"CREATE OR REPLACE {kind} {prefix}_source AS {source}")
        source = f"{prefix}_source"
        say("validating")
        con.execute(
            f"CREATE OR REPLACE {kind} {prefix}_checked AS "
            + checked_sql(
                match,
                source,
                shop_id,
                repeated_keys="_repeated_keys" if key is not None else None,
                any_repeated=any_repeated,
            )
        )
    except duckdb.Error as exc:
        raise _unreadable(src, exc) from exc
    finally:
        con.execute("DROP TABLE IF EXISTS _hashes")
        con.execute("DROP TABLE IF EXISTS _repeated_keys")
        con.execute(f"DROP TABLE IF EXISTS {prefix}_source")
    return f"{prefix}_checked"


def stage_direct(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    match: ProfileMatch,
    shop_id: str,
) -> Staged | None:
    """Check a file without staging its rows; None when an id repeats in it.

    Nearly every export has each id once, and then no row needs grouping with another:
    one parallel pass checks every row and keeps, per row, only a hash of its id, its
    empty rule columns, which checked columns needed cleaning and, for a row breaking a
    rule, its values (`_flags`); the load then reads the valid rows from the file again,
    straight into the warehouse, without checking them again: it leaves the bad rows out
    by their id hash and skips the cleaners no valid row needed. At 10M lines this writes
    the rows once instead of three times. A file whose ids repeat
    (exact duplicates, or a uniqueness violation) goes through `stage_file`.
    """
    con.execute(hmac_macro_sql(settings.pii_key()))
    csv = read_csv_sql(src)
    source = source_sql(match, csv, numbered=False, secret_mode="normalized")
    checked = checked_sql(match, f"({source})", shop_id, any_repeated=False, dirty_mask=True)
    has_secret = bool(secret_fields(match))
    # Rows may be replaced only where the table has rows: then the ids' range is kept, so
    # the test for ids already loaded reads only the parts of the table holding that
    # range (抖店 ids grow with time), not every id of the shop's history.
    target = TARGET_TABLES[match.profile.kind]
    has_rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)").fetchone()
    keep_key = bool(has_rows and has_rows[0])
    key_range = ", min(_key), max(_key)" if keep_key else ", NULL, NULL"
    try:
        flags = flags_sql(match, checked, keep_key=keep_key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _flags AS {flags}")
        # The distinct ids counted by grouping, not count(DISTINCT): 0.55 → 0.4 s at 10M.
        row = con.execute(f"""
            SELECT count(*), (SELECT count(*) FROM (SELECT _kh FROM _flags GROUP BY _kh)),
                   count(_raw), coalesce(bit_or(_dirty) FILTER (WHERE _raw IS NULL), 0){key_range}
            FROM _flags
        """).fetchone()
        rows, distinct_ids, quarantined, dirty = (int(v) for v in row[:4])
        lowest, highest = row[4:]
        if distinct_ids < rows:  # an id repeats (or two are missing), or a hash collides
            con.execute("DROP TABLE _flags")
            return None
        if quarantined:
            # Only with bad rows: binding the checking statement alone costs 20-40 ms, a
            # quarter of a nightly file's import when nothing is quarantined.
            bad_source = raw_source_sql(match, "_flags")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _bad AS "
                + checked_sql(
                    match, f"({bad_source})", shop_id, any_repeated=False, read_secret=False
                )
            )
        missing = missing_counts(con, match.profile.kind, "_flags")
        unknown = _unknown_values(con, match, "_flags")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _valid_ids AS SELECT _kh FROM _flags WHERE _raw IS NULL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _bad_ids AS SELECT _kh FROM _flags WHERE _raw IS NOT NULL"
        )
        if has_secret:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _hashes AS "
                "SELECT _secret, rw_hmac(_secret) AS _hash "
                "FROM (SELECT DISTINCT _secret FROM _flags WHERE _secret IS NOT NULL)"
            )
        con.execute("DROP TABLE _flags")
    except duckdb.Error as exc:
        raise _unreadable(src, exc) from exc
    valid_source = source_sql(match, csv, "_hashes" if has_secret else None, numbered=False)
    key = unique_key(match)
    # The id is always cleaned: a bad row's id, cleaned, is how the load leaves it out.
    fields = plain_candidates(match)
    plain = frozenset(f for i, f in enumerate(fields) if not dirty >> i & 1 and f != key)
    valid = loadable_sql(match, f"({valid_source})", shop_id, plain)
    if quarantined:
        # Ids are unique here, so a row's id hash tells the rows the checking pass found bad.
        valid = f"{valid} WHERE hash({q(key)}) NOT IN (SELECT _kh FROM _bad_ids)"
    return Staged(
        rows_read=rows,
        distinct=rows,
        quarantined=quarantined,
        bad="_bad" if quarantined else None,
        valid=f"({valid})",
        valid_ids="_valid_ids",
        missing=missing,
        id_range=(lowest, highest) if lowest is not None else None,
        unknown=unknown,
    )


def stage_grouped(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    match: ProfileMatch,
    shop_id: str,
    prefix: str,
    say: ProgressHook,
) -> Staged:
    """`stage_file` for the load: every checked row staged, exact duplicates grouped."""
    checked = stage_file(con, settings, src, match, shop_id, say, prefix)
    totals = con.execute(f"""
        SELECT coalesce(sum(_copies), 0), count(*), count(*) FILTER (WHERE len(_violations) > 0)
        FROM {checked}
    """).fetchone()
    rows_read, distinct, quarantined = (int(v) for v in totals)
    return Staged(
        rows_read=rows_read,
        distinct=distinct,
        quarantined=quarantined,
        bad=f"(SELECT * FROM {checked} WHERE len(_violations) > 0)",
        valid=f"(SELECT * FROM {checked} WHERE len(_violations) = 0)",
        valid_ids=None,
        missing=None,
        checked=checked,
        unknown=_unknown_values(con, match, checked),
    )


def _unknown_values(
    con: duckdb.DuckDBPyConnection, match: ProfileMatch, table: str
) -> tuple[UnknownValue, ...]:
    """The labels of a staged file that returnwatch does not recognise (see
    `transforms.unknown_values`); one scan of mostly-NULL columns, none for order files."""
    sql = unknown_values_sql(match, table)
    if sql is None:
        return ()
    return tuple(unknown_values(match, con.execute(sql).fetchall()))


class NotUtf8(Exception):
    """DuckDB met bytes that are not UTF-8 past the part of the file Python looked at."""


def _unreadable(src: SourceFile, exc: duckdb.Error) -> Exception:
    if "Invalid unicode" in str(exc) and src.encoding in ("utf-8", "utf-8-sig"):
        return NotUtf8()
    return RefusedFile(src.path, f"unreadable CSV: {short_error(exc, lines=3, limit=None)}")


def import_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    path: Path,
    *,
    shop_id: str | None = None,
    source: str = "file",
    progress: ProgressHook | None = None,
) -> ImportResult:
    """Import one file; never raises for a bad file (it comes back `refused`)."""
    started = time.perf_counter()
    path = Path(path)
    say = progress or (lambda _stage: None)
    try:
        try:
            with open_source(path) as src:
                result = _import_source(con, settings, src, shop_id, source, say)
        except NotUtf8:
            # Python only looked at the start of the file; DuckDB met a GBK byte later.
            with open_source(path, encoding="gb18030") as src:
                result = _import_source(con, settings, src, shop_id, source, say)
    except (RefusedFile, NotUtf8) as exc:
        reason = exc.reason if isinstance(exc, RefusedFile) else "neither UTF-8 nor GBK text"
        return ImportResult(path, "refused", message=reason, seconds=time.perf_counter() - started)
    result.seconds = time.perf_counter() - started
    return result


def _import_source(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    shop_id: str | None,
    source: str,
    say: ProgressHook,
) -> ImportResult:
    started_at = dt.datetime.now()
    path = src.path
    batch = already_loaded(con, src.checksum)
    if batch is not None:
        return ImportResult(path, "skipped", load_batch_id=batch)
    try:
        match = match_profile(src.header)
    except UnknownFormat as exc:
        raise RefusedFile(path, str(exc)) from exc
    _refuse_incomplete(path, match)
    kind = match.profile.kind
    shop = shop_id or settings.shop_id
    info = BatchInfo(source, path.name, str(path.resolve()), src.checksum, src.encoding, started_at)
    say("reading")
    with staging_area(con) as prefix:
        try:
            staged = None
            if unique_key(match) is not None:
                staged = stage_direct(con, settings, src, match, shop)
            if staged is None:
                staged = stage_grouped(con, settings, src, match, shop, prefix, say)
            say("validating")
            element_count, counts = rule_counts(
                con,
                kind,
                staged.checked or staged.bad,
                element_count=staged.distinct,
                missing=staged.missing,
            )
            meta = {"file_name": path.name, "profile": match.profile.name}
            validation = validation_result(kind, element_count, counts, meta)
            say("loading")
            try:
                loaded = load_checked(con, match, staged, info, validation)
            except duckdb.Error as exc:
                # The direct load reads the file itself: its CSV errors are the file's.
                if "CSV Error" not in str(exc):
                    raise
                raise _unreadable(src, exc) from exc
        finally:
            for table in ("_bad", "_bad_ids", "_valid_ids", "_flags", "_hashes", f"{prefix}_source",
                          f"{prefix}_checked"):  # fmt: skip
                con.execute(f"DROP TABLE IF EXISTS {table}")
    return ImportResult(
        path,
        "loaded",
        profile=match.profile.name,
        profile_label=match.profile.label,
        kind=kind,
        encoding=src.encoding,
        load_batch_id=loaded.load_batch_id,
        rows_read=loaded.rows_read,
        rows_loaded=loaded.rows_loaded,
        rows_inserted=loaded.rows_inserted,
        rows_updated=loaded.rows_updated,
        rows_quarantined=loaded.rows_quarantined,
        rows_duplicate=loaded.rows_duplicate,
        unknown_values=staged.unknown,
    )


def import_paths(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    paths: Iterable[Path],
    *,
    shop_id: str | None = None,
) -> list[ImportResult]:
    """Import files and folders; one bad file never stops the others."""
    return [import_file(con, settings, path, shop_id=shop_id) for path in expand_paths(list(paths))]
