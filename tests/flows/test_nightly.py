"""The nightly flow end to end under the Prefect test harness: real DuckDB files, real
export files in an inbox, real HTTP deliveries to a local receiver."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from returnwatch.flows import steps
from returnwatch.flows.lock import shop_lock
from returnwatch.flows.nightly import nightly, run_nightly
from returnwatch.flows.shops import use_settings
from returnwatch.settings import ShopSettings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_full_nightly_run(flow_settings, shop_files, receiver, kit):
    dropped = shop_files.drop(flow_settings.inbox)
    (flow_settings.inbox / "notes.pdf").write_text("not an export")
    old = time.time() - 3600
    os.utime(flow_settings.inbox / "notes.pdf", (old, old))

    [summary] = run_nightly(flow_settings, date=kit.LAST)

    assert summary.status == "success", summary.message
    assert summary.nights == [kit.LAST]  # a first run reports only its night
    assert summary.count("loaded") == 2 and summary.count("refused") == 1
    assert summary.rows_loaded > 10_000
    text = summary.paragraph()
    for words in ("2 loaded", "1 refused", "quarantined", "Anomalies:", "Alerts: 1 sent", "Took"):
        assert words in text

    # The spike on the last night reached the channel, dated.
    [digest] = receiver.bodies
    assert digest["kind"] == "digest" and digest["day"] == kit.LAST.isoformat()
    assert "shop:*" in digest["summary"]["slices"]

    # Files: loaded → processed/<day>/, refused → rejected/ with its reason.
    inbox = flow_settings.inbox
    assert not any(p.exists() for p in dropped)
    processed = list((inbox / "processed").rglob("*.csv"))
    assert sorted(p.name for p in processed) == sorted(p.name for p in dropped)
    why = (inbox / "rejected" / "notes.pdf.why.txt").read_text()
    assert "unsupported file type" in why

    # Published for analysts: the night, its run, the files and the views.
    db = flow_settings.db
    assert kit.query(db, "SELECT status FROM nightly_runs") == [("success",)]
    assert kit.query(db, "SELECT count(*) FROM inbox_files")[0][0] == 3
    [(day, is_anomaly)] = kit.query(
        db, "SELECT day, is_anomaly FROM v_daily_shop ORDER BY day DESC LIMIT 1"
    )
    assert day == kit.LAST and is_anomaly
    for view in (
        "v_top_return_skus",
        "v_region_heatmap",
        "v_refund_processing_time",
        "v_refund_processing_daily",
        "v_return_reasons",
    ):
        assert kit.query(db, f"SELECT count(*) FROM {view}")[0][0] > 0, view
    assert not Path(str(db) + ".wal").exists()


def test_catch_up_reports_every_missed_night_in_order(flow_settings, shop_files, receiver, kit):
    shop_files.drop(flow_settings.inbox)
    first = kit.LAST - dt.timedelta(days=4)
    [summary] = run_nightly(flow_settings, date=first)
    assert summary.nights == [first]
    receiver.bodies.clear()

    # The machine was off for three nights; the next run is asked only for the last one.
    [summary] = run_nightly(flow_settings, date=kit.LAST)

    missed = [kit.LAST - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
    assert summary.status == "success", summary.message
    assert summary.nights == missed
    assert [b["day"] for b in receiver.bodies] == [d.isoformat() for d in missed]
    assert all(d.isoformat() in b["title"] for b, d in zip(receiver.bodies, missed, strict=True))
    assert receiver.bodies[-1]["kind"] == "digest"  # the spike night
    done = kit.query(
        flow_settings.db, "SELECT day FROM nightly_runs WHERE status = 'success' ORDER BY day"
    )
    assert [d for (d,) in done] == [first, *missed]

    # Re-running the night sends nothing new.
    receiver.bodies.clear()
    [again] = run_nightly(flow_settings, date=kit.LAST)
    assert again.nights == [kit.LAST] and receiver.bodies == []


def test_a_night_already_done_with_nothing_new_is_not_redone(
    flow_settings, shop_files, receiver, kit
):
    shop_files.drop(flow_settings.inbox)
    [first] = run_nightly(flow_settings, date=kit.LAST)
    assert first.status == "success" and first.anomalies
    published = flow_settings.db.stat().st_ino
    receiver.bodies.clear()

    [again] = run_nightly(flow_settings, date=kit.LAST)

    assert again.status == "success" and again.nights == [kit.LAST]
    assert "Nothing new since the run" in again.paragraph()
    assert again.days_recomputed == 0 and again.anomalies == first.anomalies
    assert receiver.bodies == []
    assert flow_settings.db.stat().st_ino == published  # the warehouse did not change
    runs = "SELECT count(*) FROM nightly_runs"
    assert kit.query(flow_settings.db, runs) == [(1,)]

    # Other detection settings: the night is detected again, and recorded.
    stricter = flow_settings.model_copy(
        update={"detection": flow_settings.detection.model_copy(update={"fdr_alpha": 0.001})}
    )
    [redone] = run_nightly(stricter, date=kit.LAST)
    assert "Nothing new" not in redone.paragraph() and redone.days_recomputed >= 1
    assert kit.query(flow_settings.db, runs) == [(2,)]

    # A file arriving: the night is done again with it.
    (flow_settings.inbox / "late.csv").write_text("order_id,line_id,paid_at\n")
    old = time.time() - 3600
    os.utime(flow_settings.inbox / "late.csv", (old, old))
    [with_file] = run_nightly(stricter, date=kit.LAST)
    assert "Nothing new" not in with_file.paragraph() and len(with_file.files) == 1
    assert kit.query(flow_settings.db, runs) == [(3,)]


def test_a_night_done_again_under_other_categories_is_recomputed(flow_settings, shop_files, kit):
    """`[[categories]]` decides the category slice's rates: re-running a night already done
    with a changed mapping and nothing new loaded recomputes it, not "Nothing new"."""
    from returnwatch.settings import CategoryMapping

    shop_files.drop(flow_settings.inbox)
    [first] = run_nightly(flow_settings, date=kit.LAST)
    assert first.status == "success", first.message
    categories = (
        "SELECT count(*) FROM daily_return_rates WHERE day = ? AND dimension = 'category' "
        "AND key = ?"
    )
    assert kit.query(flow_settings.db, categories, [kit.LAST, "everything"]) == [(0,)]
    categorized = flow_settings.model_copy(
        update={"categories": [CategoryMapping(category="everything", prefixes=[""])]}
    )
    assert steps.settings_fingerprint(categorized) != steps.settings_fingerprint(flow_settings)

    [again] = run_nightly(categorized, date=kit.LAST)

    assert again.status == "success", again.message
    assert "Nothing new" not in again.paragraph() and again.days_recomputed >= 1
    assert kit.query(flow_settings.db, categories, [kit.LAST, "everything"]) == [(1,)]
    assert kit.query(flow_settings.db, "SELECT count(*) FROM nightly_runs") == [(2,)]
    # and under the same mapping once more, the night is done
    [third] = run_nightly(categorized, date=kit.LAST)
    assert "Nothing new since the run" in third.paragraph()


def test_stored_rates_are_trusted_only_under_the_same_rates_settings(
    flow_settings, shop_files, kit
):
    """A night reads its baselines' window from the stored rates only when the last run
    stored them under the same rates fingerprint; after a `[[categories]]` change the
    window is recomputed (and stored), so the next night can trust it."""
    import duckdb

    from returnwatch.settings import CategoryMapping

    shop_files.drop(flow_settings.inbox)
    first_night = kit.LAST - dt.timedelta(days=1)
    [first] = run_nightly(flow_settings, date=first_night)
    assert first.status == "success", first.message
    categorized = flow_settings.model_copy(
        update={"categories": [CategoryMapping(category="everything", prefixes=[""])]}
    )
    con = duckdb.connect(str(flow_settings.db), read_only=True)
    try:
        assert steps.stored_rates_current(con, flow_settings, "shop-a")
        assert not steps.stored_rates_current(con, categorized, "shop-a")
    finally:
        con.close()

    [second] = run_nightly(categorized, date=kit.LAST)

    assert second.status == "success", second.message
    window = flow_settings.detection.window_days
    days_sql = (
        "SELECT count(DISTINCT day) FROM daily_return_rates WHERE dimension = ? AND key = ? "
        "AND day BETWEEN ? AND ?"
    )
    start = kit.LAST - dt.timedelta(days=window)
    shop_days = kit.query(flow_settings.db, days_sql, ["shop", "*", start, kit.LAST])[0][0]
    renamed = kit.query(flow_settings.db, days_sql, ["category", "everything", start, kit.LAST])
    assert shop_days > window // 2 and renamed[0][0] == shop_days
    before = start - dt.timedelta(days=1)
    assert kit.query(flow_settings.db, days_sql, ["category", "everything", before, before]) == [
        (0,)
    ]
    con = duckdb.connect(str(flow_settings.db), read_only=True)
    try:
        assert steps.stored_rates_current(con, categorized, "shop-a")
    finally:
        con.close()


def test_catch_up_is_capped_by_catch_up_days(flow_settings, shop_files, kit):
    settings = flow_settings.model_copy(
        update={"alerts": flow_settings.alerts.model_copy(update={"catch_up_days": 2})}
    )
    shop_files.drop(settings.inbox)
    run_nightly(settings, date=kit.LAST - dt.timedelta(days=10))
    [summary] = run_nightly(settings, date=kit.LAST)
    assert summary.nights == [kit.LAST - dt.timedelta(days=n) for n in (2, 1, 0)]
    assert len(summary.nights_not_reported) == 7


def test_files_arriving_mid_run_wait_for_the_next_run(flow_settings, shop_files, monkeypatch, kit):
    orders, refunds = shop_files.drop(flow_settings.inbox)
    # Still being copied in: written just now, not settled.
    refunds.touch()
    late = flow_settings.inbox / "late_订单导出.csv"
    late_bytes = orders.read_bytes()
    real_import = steps.import_inbox_file

    def import_and_meanwhile(con, settings, shop_id, file, **kw):
        if file.path == orders:  # a file dropped (already complete) while the run reads
            late.write_bytes(late_bytes)
            os.utime(late, (time.time() - 3600,) * 2)
        return real_import(con, settings, shop_id, file, **kw)

    monkeypatch.setattr(steps, "import_inbox_file", import_and_meanwhile)
    [summary] = run_nightly(flow_settings, date=kit.LAST)

    assert summary.status == "success", summary.message
    assert [f.name for f in summary.files] == [orders.name]
    assert summary.files_settling == 1
    assert refunds.exists() and late.exists()  # untouched, for the next run

    os.utime(refunds, (time.time() - 3600,) * 2)
    [summary] = run_nightly(flow_settings, date=kit.LAST)
    assert sorted(f.name for f in summary.files) == sorted([refunds.name, late.name])
    statuses = {f.name: f.status for f in summary.files}
    assert statuses == {refunds.name: "loaded", late.name: "skipped"}  # same bytes as orders
    assert not refunds.exists() and not late.exists()


def test_a_file_changed_while_read_is_left_for_the_next_run(
    flow_settings, shop_files, monkeypatch, kit
):
    orders, refunds = shop_files.drop(flow_settings.inbox)
    real_import = steps.import_inbox_file

    def import_while_written(con, settings, shop_id, file, **kw):
        if file.path == refunds:  # the exporter touches the file as the run starts reading
            os.utime(refunds, (time.time() - 1800,) * 2)
        return real_import(con, settings, shop_id, file, **kw)

    monkeypatch.setattr(steps, "import_inbox_file", import_while_written)
    [summary] = run_nightly(flow_settings, date=kit.LAST)
    statuses = {f.name: f.status for f in summary.files}
    assert statuses == {orders.name: "loaded", refunds.name: "changed"}
    assert refunds.exists() and not orders.exists()


def test_an_analyst_holding_the_file_does_not_stop_the_run(
    flow_settings, shop_files, receiver, kit
):
    shop_files.drop(flow_settings.inbox)
    first = kit.LAST - dt.timedelta(days=1)
    run_nightly(flow_settings, date=first)

    # Another process keeps the published file open read-only all night.
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(flow_settings.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert analyst.stdout.readline().strip() == first.isoformat()

        [summary] = run_nightly(flow_settings, date=kit.LAST)
        assert summary.status == "success", summary.message

        assert _ask(analyst, "query") == first.isoformat()  # still the old night, whole
        assert _ask(analyst, "reconnect") == kit.LAST.isoformat()  # the new night
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    assert analyst.returncode == 0


ANALYST = """
import sys, duckdb
path = sys.argv[1]
con = duckdb.connect(path, read_only=True)
sql = "SELECT max(day) FROM nightly_runs WHERE status = 'success'"
print(con.execute(sql).fetchone()[0], flush=True)
for line in sys.stdin:
    if line.strip() == "reconnect":
        con.close()
        con = duckdb.connect(path, read_only=True)
    print(con.execute(sql).fetchone()[0], flush=True)
