"""File → validation → warehouse: the import path every source goes through.

`import_file` wires the pieces: the file source prepares a UTF-8 CSV and its header, a
profile is matched, DuckDB stages and checks the rows (`transforms.staging`), the rule
counts become a GX validation result (`transforms.validation`), and the warehouse writes
it all in one transaction (`warehouse.load`). A refused file leaves the warehouse as it was.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
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
from returnwatch.transforms.staging import checked_sql, hmac_macro_sql, source_sql
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


def stage_file(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    src: SourceFile,
    match: ProfileMatch,
    shop_id: str,
    say: ProgressHook = lambda _stage: None,
) -> str:
    """Read and check a file into the temp table `_checked`; returns its name."""
    con.execute(hmac_macro_sql(settings.pii_key()))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _source AS " + source_sql(match, read_csv_sql(src))
        )
    except duckdb.Error as exc:
        raise RefusedFile(src.path, f"unreadable CSV: {_first_lines(exc)}") from exc
    say("validating")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _checked AS " + checked_sql(match, "_source", shop_id)
    )
    con.execute("DROP TABLE _source")
    return "_checked"


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
            stage_file(con, settings, src, match, shop_id or settings.shop_id, say)
            element_count, counts = rule_counts(con, match.profile.kind, "_checked")
            validation = validation_result(
                match.profile.kind,
                element_count,
                counts,
                {"file_name": path.name, "profile": match.profile.name},
            )
            say("loading")
            info = BatchInfo(
                source, path.name, str(path.resolve()), src.checksum, src.encoding, started_at
            )
            try:
                counts_ = load_checked(con, match, "_checked", info, validation)
            finally:
                con.execute("DROP TABLE IF EXISTS _checked")
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
