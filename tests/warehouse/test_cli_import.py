"""`returnwatch import` as a user runs it: real process, exit codes, per-file lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..exports import write_csv

pytestmark = pytest.mark.slow  # the CLI in a subprocess, warehouse files


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("returnwatch")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, check=False)


def test_import_exit_codes_and_summary(tmp_path, orders_csv, refunds_csv):
    env = {
        **os.environ,
        "RETURNWATCH_DB": str(tmp_path / "w.duckdb"),
        "RETURNWATCH_PII_SECRET": "k",
    }
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    orders_csv.rename(inbox / orders_csv.name)
    refunds_csv.rename(inbox / refunds_csv.name)

    ok = run_cli("import", str(inbox), env=env)

    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "orders.csv: canonical orders CSV" in ok.stdout
    assert "rows read 4 = loaded 4 + quarantined 0 + exact duplicates skipped 0" in ok.stdout
    assert "2 loaded, 0 already imported, 0 refused" in ok.stdout

    bad = write_csv(tmp_path / "bad.csv", ["foo"], [["1"]])
    refused = run_cli("import", str(bad), str(inbox), env=env)

    assert refused.returncode == 2
    assert "bad.csv: REFUSED" in refused.stdout
    assert "0 loaded, 2 already imported, 1 refused" in refused.stdout


def test_help_explains_every_command(tmp_path):
    out = run_cli("--help", env={**os.environ})
    assert out.returncode == 0
    assert "import" in out.stdout and "demo" in out.stdout
