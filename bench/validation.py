"""What validation costs per million rows: DuckDB rule predicates vs GX on pandas.

Makes a canonical orders CSV (1% of rows broken in various ways), then times, on the
same file and the same rules:
  read     read_csv of the mapped columns into staging (paid by any loader)
  check    dedup + normalise + type + every rule predicate (returnwatch's validation)
  counts   the one-pass aggregate that becomes the GX validation result
  gx       great-expectations' pandas engine on the staged rows (DataFrame fetch + validate)

    .venv/bin/python bench/validation.py --rows 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from returnwatch.settings import Settings
from returnwatch.sources.files import open_source, read_csv_sql
from returnwatch.transforms.profiles import match_profile
from returnwatch.transforms.staging import checked_sql, hmac_macro_sql, source_sql
from returnwatch.transforms.validation import rule_counts


def make_orders_csv(path: Path, rows: int) -> None:
    duckdb.sql(f"""
        COPY (
            SELECT
                'O' || (i // 2) AS order_id,
                'L' || i AS line_id,
                CASE WHEN i % 997 = 0 THEN '6.9E+18' ELSE 'S' || (i % 5000) END AS sku_id,
                'product ' || (i % 5000) AS product_name,
                CASE WHEN i % 503 = 0 THEN '-1' ELSE (1 + i % 3)::VARCHAR END AS quantity,
                ((i % 10000) / 100.0)::VARCHAR AS amount,
                CASE WHEN i % 701 = 0 THEN 'not a time'
                     ELSE strftime(TIMESTAMP '2026-07-01' + to_seconds(i % 7776000), '%Y-%m-%d %H:%M:%S')
                END AS paid_at,
                'province ' || (i % 31) AS province,
                'city' AS city,
                '圆通速递' AS carrier,
                'c' || (i % 200000) AS customer_id
            FROM range({rows}) AS t(i)
        ) TO '{path}' (HEADER)
    """)


def timed(label: str, fn, results: dict[str, float]) -> None:
    start = time.perf_counter()
    fn()
    results[label] = time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-gx", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        make_orders_csv(path, args.rows)
        settings = Settings(db=Path(tmp) / "w.duckdb", pii_secret="bench")
        con = duckdb.connect()
        con.execute(hmac_macro_sql(settings.pii_key()))
        t: dict[str, float] = {}
        with open_source(path) as src:
            match = match_profile(src.header)
            timed(
                "read",
                lambda: con.execute(
                    "CREATE TEMP TABLE _source AS " + source_sql(match, read_csv_sql(src))
                ),
                t,
            )
        timed(
            "check",
            lambda: con.execute(
                "CREATE TEMP TABLE _checked AS " + checked_sql(match, "_source", "bench")
            ),
            t,
        )
        timed("counts", lambda: rule_counts(con, "orders", "_checked"), t)
        if not args.skip_gx:
            start = time.perf_counter()
            from returnwatch.transforms.gx_suite import validate_dataframe

            t["gx_import"] = time.perf_counter() - start
            frame: dict = {}
            timed(
                "gx_fetch",
                lambda: frame.setdefault("df", con.execute("SELECT * FROM _checked").df()),
                t,
            )
            timed("gx_validate", lambda: validate_dataframe(frame["df"], "orders"), t)
        per_m = 1_000_000 / args.rows
        print(f"rows: {args.rows:,}")
        for label, seconds in t.items():
            print(f"  {label:12s} {seconds:7.2f} s   ({seconds * per_m:6.2f} s per 1M rows)")
        sql_validation = t["check"] + t["counts"]
        print(
            f"returnwatch validation (check + counts): {sql_validation * per_m:.2f} s per 1M rows"
        )
        if not args.skip_gx:
            gx = t["gx_fetch"] + t["gx_validate"]
            print(
                f"GX pandas (fetch + validate, import excluded): {gx * per_m:.2f} s per 1M rows "
                f"({gx / sql_validation:.1f}x)"
            )


if __name__ == "__main__":
    main()
