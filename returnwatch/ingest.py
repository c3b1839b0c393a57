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

from returnwatch.settings import Settings
from returnwatch.sources.files import (
    RefusedFile,
    SourceFile,
    expand_paths,
    open_source,
    read_csv_sql,
)
from returnwatch.transforms.profiles import ProfileMatch, UnknownFormat, match_profile
from returnwatch.transforms.staging import (
    SOURCE_PREFIX,
    checked_sql,
    hmac_macro_sql,
    q,
    repeated_keys_sql,
    secret_hashes_sql,
    source_sql,
    unique_key,
)
from returnwatch.transforms.validation import rule_counts, validation_result
from returnwatch.warehouse.load import BatchInfo, already_loaded, load_checked

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
    con.execute(f"ATTACH '{str(stage_file_).replace(chr(39), chr(39) * 2)}' AS {STAGE}")
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
        raise RefusedFile(src.path, f"unreadable CSV: {_first_lines(exc)}") from exc
    finally:
        con.execute("DROP TABLE IF EXISTS _hashes")
        con.execute("DROP TABLE IF EXISTS _repeated_keys")
        con.execute(f"DROP TABLE IF EXISTS {prefix}_source")
    return f"{prefix}_checked"


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
    started_at = dt.datetime.now()
    path = Path(path)
    say = progress or (lambda _stage: None)
    try:
        with open_source(path) as src:
            batch = already_loaded(con, src.checksum)
            if batch is not None:
                return ImportResult(path, "skipped", load_batch_id=batch)
            try:
                match = match_profile(src.header)
            except UnknownFormat as exc:
                raise RefusedFile(path, str(exc)) from exc
            _refuse_incomplete(path, match)
            say("reading")
            with staging_area(con) as prefix:
                checked = f"{prefix}_checked"
                try:
                    stage_file(con, settings, src, match, shop_id or settings.shop_id, say, prefix)
                    element_count, counts = rule_counts(con, match.profile.kind, checked)
                    validation = validation_result(
                        match.profile.kind,
                        element_count,
                        counts,
                        {"file_name": path.name, "profile": match.profile.name},
                    )
                    say("loading")
                    info = BatchInfo(
                        source,
                        path.name,
                        str(path.resolve()),
                        src.checksum,
                        src.encoding,
                        started_at,
                    )
                    counts_ = load_checked(con, match, checked, info, validation)
                finally:
                    con.execute(f"DROP TABLE IF EXISTS {prefix}_source")
                    con.execute(f"DROP TABLE IF EXISTS {checked}")
    except RefusedFile as exc:
        return ImportResult(
            path, "refused", message=exc.reason, seconds=time.perf_counter() - started
        )
    return ImportResult(
        path,
        "loaded",
        profile=match.profile.name,
        profile_label=match.profile.label,
        kind=match.profile.kind,
        encoding=src.encoding,
        load_batch_id=counts_.load_batch_id,
        rows_read=counts_.rows_read,
        rows_loaded=counts_.rows_loaded,
        rows_inserted=counts_.rows_inserted,
        rows_updated=counts_.rows_updated,
        rows_quarantined=counts_.rows_quarantined,
        rows_duplicate=counts_.rows_duplicate,
        seconds=time.perf_counter() - started,
    )


def _first_lines(exc: Exception, n: int = 3) -> str:
    return " | ".join(line.strip() for line in str(exc).splitlines()[:n] if line.strip())


def import_paths(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    paths: Iterable[Path],
    *,
    shop_id: str | None = None,
) -> list[ImportResult]:
    """Import files and folders; one bad file never stops the others."""
    return [import_file(con, settings, path, shop_id=shop_id) for path in expand_paths(list(paths))]
