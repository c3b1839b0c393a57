"""Import + detect of a big shop: returnwatch vs a hand-written DuckDB reference vs pandas+GX.

    .venv/bin/python bench/make_big.py --lines 10000000 --out bench/out/big
    .venv/bin/python bench/import.py --dir bench/out/big --repeat 2

Each contender runs as its own process on a fresh warehouse; wall time and that
process's peak RSS are measured. The runs alternate (reference, returnwatch, reference,
…) because these machines are noisy.

- returnwatch: `returnwatch import orders.csv refunds.csv` then `returnwatch detect`
  over the whole range (what a first install does with a quarter of exports).
- reference: the least a hand-written DuckDB script must do for the same result —
  read_csv of both files, insert into tables with the same keys, the rates and
  baselines SQL (shop, province and SKU slices, 28-day rolling mean).
- reference, same result (--same-result): the same script also writing what returnwatch
  writes and the first one leaves out: a file DuckDB 1.x can open (storage v1.2.0) and
  buyer ids pseudonymised (each distinct id hashed once, then joined).
- peer (--peer): what most people write first — pandas.read_csv, great-expectations on
  the DataFrames, then the frames into DuckDB. It skips the rates, so it is flattered.
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

BIN = Path(sys.executable).parent

REFERENCE = textwrap.dedent("""
    import duckdb, sys
    db, orders, refunds = sys.argv[1:4]
    same = len(sys.argv) > 4  # the same result: file format and pseudonymised buyers
    config = {"memory_limit": "1GB"}
    customer = "customer_id"
    if same:
        config["storage_compatibility_version"] = "v1.2.0"
        customer = "(SELECT p FROM buyers AS b WHERE b.c = o.customer_id)"
    con = duckdb.connect(db, config=config)
    if same:
        con.execute(f'''
            CREATE TEMP TABLE buyers AS
            SELECT customer_id AS c, left(sha256('key' || customer_id), 16) AS p
            FROM (SELECT DISTINCT customer_id FROM read_csv('{orders}', header = true))
        ''')
    con.execute(f'''
        CREATE TABLE order_lines AS
        SELECT shop_id, order_id, line_id, sku_id, product_name, quantity, amount,
               paid_at::TIMESTAMP AS paid_at, province, city, carrier, {customer} AS customer_id
        FROM read_csv('{orders}', header = true) AS o
        WHERE quantity >= 1
    ''')
    con.execute(f'''
        CREATE TABLE refunds AS
        SELECT r.*, requested_at::TIMESTAMP AS requested_ts
        FROM read_csv('{refunds}', header = true) AS r
    ''')
    con.execute('''
        CREATE TABLE daily_return_rates AS
        WITH lines AS (
            SELECT paid_at::DATE AS day, province, sku_id, line_id FROM order_lines
        ),
        rets AS (
            SELECT r.requested_ts::DATE AS day, coalesce(o.province, 'unknown') AS province,
                   r.sku_id, r.refund_id
            FROM refunds AS r LEFT JOIN order_lines AS o USING (line_id)
            WHERE r.refund_type IN ('return_refund', 'refund_only')
        ),
        counts AS (
            SELECT day, dimension, key, sum(n_lines) AS order_lines, sum(n_returns) AS returns
            FROM (
                SELECT day, 'shop' AS dimension, '*' AS key, count(*) AS n_lines, 0 AS n_returns FROM lines GROUP BY ALL
                UNION ALL SELECT day, 'region', province, count(*), 0 FROM lines GROUP BY ALL
                UNION ALL SELECT day, 'sku', sku_id, count(*), 0 FROM lines GROUP BY ALL
                UNION ALL SELECT day, 'shop', '*', 0, count(*) FROM rets GROUP BY ALL
                UNION ALL SELECT day, 'region', province, 0, count(*) FROM rets GROUP BY ALL
                UNION ALL SELECT day, 'sku', sku_id, 0, count(*) FROM rets GROUP BY ALL
            ) GROUP BY ALL
        )
        SELECT *, returns / nullif(order_lines, 0) AS return_rate,
               avg(returns / nullif(order_lines, 0)) OVER (
                   PARTITION BY dimension, key ORDER BY day
                   RANGE BETWEEN INTERVAL 28 DAY PRECEDING AND INTERVAL 1 DAY PRECEDING
               ) AS baseline_rate
        FROM counts
    ''')
    con.close()
