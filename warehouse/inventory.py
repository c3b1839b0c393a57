"""What a warehouse holds, read without creating or changing anything.

`returnwatch detect` asks before it works: against a path with no warehouse, or one with
no data, it says so instead of reporting "0 shops: 0 anomalies" as if all were fine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from returnwatch.settings import Settings
from returnwatch.warehouse.publish import working_path


@dataclass(frozen=True)
class Inventory:
    """`path`: the file read (None: no warehouse file yet); `shops`: the shops with order
    lines or refunds (None: the file could not be read now)."""

    path: Path | None
    shops: list[str] | None


def inventory(settings: Settings) -> Inventory:
    """What the warehouse holds, reading the working file when there is one (it is the
    newest), else the published file, read-only. A file that cannot be read now (another
    process writing it, an older schema) has `shops` None: the command itself then says
    what is wrong."""
    files = [p for p in (working_path(settings), Path(settings.db)) if p.exists()]
    if not files:
        return Inventory(None, [])
    try:
        con = duckdb.connect(str(files[0]), read_only=True)
    except duckdb.Error:
        return Inventory(files[0], None)
    try:
        rows = con.execute(
            "SELECT shop_id FROM order_lines UNION SELECT shop_id FROM refund_records ORDER BY 1"
        ).fetchall()
    except duckdb.Error:
        return Inventory(files[0], None)
    finally:
        con.close()
    return Inventory(files[0], [row[0] for row in rows])
