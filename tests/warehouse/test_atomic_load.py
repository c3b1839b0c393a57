"""A load killed half-way (SIGKILL inside the transaction) leaves the warehouse as it was."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from returnwatch.sources.ingest import import_file
from returnwatch.warehouse.connection import connect
from returnwatch.warehouse.load import CRASH_ENV

from ..exports import ORDER_HEADER, table_snapshot, write_csv

pytestmark = pytest.mark.slow  # a warehouse file and a subprocess killed inside a load


def test_killed_load_leaves_the_warehouse_unchanged(settings, tmp_path, orders_csv):
    con = connect(settings)
    import_file(con, settings, orders_csv)
    before = table_snapshot(con)
    con.close()
    rows = [
        [f"O{i}", f"L{i}", "S1", "x", 1, "1", "2026-08-01 00:00:00", "", "", "", ""]
        for i in range(1, 5000)
    ]
    newer = write_csv(tmp_path / "newer.csv", ORDER_HEADER, rows)
    script = textwrap.dedent(f"""
        from pathlib import Path
        from returnwatch.settings import Settings
        from returnwatch.warehouse.connection import connect
        from returnwatch.sources.ingest import import_file
        s = Settings(db=Path({str(settings.db)!r}), pii_secret="test-pii-secret")
        import_file(connect(s), s, Path({str(newer)!r}))
    """)

    proc = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, CRASH_ENV: "after_delete"}, check=False
    )

    assert proc.returncode == -9  # killed inside the transaction, after deleting old rows
    con = connect(settings)
    assert table_snapshot(con) == before
    # and the same file then loads normally
    assert import_file(con, settings, newer).rows_loaded == 4999
