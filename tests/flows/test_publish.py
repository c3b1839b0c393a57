"""Publishing the working file for analysts: atomic, checkpointed, readable by DuckDB 1.2."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from returnwatch.warehouse.disk import ensure_working, working_path
from returnwatch.warehouse.publish import WarehouseBusy, open_working, publish

pytestmark = pytest.mark.slow  # warehouse files published, read by other processes

OLDEST_DUCKDB = "1.2.2"  # the minimum docs/orchestration.md promises analysts
WHEEL_CACHE = Path(
    os.environ.get("RETURNWATCH_TEST_CACHE", Path.home() / ".cache" / "returnwatch-tests")
)


def test_working_file_is_beside_the_published_one(settings):
    assert working_path(settings) == settings.db.parent / ".work" / settings.db.name
    own = settings.model_copy(update={"work_db": settings.db.parent / "elsewhere.duckdb"})
    assert working_path(own) == settings.db.parent / "elsewhere.duckdb"


def test_publish_copies_committed_work_and_leaves_no_wal(settings):
    con = open_working(settings)
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
    assert Path(str(working_path(settings)) + ".wal").exists()  # not yet checkpointed

    published = publish(settings, con)  # the connection stays open meanwhile

    assert published == settings.db
    assert not Path(str(published) + ".wal").exists()
    reader = duckdb.connect(str(published), read_only=True)
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 1000
    reader.close()
    con.close()
    assert not list(published.parent.glob(".*.tmp"))


def test_publish_replaces_the_file_a_reader_holds(settings):
    con = open_working(settings)
    con.execute("CREATE TABLE t (night INT)")
    con.execute("INSERT INTO t VALUES (1)")
    publish(settings, con)
    reader = duckdb.connect(str(settings.db), read_only=True)

    con.execute("INSERT INTO t VALUES (2)")
    publish(settings, con)  # the reader's lock does not stop it

    assert reader.execute("SELECT max(night) FROM t").fetchone()[0] == 1  # old night, whole
    reader.close()
    fresh = duckdb.connect(str(settings.db), read_only=True)
    assert fresh.execute("SELECT max(night) FROM t").fetchone()[0] == 2
    fresh.close()
    con.close()


def test_publish_without_a_connection_opens_and_closes_one(settings):
    con = open_working(settings)
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    publish(settings)
    reader = duckdb.connect(str(settings.db), read_only=True)
    assert reader.execute("SELECT x FROM t").fetchone() == (1,)
    reader.close()


def test_a_warehouse_written_in_place_seeds_the_working_file(settings):
    settings.db.parent.mkdir(parents=True)
    old = duckdb.connect(str(settings.db))
    old.execute("CREATE TABLE legacy AS SELECT 42 AS answer")
    old.close()

    con = open_working(settings)
    assert con.execute("SELECT answer FROM legacy").fetchone() == (42,)
    con.close()
    assert ensure_working(settings) == working_path(settings)


def test_a_busy_working_file_is_waited_for_then_refused(settings):
    open_working(settings).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(working_path(settings))],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        slept: list[float] = []
        now = [0.0]

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        with pytest.raises(WarehouseBusy, match="held by another process"):
            open_working(settings, wait_seconds=3, sleep=sleep, clock=lambda: now[0])
        assert slept == [0.5, 1.0, 1.5]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def _duckdb_1_2(tmp_path: Path) -> Path:
    """DuckDB 1.2.2 unpacked into a folder for PYTHONPATH (a wheel is a zip), or skip."""
    cache = WHEEL_CACHE / "wheels"
    wheels = sorted(cache.glob(f"duckdb-{OLDEST_DUCKDB}-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        download = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                str(cache),
                f"duckdb=={OLDEST_DUCKDB}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        wheels = sorted(cache.glob(f"duckdb-{OLDEST_DUCKDB}-*.whl"))
        if download.returncode != 0 or not wheels:
            pytest.skip(
                f"cannot download duckdb=={OLDEST_DUCKDB} (no package registry?): "
                f"{download.stderr.strip()[-300:]}"
            )
    target = tmp_path / "duckdb-old"
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(target)
    return target


@pytest.mark.slow
def test_the_published_file_opens_in_duckdb_1_2(settings, tmp_path):
    from returnwatch.warehouse.migrate import available_migrations

    con = open_working(settings)  # the full schema, every view
    publish(settings, con)
    _night(con, 1)
    publish(settings, con)  # a full copy: the first file becomes the standby
    con.execute(
        "INSERT INTO daily_return_rates (shop_id, day, dimension, key, order_lines, returns, "
        "return_rate, baseline_rate, baseline_days, lift, computed_at) VALUES "
        "('s', DATE '2026-08-14', 'shop', '*', 100, 9, 0.09, 0.06, 28, 0.5, now()::TIMESTAMP)"
    )
    publish(settings, con)  # the standby, rewritten where it differs
    con.close()
    assert settings.db.read_bytes() == working_path(settings).read_bytes()
    old = _duckdb_1_2(tmp_path)

    views = [
        "v_daily_shop",
        "v_top_return_skus",
        "v_region_heatmap",
        "v_refund_processing_time",
        "v_refund_processing_daily",
        "v_return_reasons",
        "v_serial_returners",
        "v_carrier_regions",
    ]
    script = f"""
