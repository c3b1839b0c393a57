"""The fixed costs every night pays: a tiny import, and a nightly run with nothing new.

    .venv/bin/python bench/startup.py --repeat 3

Both are timed as the user runs them, as separate processes (Python and library imports
included) on a fresh warehouse in a temporary folder:

- `returnwatch import` of a 10-line canonical orders CSV (target ≤ 6 s);
- `returnwatch run --date D` on a warehouse where nothing changed since the last run:
  empty inbox, the night already detected (target ≤ 15 s, Prefect's temporary server
  included). A first, untimed run loads a small shop and detects its night; the timed
  runs come after it. PREFECT_HOME is a temporary folder warmed by that first run.

Runs alternate (import, run, import, run, …) because these machines are noisy; the best
and the median of each are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HEADER = "shop_id,order_id,line_id,sku_id,product_name,quantity,amount,paid_at,province,city,carrier,customer_id"


def tiny_orders(path: Path, day: str, lines: int = 10, offset: int = 0) -> Path:
    rows = [HEADER] + [
        f"s1,O{offset + i // 2},L{offset + i},SKU{i % 3},product,1,19.90,{day} 1{i % 10}:00:00,"
        f"广东省,深圳市,顺丰速运,C{i}"
        for i in range(lines)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[1:3]} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rw = str(BIN / "returnwatch")
    imports: list[float] = []
    runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="rw-startup-") as tmp:
        root = Path(tmp)
        base = {
            **os.environ,
            "RETURNWATCH_PII_SECRET": "bench",
            "RETURNWATCH_SHOP_ID": "s1",
            "RETURNWATCH_INBOX_SETTLE_SECONDS": "0",
            "PREFECT_HOME": str(root / "prefect"),
            # A fresh PREFECT_HOME migrates its database on the first start (untimed).
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        }
        run_env = {
            **base,
            "RETURNWATCH_DB": str(root / "run" / "w.duckdb"),
            "RETURNWATCH_INBOX": str(root / "run" / "inbox"),
        }
        inbox = root / "run" / "inbox"
        inbox.mkdir(parents=True)
        tiny_orders(inbox / "orders.csv", "2026-03-01", lines=200)
        timed([rw, "run", "--date", "2026-03-01"], run_env)  # loads and detects; untimed
        for i in range(args.repeat):
            env = {**base, "RETURNWATCH_DB": str(root / f"imp{i}" / "w.duckdb")}
            csv = tiny_orders(root / f"tiny{i}.csv", "2026-03-01")
            imports.append(timed([rw, "import", str(csv)], env))
            runs.append(timed([rw, "run", "--date", "2026-03-01"], run_env))
            print(f"  round {i + 1}: import {imports[-1]:.2f}s, run (unchanged) {runs[-1]:.2f}s")
    for name, values, target in (
        ("import of a 10-line file", imports, 6),
        ("run on an unchanged warehouse", runs, 15),
    ):
        print(
            f"{name:30s} best {min(values):5.2f}s  median {statistics.median(values):5.2f}s"
            f"  (target ≤ {target} s)"
        )


if __name__ == "__main__":
    main()