"""


def _ask(process: subprocess.Popen, command: str) -> str:
    process.stdin.write(command + "\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def test_two_shops_in_one_warehouse(flow_settings, shop_files, other_shop_files, receiver, kit):
    settings = flow_settings.model_copy(
        update={"shops": [ShopSettings(shop_id="shop-a"), ShopSettings(shop_id="shop-b")]}
    )
    shop_files.drop(settings.inbox / "shop-a")
    other_shop_files.drop(settings.inbox / "shop-b")

    with use_settings(settings):
        summaries = nightly(date=kit.LAST)  # the parent flow maps over the shops

    assert [s.shop_id for s in summaries] == ["shop-a", "shop-b"]
    assert all(s.status == "success" and s.count("loaded") == 2 for s in summaries)
    db = settings.db
    rows = kit.query(db, "SELECT shop_id, count(*) FROM order_lines GROUP BY ALL ORDER BY 1")
    assert [shop for shop, _ in rows] == ["shop-a", "shop-b"]
    assert kit.query(db, "SELECT shop_id FROM nightly_runs ORDER BY 1") == [
        ("shop-a",),
        ("shop-b",),
    ]
    assert {b["shop_id"] for b in receiver.of_kind("digest")} == {"shop-a", "shop-b"}
    shops_in_view = kit.query(db, "SELECT DISTINCT shop_id FROM v_daily_shop ORDER BY 1")
    assert shops_in_view == [("shop-a",), ("shop-b",)]


def test_a_failing_task_notifies_the_channel_and_fails_the_run(
    flow_settings, shop_files, receiver, monkeypatch, kit
):
    from returnwatch.warehouse import detection

    shop_files.drop(flow_settings.inbox)

    def broken(*args, **kwargs):
        raise RuntimeError("detector exploded")

    monkeypatch.setattr(detection, "detect_days", broken)
    with use_settings(flow_settings):
        state = nightly(date=kit.LAST, shop_id="shop-a", return_state=True)

    assert state.is_failed()
    [notice] = receiver.of_kind("failure")
    assert notice["day"] == kit.LAST.isoformat()
    assert "detector exploded" in notice["failure"]["what_failed"]
    assert "returnwatch run --date" in notice["failure"]["what_to_do"]
    assert not flow_settings.db.exists()  # analysts never see the half-done night


def test_a_second_run_of_the_same_shop_exits_cleanly(flow_settings, receiver, kit):
    with shop_lock(flow_settings, "shop-a"):
        [summary] = run_nightly(flow_settings, date=kit.LAST)
    assert summary.status == "skipped"
    assert "another nightly run of shop shop-a is in progress (pid" in summary.message
    assert receiver.bodies == []


def test_fan_out_submits_one_flow_run_per_shop(flow_settings, monkeypatch, kit):
    """From a deployment, the parent run leaves each shop to whichever worker is free."""
    from prefect import get_client

    from returnwatch.flows import nightly as nightly_module
    from returnwatch.flows.serve import NIGHTLY_DEPLOYMENT, deployments

    settings = flow_settings.model_copy(
        update={"shops": [ShopSettings(shop_id="shop-a"), ShopSettings(shop_id="shop-b")]}
    )
    deployment_id = deployments(settings)[0].apply()
    monkeypatch.setattr(
        nightly_module, "_current_deployment", lambda: f"nightly/{NIGHTLY_DEPLOYMENT}"
    )
    with use_settings(settings):
        assert nightly(date=kit.LAST, fan_out=True) == []

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    submitted = [r for r in runs if r.deployment_id == deployment_id]
    assert sorted(r.parameters["shop_id"] for r in submitted) == ["shop-a", "shop-b"]
    assert {r.parameters["date"] for r in submitted} == {kit.LAST.isoformat()}
    assert all(r.state.is_scheduled() for r in submitted)


def test_backfill_recomputes_a_range_without_messages(flow_settings, shop_files, receiver, kit):
    from returnwatch.flows.backfill import run_backfill
    from returnwatch.sources.ingest import import_paths
    from returnwatch.warehouse.publish import open_working

    con = open_working(flow_settings)
    import_paths(con, flow_settings, shop_files.files, shop_id="shop-a")
    con.close()
    assert not flow_settings.db.exists()  # imported, not yet published

    summary = run_backfill(kit.START, kit.LAST, settings=flow_settings)

    assert summary.shops == ["shop-a"] and summary.anomalies >= 1
    assert "no alerts sent" in summary.paragraph()
    assert receiver.bodies == []
    rows = kit.query(flow_settings.db, "SELECT min(day), max(day) FROM daily_return_rates")
    assert rows == [(kit.START, kit.LAST)]
    assert kit.query(flow_settings.db, "SELECT count(*) FROM alert_outbox") == [(0,)]
    anomalous = kit.query(flow_settings.db, "SELECT day FROM anomalies WHERE dimension = 'shop'")
    assert (kit.LAST,) in anomalous


def test_first_digest_of_a_month_links_last_months_report(
    flow_settings, shop_files, receiver, kit, tmp_path
):
    report = {"public_base_url": "https://reports.example/rw", "out_dir": tmp_path / "reports"}
    settings = flow_settings.model_copy(
        update={"report": flow_settings.report.model_copy(update=report)}
    )
    shop_files.drop(settings.inbox)
    run_nightly(settings, date=dt.date(2026, 7, 31))  # July is in, and published

    [summary] = run_nightly(settings, date=kit.LAST)  # catches up 08-12 … 08-19

    assert summary.status == "success", summary.message
    august = sorted(
        (b for b in receiver.bodies if b["day"] >= "2026-08-01"), key=lambda b: b["day"]
    )
    assert len(august) == 8
    linked = [b for b in august if b["attachments"]]
    assert [b["day"] for b in linked] == [august[0]["day"]]  # the month's first only
    [link] = linked[0]["attachments"]
    assert link["url"].startswith("https://reports.example/rw/shop-a/2026-07/")
    assert link["url"].endswith(".html") and "2026-07" in link["title"]
    served = tmp_path / "reports" / link["url"].removeprefix("https://reports.example/rw/")
    assert served.exists()  # the page the link points at was built into out_dir
