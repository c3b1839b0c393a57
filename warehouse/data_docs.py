"""GX Data Docs of the validation contract and of every load, built with GX's own renderers.

Each load stores its validation result as GX JSON in `load_batches.validation_result`
(`transforms.validation`), without importing GX. This module hands those results and the
expectation suites to an in-memory ("ephemeral") GX context and lets GX's SiteBuilder
render the static HTML site into a folder: an index of the suites and of every load's
validation, one page per suite, one page per load. docs/validation.md, "Data Docs".

`import great_expectations` costs about four seconds, so `refresh` (the nightly step)
first compares the loads and the rules with what the folder was built from (a small stamp
file) and returns without importing GX when nothing changed; when loads were added it
renders only their pages and the index.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from returnwatch.settings import Settings
from returnwatch.transforms.rules import RULES, suite_name

SITE_NAME = "returnwatch"
STAMP_FILE = ".returnwatch-data-docs.json"
DEFAULT_DIR_NAME = "data_docs"
_IDS_SQL = (
    "SELECT load_batch_id FROM load_batches WHERE validation_result IS NOT NULL "
    "AND loaded_at IS NOT NULL ORDER BY load_batch_id"
)


@dataclass(frozen=True)
class Load:
    """One row of `load_batches` that has a validation result."""

    load_batch_id: int
    kind: str
    shop_id: str
    file_name: str
    profile: str | None
    rows_read: int
    rows_quarantined: int
    loaded_at: dt.datetime

    @property
    def run_name(self) -> str:
        return f"load-{self.load_batch_id}"

    @property
    def run_time(self) -> dt.datetime:
        # A label in the page and its path; DuckDB's naive timestamp read as UTC, as GX
        # writes every run time.
        return self.loaded_at.replace(tzinfo=dt.UTC)

    @property
    def batch_name(self) -> str:
        return re.sub(r"[/\\\x00]", "_", self.file_name) or "file"


@dataclass
class DocsResult:
    """What a build did: where the site is, how many load pages it has and renders now."""

    index: Path
    loads: int
    rendered: int
    seconds: float
    unchanged: bool = False

    def line(self) -> str:
        if self.unchanged:
            return f"GX Data Docs up to date ({self.loads} loads): {self.index}"
        return (
            f"GX Data Docs: {self.loads} loads, {self.rendered} page(s) rendered in "
            f"{self.seconds:.1f}s: {self.index}"
        )


def docs_dir(settings: Settings) -> Path:
    """`[validation] docs_dir`, else `data_docs/` beside the published warehouse file."""
    configured = settings.validation.docs_dir
    return Path(configured) if configured else Path(settings.db).parent / DEFAULT_DIR_NAME


def page_path(docs: Path, load: Load) -> Path:
    """Where a load's validation page is (GX's layout: suite / run name / run time / batch)."""
    run_time = load.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
    return (
        docs / "validations" / suite_name(load.kind) / load.run_name / run_time
    ) / f"{load.batch_name}.html"


def loads(con: duckdb.DuckDBPyConnection, load_batch_id: int | None = None) -> list[Load]:
    """The loads with a validation result, oldest first (or the one asked for)."""
    sql = (
        "SELECT load_batch_id, kind, shop_id, file_name, profile, rows_read, rows_quarantined, "
        "loaded_at FROM load_batches WHERE validation_result IS NOT NULL AND loaded_at IS NOT NULL"
    )
    params: list[Any] = []
    if load_batch_id is not None:
        sql += " AND load_batch_id = ?"
        params.append(load_batch_id)
    rows = con.execute(sql + " ORDER BY load_batch_id", params).fetchall()
    return [
        Load(int(r[0]), r[1], r[2], r[3] or "", r[4], int(r[5] or 0), int(r[6] or 0), r[7])
        for r in rows
    ]


def load_page(
    con: duckdb.DuckDBPyConnection, settings: Settings, load_batch_id: int
) -> Path | None:
    """The page a load has (or will have, once the docs are built); None without a result."""
    found = loads(con, load_batch_id)
    return page_path(docs_dir(settings), found[0]) if found else None


def rules_fingerprint() -> str:
    """A hash of the suites' declaration: a changed rule re-renders every page."""
    declared = {
        kind: [[r.name, r.expectation, r.gx_kwargs(), r.description] for r in rules]
        for kind, rules in RULES.items()
    }
    text = json.dumps(declared, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(con: duckdb.DuckDBPyConnection, out: Path, *, incremental: bool = False) -> DocsResult:
    """Render the suites and every load's validation result into `out` with GX.

    `incremental`: when `out` was built before from the same rules, render only the pages
    of loads added since (and the index); otherwise every page.
    """
    started = time.perf_counter()
    out = Path(out).resolve()
    found = loads(con)
    stamp = _read_stamp(out)
    fingerprint = rules_fingerprint()
    built_before = set(stamp.get("loads", [])) if stamp.get("rules") == fingerprint else set()
    new = [load for load in found if load.load_batch_id not in built_before]
    full = not incremental or not built_before or not (out / "index.html").exists()
    rendered = _render(con, out, found, None if full else new)
    _write_stamp(out, fingerprint, found)
    return DocsResult(out / "index.html", len(found), rendered, time.perf_counter() - started)


def refresh(con: duckdb.DuckDBPyConnection, settings: Settings) -> DocsResult:
    """The nightly step: nothing (and no GX import) when no load and no rule changed since
    the last build; else the new loads' pages and the index."""
    started = time.perf_counter()
    out = docs_dir(settings).resolve()
    stamp = _read_stamp(out)
    ids = [row[0] for row in con.execute(_IDS_SQL).fetchall()]
    if (
        stamp.get("rules") == rules_fingerprint()
        and stamp.get("loads") == ids
        and (out / "index.html").exists()
    ):
        return DocsResult(
            out / "index.html", len(ids), 0, time.perf_counter() - started, unchanged=True
        )
    return build(con, out, incremental=True)


def _render(
    con: duckdb.DuckDBPyConnection, out: Path, found: list[Load], only: list[Load] | None
) -> int:
    """GX's SiteBuilder over an ephemeral context holding the suites and the results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from returnwatch.transforms.gx_suite import build_suite, read_validation_result

    # In-memory stores and our one site (GX's default ephemeral config adds a site in a
    # temporary folder and logs its creation).
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(out),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    for kind in RULES:
        context.suites.add(build_suite(kind))
    stored = dict(
        con.execute(
            "SELECT load_batch_id, validation_result FROM load_batches "
            "WHERE validation_result IS NOT NULL"
        ).fetchall()
    )
    keys = {}
    for load in found:
        result = read_validation_result(stored[load.load_batch_id])
        run_id = RunIdentifier(run_name=load.run_name, run_time=load.run_time)
        result.meta["run_id"] = run_id
        result.meta["batch_spec"] = {
            "data_asset_name": load.file_name,
            "load_batch_id": load.load_batch_id,
            "shop_id": load.shop_id,
            "profile": load.profile,
            "rows_read": load.rows_read,
            "rows_quarantined": load.rows_quarantined,
        }
        key = ValidationResultIdentifier(
            ExpectationSuiteIdentifier(name=suite_name(load.kind)), run_id, load.batch_name
        )
        context.validation_results_store.set(key, result)
        keys[load.load_batch_id] = key
    out.mkdir(parents=True, exist_ok=True)
    if only is None:
        context.build_data_docs(site_names=[SITE_NAME])
        return len(found) + len(RULES)
    context.build_data_docs(
        site_names=[SITE_NAME], resource_identifiers=[keys[load.load_batch_id] for load in only]
    )
    return len(only)


def _read_stamp(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_stamp(out: Path, fingerprint: str, found: list[Load]) -> None:
    data = {"rules": fingerprint, "loads": [load.load_batch_id for load in found]}
    (out / STAMP_FILE).write_text(json.dumps(data), encoding="utf-8")


def build_site(settings: Settings, out: Path | None = None) -> DocsResult:
    """`returnwatch validation docs`: every page, from the newest warehouse file, read-only.

    Raises LookupError when there is no warehouse yet, duckdb.Error when it cannot be read
    now (another process writing it).
    """
    from returnwatch.warehouse.inventory import inventory

    held = inventory(settings)
    if held.path is None:
        raise LookupError(
            f"db = {settings.db}: no warehouse there — import exports first "
            "(`returnwatch import FILES`), or set db to the warehouse file"
        )
    con = duckdb.connect(str(held.path), read_only=True)
    try:
        return build(con, out if out is not None else docs_dir(settings))
    finally:
        con.close()