import sys, duckdb
assert duckdb.__version__ == {OLDEST_DUCKDB!r}, duckdb.__version__
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0])
print(con.execute("SELECT returns FROM v_daily_shop").fetchone()[0])
for view in {views!r}:
    con.execute(f"SELECT * FROM {{view}}").fetchall()
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(old)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(settings.db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    newest = max(m.version for m in available_migrations())
    assert done.stdout.split() == [str(newest), "9", "ok"]


def test_publishing_an_unchanged_working_file_copies_nothing(settings):
    con = open_working(settings)
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    publish(settings, con)
    first = settings.db.stat().st_ino

    publish(settings, con)  # nothing committed since: the published file is left as it is
    assert settings.db.stat().st_ino == first

    con.execute("INSERT INTO t VALUES (2)")
    publish(settings, con)  # a change: a new file, renamed over the old one
    assert settings.db.stat().st_ino != first
    reader = duckdb.connect(str(settings.db), read_only=True)
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    reader.close()
    con.close()


def test_a_published_file_written_in_place_is_published_again(settings):
    con = open_working(settings)
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    publish(settings, con)
    analyst = duckdb.connect(str(settings.db))  # read-write, against the advice
    analyst.execute("CREATE TABLE mine AS SELECT 42 AS y")
    analyst.close()

    publish(settings, con)  # the working file did not change, the published one did

    reader = duckdb.connect(str(settings.db), read_only=True)
    tables = {name for (name,) in reader.execute("SHOW TABLES").fetchall()}
    reader.close()
    assert "t" in tables and "mine" not in tables
    con.close()


def test_publish_copies_bytes_where_the_filesystem_cannot_clone(settings, monkeypatch):
    import errno
    import fcntl

    calls = []

    def no_reflink(fd, request, arg):
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", no_reflink)
    con = open_working(settings)
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(10)")
    publish(settings, con)
    con.close()

    if sys.platform.startswith("linux"):
        assert calls  # a clone was tried first
    reader = duckdb.connect(str(settings.db), read_only=True)
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 10
    reader.close()
    assert not list(settings.db.parent.glob(".*.tmp"))


def _night(con, night: int) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS t (night INT, i BIGINT)")
    con.execute(f"INSERT INTO t SELECT {night}, range FROM range(200000)")


def _nights_in(path: Path) -> list[int]:
    reader = duckdb.connect(str(path), read_only=True)
    try:
        return [n for (n,) in reader.execute("SELECT DISTINCT night FROM t ORDER BY 1").fetchall()]
    finally:
        reader.close()


def test_the_replaced_file_is_kept_and_rewritten_where_it_differs(settings, caplog):
    from returnwatch.warehouse.publish import standby_path

    standby = standby_path(settings.db)
    con = open_working(settings)
    _night(con, 1)
    publish(settings, con)
    assert not standby.exists()  # nothing was published before: nothing to keep
    first = settings.db.stat().st_ino

    _night(con, 2)
    publish(settings, con)  # a full copy; the file it replaced becomes the standby
    assert standby.stat().st_ino == first
    second = settings.db.stat().st_ino

    _night(con, 3)
    with caplog.at_level("INFO", logger="returnwatch.warehouse.publish"):
        publish(settings, con)  # the standby, brought up to date and renamed
    con.close()

    assert settings.db.stat().st_ino == first
    assert standby.stat().st_ino == second
    assert "chunks rewritten" in caplog.text
    assert settings.db.read_bytes() == working_path(settings).read_bytes()
    assert _nights_in(settings.db) == [1, 2, 3]
    assert _nights_in(standby) == [1, 2]  # the night before, untouched
    assert not list(settings.db.parent.glob(".*.tmp")) + list(settings.db.parent.glob(".*.link"))


def test_a_standby_that_shrank_or_grew_is_cut_to_size(settings):
    from returnwatch.warehouse.publish import standby_path

    con = open_working(settings)
    _night(con, 1)
    publish(settings, con)
    _night(con, 2)
    publish(settings, con)
    with open(standby_path(settings.db), "ab") as fh:  # longer than the working file
        fh.write(b"\0" * 1_000_000)
    con.execute("DELETE FROM t WHERE night = 1")
    publish(settings, con)
    con.close()
    assert settings.db.read_bytes() == working_path(settings).read_bytes()
    assert _nights_in(settings.db) == [2]


def test_a_standby_a_reader_holds_is_left_to_the_reader(settings, caplog):
    """A reader who opened the published file keeps it, untouched, until it is done, even
    after it became the standby: that publish makes a full copy instead."""
    from returnwatch.warehouse.publish import standby_path

    standby = standby_path(settings.db)
    con = open_working(settings)
    _night(con, 1)
    publish(settings, con)
    holder = subprocess.Popen(
        [sys.executable, "-c", READ_AND_HOLD, str(settings.db)],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().split() == ["1"]  # the reader sees night 1
        held = settings.db.stat().st_ino
        _night(con, 2)
        publish(settings, con)  # night 1's file becomes the standby, still held
        assert standby.stat().st_ino == held
        _night(con, 3)
        with caplog.at_level("INFO", logger="returnwatch.warehouse.publish"):
            publish(settings, con)
        assert "still held by a reader" in caplog.text
        assert settings.db.stat().st_ino != held
        holder.stdin.write("again\n")
        holder.stdin.flush()
        assert holder.stdout.readline().split() == ["1"]  # its night, whole, unchanged
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert _nights_in(settings.db) == [1, 2, 3]

    _night(con, 4)
    publish(settings, con)  # the reader is gone: the standby is used again
    con.close()
    assert settings.db.read_bytes() == working_path(settings).read_bytes()
    assert _nights_in(settings.db) == [1, 2, 3, 4]


def test_a_reader_in_this_process_also_keeps_its_file(settings):
    from returnwatch.warehouse.publish import standby_path

    con = open_working(settings)
    _night(con, 1)
    publish(settings, con)
    reader = duckdb.connect(str(settings.db), read_only=True)
    _night(con, 2)
    publish(settings, con)
    _night(con, 3)
    publish(settings, con)  # the standby is the reader's file: not written
    assert reader.execute("SELECT max(night), count(*) FROM t").fetchone() == (1, 200000)
    reader.close()
    con.close()
    assert _nights_in(settings.db) == [1, 2, 3]
    assert _nights_in(standby_path(settings.db)) == [1, 2]  # the file replaced, kept


READ_AND_HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for _ in iter(lambda: None, 0):
    print(con.execute("SELECT max(night) FROM t").fetchone()[0], flush=True)
    if not sys.stdin.readline():
        break
"""


def test_where_the_filesystem_clones_no_standby_is_kept(settings, monkeypatch):
    from returnwatch.warehouse import publish as publishing

    def clone(src: Path, dest: Path) -> bool:  # ext4 here: a copy stands in for the clone
        dest.write_bytes(src.read_bytes())
        return True

    monkeypatch.setattr(publishing, "reflink", clone)
    con = open_working(settings)
    for night in (1, 2, 3):
        _night(con, night)
        publish(settings, con)
    con.close()
    assert not publishing.standby_path(settings.db).exists()
    assert _nights_in(settings.db) == [1, 2, 3]


@pytest.mark.parametrize("way", ["cloned", "chunks rewritten", "copied"])
def test_every_way_of_publishing_gives_the_working_files_bytes(settings, monkeypatch, caplog, way):
    """publish has three ways to make the new published file (`publish._prepare`): a
    reflink clone, the standby rewritten chunk by chunk, a full copy. Whichever the
    filesystem allows, analysts must get exactly the bytes of the working file."""
    from returnwatch.warehouse import publish as publishing

    def clone(src: Path, dest: Path) -> bool:  # stands in for FICLONE on ext4
        dest.write_bytes(src.read_bytes())
        return True

    monkeypatch.setattr(publishing, "reflink", clone if way == "cloned" else lambda s, d: False)
    if way == "copied":
        monkeypatch.setattr(publishing, "_has_ofd_locks", lambda: False)  # so no standby
    con = open_working(settings)
    ways = []
    for night in (1, 2, 3):
        _night(con, night)
        caplog.clear()
        with caplog.at_level("INFO", logger="returnwatch.warehouse.publish"):
            publish(settings, con)
        ways.append(next(r.args[2] for r in caplog.records if r.msg.startswith("published")))
        assert settings.db.read_bytes() == working_path(settings).read_bytes(), night
    con.close()
    # the first two nights have no standby to rewrite yet: they are copied
    assert way in ways[2] and all(way in w or "copied" in w for w in ways), ways
    assert _nights_in(settings.db) == [1, 2, 3]
