"""One nightly run on a warehouse holding a year of a big shop, and on one holding a month.

    .venv/bin/python bench/nightly.py --lines-per-day 50000 --repeat 2

The night's cost must grow with the new data, not with the history (target: the run on
1 year within 1.3x of the same run on 1 month).

For each history length the warehouse is built fast, straight in SQL: make_big-style
order lines (~5,000 SKUs, skewed popularity, 31 provinces, ~10% refunded 0-7 days after
payment) go into `order_lines`/`refund_records`, the rates of the whole history are
computed once and the night before D is recorded as done, then the file is published (twice,
around that record, so publish has its standby), as a warehouse that has been running
every night would be. Night D's order lines and the
refunds requested that day are dropped into the inbox as canonical CSVs, and
`returnwatch run --date D` is timed as a separate process (wall time, Prefect's temporary
server included; the run's own time, from its summary, is printed beside it). Each timed
run starts from a copy of the built warehouse; runs alternate month, year, month, year.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_big import lines_sql

BIN = Path(sys.executable).parent
SHOP = "big-shop"
NIGHT = dt.date(2026, 6, 30)


def _lines_sql(first: dt.date, days: int, per_day: int) -> str:
    """make_big's lines, none broken, with money as DECIMAL like the warehouse's columns."""
    base = lines_sql(days * per_day, first=str(first), days=days, broken_every=None)
    return f"SELECT * REPLACE (amount::DECIMAL(18, 2) AS amount) FROM ({base})"


def build(root: Path, history_days: int, per_day: int) -> dict[str, str]:
    """A published warehouse with `history_days` days before NIGHT, and NIGHT in the inbox."""
    from returnwatch.settings import Settings
    from returnwatch.warehouse import rates
    from returnwatch.warehouse.connection import connect
    from returnwatch.warehouse.disk import working_path
    from returnwatch.warehouse.publish import publish

    env = {
        "RETURNWATCH_DB": str(root / "data" / "returnwatch.duckdb"),
        "RETURNWATCH_INBOX": str(root / "inbox"),
        "RETURNWATCH_SHOP_ID": SHOP,
        "RETURNWATCH_PII_SECRET": "bench",
        "RETURNWATCH_INBOX_SETTLE_SECONDS": "0",
    }
    settings = Settings(
        db=Path(env["RETURNWATCH_DB"]), shop_id=SHOP, pii_secret="bench", inbox=root / "inbox"
    )
    first = NIGHT - dt.timedelta(days=history_days)
    con = connect(settings, path=working_path(settings))
    con.execute(f"CREATE TEMP TABLE lines AS {_lines_sql(first, history_days + 1, per_day)}")
    con.execute(f"""
        INSERT INTO order_lines BY NAME
        SELECT '{SHOP}' AS shop_id, order_id, line_id, sku_id, 'product ' || sku_id AS product_name,
               quantity, amount / quantity AS unit_price, amount, paid_at, province, carrier,
               customer_id, 'canonical_orders' AS source_format, 0 AS load_batch_id,
               now()::TIMESTAMP AS loaded_at
        FROM lines WHERE paid_at < DATE '{NIGHT}'
    """)
    refunds = """
        SELECT 'R' || i::VARCHAR AS refund_id, order_id, line_id, sku_id,
               CASE WHEN i % 3 = 0 THEN 'refund_only' WHEN i % 17 = 0 THEN 'exchange'
                    ELSE 'return_refund' END AS refund_type,
               reason, 'completed' AS status,
               paid_at + to_days(lag_days) + INTERVAL 3 HOUR AS requested_at,
               paid_at + to_days(lag_days + 3) AS completed_at,
               amount AS refund_amount, 1 AS quantity
        FROM lines WHERE refunded
    """
    con.execute(f"""
        INSERT INTO refund_records BY NAME
        SELECT '{SHOP}' AS shop_id, *, refund_type AS refund_type_raw, status AS status_raw,
               'canonical_refunds' AS source_format, 0 AS load_batch_id,
               now()::TIMESTAMP AS loaded_at
        FROM ({refunds}) WHERE requested_at < DATE '{NIGHT}'
    """)
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY (
            SELECT '{SHOP}' AS shop_id, order_id, line_id, sku_id, 'product ' || sku_id AS product_name,
                   quantity, amount, strftime(paid_at, '%Y-%m-%d %H:%M:%S') AS paid_at, province,
                   '' AS city, carrier, customer_id
            FROM lines WHERE paid_at >= DATE '{NIGHT}' ORDER BY i
        ) TO '{inbox / "orders.csv"}' (HEADER)
    """)
    con.execute(f"""
        COPY (
            SELECT '{SHOP}' AS shop_id, refund_id, order_id, line_id, sku_id, refund_type, reason,
                   status, strftime(requested_at, '%Y-%m-%d %H:%M:%S') AS requested_at,
                   '' AS completed_at, refund_amount, quantity, '' AS province, '' AS carrier
            FROM ({refunds})
            WHERE requested_at >= DATE '{NIGHT}' AND requested_at < DATE '{NIGHT}' + 1
        ) TO '{inbox / "refunds.csv"}' (HEADER)
    """)
    con.execute("DROP TABLE lines")
    rates.refresh_rates(con, settings, SHOP, start=first, end=NIGHT - dt.timedelta(days=1))
    # Published once before the last night is recorded and once after, as nightly runs
    # would have: the second publish keeps the first file as publish's standby.
    publish(settings, con)
    # The record a nightly run leaves: its rates' fingerprint says the stored rates are
    # current, so the night reads its baselines' window from them (flows.steps).
    from returnwatch.transforms.rates import rates_fingerprint

    con.execute(
        "INSERT INTO nightly_runs VALUES ('bench', ?, ?, ?, 'success', now()::TIMESTAMP, "
        "now()::TIMESTAMP, ?)",
        [
            SHOP,
            NIGHT - dt.timedelta(days=1),
            NIGHT - dt.timedelta(days=1),
            json.dumps({"rates": rates_fingerprint(settings)}),
        ],
    )
    publish(settings, con)
    con.close()
    old = time.time() - 3600
    for f in inbox.iterdir():
        os.utime(f, (old, old))
    return env