""")

PEER = textwrap.dedent("""
    import duckdb, sys
    import pandas as pd
    from returnwatch.transforms.gx_suite import validate_dataframe
    db, orders, refunds = sys.argv[1:4]
    o = pd.read_csv(orders, dtype=str, keep_default_na=False)
    r = pd.read_csv(refunds, dtype=str, keep_default_na=False)
    for frame, kind in ((o, "orders"), (r, "refunds")):
        for col in ("quantity", "amount", "refund_amount"):
            if col in frame:
                frame[col + "__text"] = frame[col]
                frame[col] = pd.to_numeric(frame[col], errors="coerce")
        validate_dataframe(frame, kind)
    con = duckdb.connect(db)
    con.register("o", o)
    con.register("r", r)
    con.execute("CREATE TABLE order_lines AS SELECT * FROM o")
    con.execute("CREATE TABLE refunds AS SELECT * FROM r")
    con.close()
""")


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv[:3]} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def date_span(orders: Path, refunds: Path) -> tuple[str, str]:
    import duckdb

    row = duckdb.sql(
        f"SELECT min(paid_at)::DATE, max(requested_at)::DATE FROM "
        f"(SELECT min(paid_at::TIMESTAMP) AS paid_at FROM read_csv('{orders}')), "
        f"(SELECT max(requested_at::TIMESTAMP) AS requested_at FROM read_csv('{refunds}'))"
    ).fetchall()[0]
    return str(row[0]), str(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("bench/out/big"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--peer", action="store_true", help="also time pandas + GX")
    parser.add_argument(
        "--same-result",
        action="store_true",
        help="also time the reference writing what returnwatch writes: the DuckDB 1.x-readable "
        "file format and pseudonymised buyer ids",
    )
    args = parser.parse_args()
    orders, refunds = args.dir / "orders.csv", args.dir / "refunds.csv"
    lines = sum(1 for _ in orders.open("rb")) - 1
    start, end = date_span(orders, refunds)
    print(f"{lines:,} order lines, {start} .. {end}")
    results: dict[str, list[tuple[float, float]]] = {
        "reference": [], "same result": [], "returnwatch": [], "peer": []
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            ref_db = Path(tmp) / f"ref{i}.duckdb"
            results["reference"].append(
                run(
                    [sys.executable, "-c", REFERENCE, str(ref_db), str(orders), str(refunds)],
                    dict(os.environ),
                )
            )
            if args.same_result:
                same_db = [str(Path(tmp) / f"same{i}.duckdb"), str(orders), str(refunds), "same"]
                results["same result"].append(
                    run([sys.executable, "-c", REFERENCE, *same_db], dict(os.environ))
                )
                print(f"  run {i + 1}: reference, same result {results['same result'][-1][0]:.1f}s")
            env = {**os.environ, "RETURNWATCH_DB": str(Path(tmp) / f"rw{i}" / "w.duckdb"),
                   "RETURNWATCH_PII_SECRET": "bench"}  # fmt: skip
            t1, m1 = run([str(BIN / "returnwatch"), "import", str(orders), str(refunds)], env)
            t2, m2 = run([str(BIN / "returnwatch"), "detect", "--start", start, "--end", end], env)
            results["returnwatch"].append((t1 + t2, max(m1, m2)))
            print(f"  run {i + 1}: reference {results['reference'][-1][0]:.1f}s, "
                  f"returnwatch {t1 + t2:.1f}s (import {t1:.1f}s + detect {t2:.1f}s)")  # fmt: skip
        if args.peer:
            peer_db = Path(tmp) / "peer.duckdb"
            results["peer"].append(
                run(
                    [sys.executable, "-c", PEER, str(peer_db), str(orders), str(refunds)],
                    dict(os.environ),
                )
            )
    best = {k: min(v) for k, v in results.items() if v}
    for name, (seconds, rss) in best.items():
        print(
            f"{name:12s} best {seconds:7.1f}s  {lines / seconds:12,.0f} lines/s  peak RSS {rss:7,.0f} MB"
        )
    ratio = best["returnwatch"][0] / best["reference"][0]
    print(f"returnwatch / reference: {ratio:.2f}x (target ≤ 1.5x)")
    if "same result" in best:
        same = best["returnwatch"][0] / best["same result"][0]
        print(f"returnwatch / reference writing the same result: {same:.2f}x")
    if "peer" in best:
        print(f"peer / returnwatch: {best['peer'][0] / best['returnwatch'][0]:.1f}x (target ≥ 5x)")


if __name__ == "__main__":
    main()
