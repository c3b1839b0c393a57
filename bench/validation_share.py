"""What validation costs inside a big import: `returnwatch import` as shipped, and again
with every rule predicate made constant, on the same file.

    .venv/bin/python bench/make_big.py --lines 10000000 --out /tmp/rwbench/big10m
    .venv/bin/python bench/validation_share.py --dir /tmp/rwbench/big10m --repeat 2

The difference is what evaluating the rules costs: the predicates in the checking pass
and everything that follows from rows breaking them (their quarantine JSON, re-checking
them, leaving them out of the load). Counting the results into the GX validation result
and the empty-column mask run in both, so the share is a slight underestimate of all
validation work; the rest of the checking pass (reading the file, hashing ids, collecting
buyer ids to hash, the clean-column mask) is what any import of this file needs.

Each import runs as its own process on a fresh warehouse; the runs alternate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

IMPORT = textwrap.dedent("""
    import sys
    from returnwatch.transforms.rules import Rule
    if sys.argv[1] == "off":
        Rule.violation_sql = lambda self: "false"
    from returnwatch.cli import app
    app(["import", *sys.argv[2:]], standalone_mode=False)
""")


def timed(mode: str, files: list[Path], db: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one import process."""
    env = {**os.environ, "RETURNWATCH_DB": str(db), "RETURNWATCH_PII_SECRET": "bench"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", IMPORT, mode, *map(str, files)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"import ({mode}) failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("bench/out/big"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    files = [args.dir / "orders.csv", args.dir / "refunds.csv"]
    runs: dict[str, list[tuple[float, float]]] = {"rules": [], "no rules": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for mode, label in (("on", "rules"), ("off", "no rules")):
                runs[label].append(timed(mode, files, Path(tmp) / f"{mode}{i}" / "w.duckdb"))
                wall, cpu = runs[label][-1]
                print(f"  run {i + 1}, {label:8s}: {wall:6.1f} s wall, {cpu:6.1f} s CPU")
    best = {label: min(values) for label, values in runs.items()}
    cpu = {label: min(c for _, c in values) for label, values in runs.items()}
    for label in runs:
        print(f"{label:8s} best {best[label][0]:6.1f} s wall, {cpu[label]:6.1f} s CPU")
    share = (best["rules"][0] - best["no rules"][0]) / best["rules"][0]
    cpu_share = (cpu["rules"] - cpu["no rules"]) / cpu["rules"]
    print(f"validation share of the import: {share:.0%} of wall time, {cpu_share:.0%} of CPU "
          "(target ≤ 25%)")  # fmt: skip


if __name__ == "__main__":
    main()