def _built(folder: Path, history_days: int, per_day: int) -> dict[str, str]:
    """`build`, unless a finished build of the same size is already in `folder` (--keep)."""
    stamp = folder / "built.json"
    from returnwatch.warehouse.migrate import available_migrations

    # A build made before a newer migration would be migrated inside the timed runs.
    schema = [m.version for m in available_migrations()]  # every one: 0007 came after 0008
    wanted = {"history_days": history_days, "per_day": per_day, "standby": True, "schema": schema,
              "rates_recorded": True}  # fmt: skip
    if stamp.exists():
        recorded = json.loads(stamp.read_text())
        if recorded.get("size") == wanted:
            return recorded["env"]
    if folder.exists():
        shutil.rmtree(folder)
    env = build(folder, history_days, per_day)
    stamp.write_text(json.dumps({"size": wanted, "env": env}))
    return env


def timed_run(pristine: Path, scratch: Path, env: dict[str, str]) -> tuple[float, str]:
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(pristine, scratch)
    # Write the copy out first: otherwise the run's own I/O (publish's copy and fsync)
    # queues behind hundreds of MB of the bench's setup writes.
    os.sync()
    env = {k: v.replace(str(pristine), str(scratch)) for k, v in env.items()}
    argv = [str(BIN / "returnwatch"), "run", "--date", str(NIGHT)]
    start = time.perf_counter()
    proc = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"run failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    paragraph = " ".join(proc.stdout.split())
    return seconds, paragraph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines-per-day", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tmp", type=Path, default=None, help="where to build (default /tmp)")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build in this folder and keep it; a later call with the same folder reuses "
        "the warehouses built there (same --lines-per-day), to time code changes quickly",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            root = args.keep.resolve()
        else:
            tmp = tempfile.TemporaryDirectory(prefix="rw-nightly-", dir=args.tmp)
            root = Path(stack.enter_context(tmp))
        _bench(root, args.lines_per_day, args.repeat)


def _bench(root: Path, per_day: int, repeat: int) -> None:
    """Build (or reuse) both warehouses under `root`, then time the runs, alternating."""
    histories = {"1 month": 30, "1 year": 365}
    prefect_home = root / "prefect"
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    envs = {}
    for name, days in histories.items():
        start = time.perf_counter()
        envs[name] = _built(root / name.replace(" ", ""), days, per_day)
        size = Path(envs[name]["RETURNWATCH_DB"]).stat().st_size / 1e6
        print(f"built {name}: {days} days x {per_day:,} lines "
              f"({size:,.0f} MB) in {time.perf_counter() - start:.0f}s")  # fmt: skip
    # Warm Prefect's home (its database is created on the first start), untimed.
    timed_run(root / "1month", root / "warmup", envs["1 month"])
    results: dict[str, list[float]] = {name: [] for name in histories}
    for i in range(repeat):
        for name in histories:
            pristine = root / name.replace(" ", "")
            seconds, paragraph = timed_run(pristine, root / "scratch", envs[name])
            results[name].append(seconds)
            own = re.search(r"Took ([0-9.]+)s", paragraph)
            print(f"  run {i + 1} {name}: {seconds:.1f}s wall"
                  f"{f' (flow {own.group(1)}s)' if own else ''}")  # fmt: skip
    best = {name: min(v) for name, v in results.items()}
    median = {name: statistics.median(v) for name, v in results.items()}
    for name in results:
        print(f"{name:8s} best {best[name]:6.1f}s  median {median[name]:6.1f}s")
    print(
        f"1 year / 1 month: {best['1 year'] / best['1 month']:.2f}x best to best, "
        f"{median['1 year'] / median['1 month']:.2f}x median to median (target ≤ 1.3x)"
    )
    print(f"last run's summary: {paragraph}")


if __name__ == "__main__":
    main()
