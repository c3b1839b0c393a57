"""GX Data Docs from a real warehouse: the suites and each load's validation result,
rendered by Great Expectations' own SiteBuilder into static HTML."""

from __future__ import annotations

import html
import re

import pytest
from typer.testing import CliRunner

from returnwatch.cli import app
from returnwatch.sources.ingest import import_file
from returnwatch.warehouse import data_docs
from returnwatch.warehouse.publish import publish

from ..exports import ORDER_HEADER, write_csv

pytestmark = pytest.mark.slow


def text_of(path) -> str:
    """A page's words, without its scripts, styles and tags."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(script|style).*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def two_loads(settings, warehouse, orders_csv, refunds_csv, tmp_path):
    """A clean refunds load and an orders load with two quarantined rows."""
    bad = write_csv(
        tmp_path / "orders_bad.csv",
        ORDER_HEADER,
        [
            ["O7", "L7", "S1", "衬衫", 1, "99.50", "2026-08-05 10:00:00", "", "", "", "c7"],
            ["O8", "L8", "S1", "衬衫", 1, "99.50", "2026-08-05 25:61:00", "", "", "", "c8"],
            ["O9", "L9", "S1", "衬衫", 1, "abc", "2026-08-05 11:00:00", "", "", "", "c9"],
        ],
    )
    results = [import_file(warehouse, settings, path) for path in (refunds_csv, bad)]
    assert [r.status for r in results] == ["loaded", "loaded"]
    assert [r.rows_quarantined for r in results] == [0, 2]
    publish(settings, warehouse)
    return results


def test_validation_docs_builds_the_suites_and_every_load(
    settings, warehouse, two_loads, tmp_path, monkeypatch
):
    warehouse.close()  # the command opens the file read-only, as another process would
    monkeypatch.setenv("RETURNWATCH_DB", str(settings.db))
    out = tmp_path / "site"

    result = CliRunner().invoke(app, ["validation", "docs", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("GX Data Docs: 2 loads, 4 page(s) rendered in ")
    assert result.stdout.strip().endswith(f"{out.resolve()}/index.html")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="expectations/returnwatch_orders.html"' in index
    assert 'href="expectations/returnwatch_refunds.html"' in index
    suite = text_of(out / "expectations" / "returnwatch_orders.html")
    assert "must match the following strftime format: %Y-%m-%d %H:%M:%S" in suite

    refunds, orders = two_loads
    con = settings_con(settings)
    good_page = data_docs.load_page(con, settings, refunds.load_batch_id)
    bad_page = data_docs.load_page(con, settings, orders.load_batch_id)
    con.close()
    # the default folder was not used: the pages are where --out put them
    good_page = out.resolve() / good_page.relative_to(data_docs.docs_dir(settings))
    bad_page = out.resolve() / bad_page.relative_to(data_docs.docs_dir(settings))
    good, bad = text_of(good_page), text_of(bad_page)
    assert "Expectation Suite: returnwatch_refunds" in good and "Status: Succeeded" in good
    assert "Expectation Suite: returnwatch_orders" in bad and "Status: Failed" in bad
    assert f"load-{orders.load_batch_id}" in bad and "orders_bad.csv" in bad
    # the failing expectations, with the values that broke them
    assert "strftime format: %Y-%m-%d %H:%M:%S . 1 unexpected values found" in bad
    assert "2026-08-05 25:61:00" in bad
    assert "abc" in bad


def settings_con(settings):
    import duckdb

    return duckdb.connect(str(settings.db), read_only=True)


def test_the_nightly_refresh_is_free_when_nothing_changed(
    settings, warehouse, two_loads, orders_csv, monkeypatch
):
    first = data_docs.refresh(warehouse, settings)
    assert not first.unchanged and first.loads == 2
    assert first.index == data_docs.docs_dir(settings).resolve() / "index.html"
    assert first.index.exists()

    import builtins

    real_import = builtins.__import__

    def no_gx(name, *args, **kwargs):
        if name.startswith("great_expectations"):
            raise AssertionError("GX imported although nothing changed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gx)
    again = data_docs.refresh(warehouse, settings)
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert again.unchanged and again.loads == 2 and again.seconds < 0.5

    third = import_file(warehouse, settings, orders_csv)
    refreshed = data_docs.refresh(warehouse, settings)

    assert not refreshed.unchanged and refreshed.loads == 3 and refreshed.rendered == 1
    page = data_docs.load_page(warehouse, settings, third.load_batch_id)
    assert page.exists() and "orders.csv" in text_of(page)
    link = page.relative_to(data_docs.docs_dir(settings).resolve()).as_posix()
    assert link in refreshed.index.read_text(encoding="utf-8")  # the index lists it


def test_validation_docs_without_a_warehouse_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RETURNWATCH_DB", str(tmp_path / "none" / "w.duckdb"))

    result = CliRunner().invoke(app, ["validation", "docs"])

    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"db = {tmp_path / 'none' / 'w.duckdb'}: no warehouse")
