"""The working file writers use, and publishing it atomically as the file analysts open.

DuckDB lets one process write a file, and no process can open it for writing while another
holds it, even read-only. Analysts keep the warehouse open in DBeaver, the DuckDB CLI or a
notebook, often all night. So nothing writes the file they open (`settings.db`, the
*published* file): every writer uses a private *working* file (`working_path`), and when a
command has committed its work, `publish` copies the working file beside the published one
and renames it over it. A rename is atomic on POSIX: a reader holding the old file keeps
reading the old night, whole, until it reconnects, and then sees the new night, whole.
Never half a night.

The working file is created in the v1.2.0 storage format (`connection.STORAGE_COMPATIBILITY`),
and a byte copy keeps it, so the published file opens in DuckDB >= 1.2 as well as 2.0.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from returnwatch.settings import Settings

log = logging.getLogger(__name__)

WORK_DIR = ".work"


class WarehouseBusy(RuntimeError):
    """Another process kept the working file locked for longer than we were told to wait."""


def working_path(settings: Settings) -> Path:
    """The working file: `settings.work_db`, else `<db dir>/.work/<db name>`."""
    if settings.work_db is not None:
        return Path(settings.work_db)
    db = Path(settings.db)
    return db.parent / WORK_DIR / db.name


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def ensure_working(settings: Settings) -> Path:
    """The working file's path, seeded from the published file when it has none yet.

    A warehouse made before publishing existed was written in place: its data (and a WAL a
    crash may have left beside it) is copied to the working file, so nothing is lost. The
    published file is only read, so an analyst holding it does not get in the way.
    """
    work = working_path(settings)
    published = Path(settings.db)
    work.parent.mkdir(parents=True, exist_ok=True)
    if not work.exists() and published.exists():
        log.info("seeding the working file %s from %s", work, published)
        _copy_durably(published, work)
        if _wal(published).exists():
            _copy_durably(_wal(published), _wal(work))
    return work


def open_working(
    settings: Settings,
    *,
    wait_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the working file, migrated to the newest schema.

    While another process writes it (an import, another shop's nightly run), wait up to
    `wait_seconds` (default `settings.warehouse_wait_seconds`), then raise WarehouseBusy.
    """
    from returnwatch.warehouse.connection import connect

    path = ensure_working(settings)
    wait = settings.warehouse_wait_seconds if wait_seconds is None else wait_seconds
    deadline = clock() + wait
    delay = 0.5
    while True:
        try:
            return connect(settings, path=path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            left = deadline - clock()
            if left <= 0:
                raise WarehouseBusy(
                    f"the working file {path} is held by another process: {exc}"
                ) from exc
            log.info("working file %s is busy; waiting %.1fs", path, min(delay, left))
            sleep(min(delay, left))
            delay = min(delay * 2, 30.0)


def publish(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Copy the committed working file over the published one, atomically; returns its path.

    `con`: an open connection to the working file (the caller's, outside any transaction);
    without one, a connection is opened for the copy. Either way the copy is made while
    this process holds the working file, so no other writer can change it mid-copy, and
    after a CHECKPOINT, so nothing is left only in the WAL.
    """
    published = Path(settings.db)
    work = working_path(settings)
    if con is None and not work.exists():
        return published  # nothing written yet
    own = con is None
    if own:
        con = open_working(settings)
    try:
        con.execute("CHECKPOINT")
        started = time.perf_counter()
        published.parent.mkdir(parents=True, exist_ok=True)
        tmp = published.with_name(f".{published.name}.publish-{os.getpid()}.tmp")
        try:
            _copy_durably(work, tmp)
            stale_wal = _wal(published)
            if stale_wal.exists():
                # Left by a process that wrote the published file itself (an analyst's
                # read-write session, or a version before publishing). Replayed onto the new
                # file it would corrupt it; its changes are not ours to keep.
                log.warning("removing %s: the published file is never written in place", stale_wal)
                stale_wal.unlink()
            os.replace(tmp, published)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(published.parent)
        log.info(
            "published %s (%.1f MB) in %.2fs",
            published,
            published.stat().st_size / 1e6,
            time.perf_counter() - started,
        )
        return published
    finally:
        if own:
            con.close()


def _copy_durably(src: Path, dest: Path) -> None:
    """Copy bytes (sendfile where the OS has it) and fsync them before anyone renames."""
    shutil.copyfile(src, dest)
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
