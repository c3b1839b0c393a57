"""The nightly run keeps the GX Data Docs up to date after its loads, says where each
load's page is, and never fails a night because of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from returnwatch.flows.nightly import run_nightly
from returnwatch.settings import ValidationSettings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_the_night_builds_the_data_docs_and_names_each_page(flow_settings, shop_files, kit):
    shop_files.drop(flow_settings.inbox)

    [summary] = run_nightly(flow_settings, date=kit.LAST)

    assert summary.status == "success", summary.message
    index = flow_settings.db.parent.resolve() / "data_docs" / "index.html"
    assert summary.data_docs == str(index) and index.exists()
    assert f"Validation: {index}." in summary.paragraph()
    loaded = [f for f in summary.files if f.status == "loaded"]
    assert len(loaded) == 2
    for outcome in loaded:
        [page] = re.findall(r" — validation: (\S+\.html)$", outcome.message)
        assert Path(page).exists(), page
        assert outcome.name in Path(page).name


def test_a_data_docs_failure_does_not_fail_the_night(flow_settings, shop_files, kit, tmp_path):
    blocker = tmp_path / "docs-is-a-file"
    blocker.write_text("x")
    settings = flow_settings.model_copy(
        update={"validation": ValidationSettings(docs_dir=blocker / "site")}
    )
    shop_files.drop(settings.inbox)

    [summary] = run_nightly(settings, date=kit.LAST)

    assert summary.status == "success", summary.message
    assert summary.data_docs.startswith("GX Data Docs not refreshed (")
    assert settings.db.exists()  # published all the same
