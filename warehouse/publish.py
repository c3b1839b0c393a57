"""The working file writers use, and publishing it atomically as the file analysts open.

DuckDB lets one process write a file, and no process can open it for writing while another
holds it, even read-only. Analysts keep the warehouse open in DBeaver, the DuckDB CLI or a
notebook, often all night. So nothing writes the file they open (`settings.db`, the
*published* file): every writer uses a private *working* file (`disk.working_path`), and when a
command has committed its work, `publish` copies the working file beside the published one
and renames it over it. A rename is atomic on POSIX: a reader holding the old file keeps
reading the old night, whole, until it reconnects, and then sees the new night, whole.
Never half a night.

The working file is created in the v1.2.0 storage format (`connection.STORAGE_COMPATIBILITY`),
and a byte copy keeps it, so the published file opens in DuckDB >= 1.2 as well as 2.0.

What a publish costs. A full copy grows with the history (about a second per GB, fsync
included, on a local SSD), while a night changes a few MB of it. So:

- nothing changed, nothing copied: each publish leaves a stamp beside the working file
  (the working file's size and DuckDB headers, which every committed CHECKPOINT rewrites,
  and the published file's inode, size and mtime). When both files still match it, the
  published file already holds every committed byte and is left as it is;
- on a filesystem with reflinks (XFS, btrfs, bcachefs, ZFS 2.2+, …) the copy is a clone:
  it shares the unchanged blocks and costs milliseconds whatever the size;
- elsewhere (ext4) the file the previous publish replaced is kept as the *standby*
  (`.<db name>.standby`, beside the published file): the next publish compares it with
  the working file chunk by chunk and rewrites only the chunks that differ (a night
  rewrites a few MB of a 600 MB warehouse; reading both files from the page cache costs
  ~0.1 s per GB), then renames it over the published file and keeps the file it replaced
  as the next standby. The standby is only written when no process holds it: a reader
  who opened it while it was published (DuckDB locks the files it opens, read-only ones
  too) keeps it untouched, and that publish makes a fresh full copy instead.

Either way the published file is a new inode renamed over the old one, written and
fsynced while no reader can reach it by name, so readers keep their night and writers
never touch a file a reader holds. The standby costs one more file of the warehouse's
size on disk.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from returnwatch.settings import Settings
from returnwatch.warehouse.connection import connect
from returnwatch.warehouse.disk import (
    ensure_working,
    fsync,
    fsync_dir,
    reflink,
    wal_path,
    working_path,
)

log = logging.getLogger(__name__)


class WarehouseBusy(RuntimeError):
    """Another process kept the working file locked for longer than we were told to wait."""


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
        if _unchanged_since_last_publish(work, published):
            log.info("%s unchanged since it was last published: nothing to copy", work)
            return published
        published.parent.mkdir(parents=True, exist_ok=True)
        tmp = published.with_name(f".{published.name}.publish-{os.getpid()}.tmp")
        try:
            ready, how = _prepare(work, tmp, standby_path(published))
            stale_wal = wal_path(published)
            if stale_wal.exists():
                # Left by a process that wrote the published file itself (an analyst's
                # read-write session, or a version before publishing). Replayed onto the new
                # file it would corrupt it; its changes are not ours to keep.
                log.warning("removing %s: the published file is never written in place", stale_wal)
                stale_wal.unlink()
            _swap_in(ready, published, keep_old=how != "cloned" and _has_ofd_locks())
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(published.parent)
        _write_stamp(work, published)
        log.info(
            "published %s (%.1f MB, %s) in %.2fs",
            published,
            published.stat().st_size / 1e6,
            how,
            time.perf_counter() - started,
        )
        return published
    finally:
        if own:
            con.close()


# -- nothing changed, nothing copied ------------------------------------------------------

# DuckDB's main header and its two alternating database headers: a CHECKPOINT that writes
# anything writes a new database header (its iteration counter goes up).
HEADER_BYTES = 3 * 4096


def stamp_path(work: Path) -> Path:
    """Where the last publish of `work` is described (beside the working file)."""
    return work.with_name(work.name + ".published")


def _fingerprint(work: Path, published: Path) -> dict[str, object] | None:
    """What must be unchanged for the published file to still equal the working file."""
    try:
        with open(work, "rb") as fh:
            header = hashlib.sha256(fh.read(HEADER_BYTES)).hexdigest()
        work_size = work.stat().st_size
        pub = published.stat()
    except FileNotFoundError:
        return None
    return {
        "work": [work_size, header],
        "published": [pub.st_ino, pub.st_size, pub.st_mtime_ns],
    }


def _unchanged_since_last_publish(work: Path, published: Path) -> bool:
    """True when neither file changed since the last publish (after the caller's
    CHECKPOINT): no WAL beside either file, and both match the stamp that publish left."""
    if wal_path(work).exists() and wal_path(work).stat().st_size > 0:
        return False
    if wal_path(published).exists():
        return False
    try:
        stamp = json.loads(stamp_path(work).read_text())
    except (OSError, ValueError):
        return False
    current = _fingerprint(work, published)
    return current is not None and stamp == json.loads(json.dumps(current))


def _write_stamp(work: Path, published: Path) -> None:
    """Remember what was published (best effort: without a stamp the next publish copies)."""
    current = _fingerprint(work, published)
    if current is None:
        return
    try:
        stamp_path(work).write_text(json.dumps(current))
    except OSError as exc:
        log.warning("could not write %s: %s", stamp_path(work), exc)


# -- the standby: rewrite only what changed -----------------------------------------------

# Compared and rewritten in chunks of DuckDB's block size (the blocks themselves start
# after the 12 KiB of headers, so a changed block touches two chunks at most).
CHUNK_BYTES = 256 * 1024


def standby_path(published: Path) -> Path:
    """The previously published file, kept to become the next one (hidden, beside it)."""
    return published.with_name(f".{published.name}.standby")


def _prepare(work: Path, tmp: Path, standby: Path) -> tuple[Path, str]:
    """A durable file equal to `work` that no reader can reach by name, and how it was made:
    "cloned" (reflink into tmp), "N of M chunks rewritten" (the standby, brought up to
    date) or "copied" (a byte copy into tmp).

    Three ways to one result, because what a filesystem offers differs: a clone costs
    milliseconds but needs reflinks; without them the standby turns a nightly copy of the
    whole history (about a second per GB) into reading it and writing the few MB a night
    changed; the copy is the fallback when a reader holds the standby or the platform has
    no OFD locks. tests/flows/test_publish.py::
    test_every_way_of_publishing_gives_the_working_files_bytes holds them to the same bytes.
    """
    if reflink(work, tmp):
        fsync(tmp)
        standby.unlink(missing_ok=True)  # clones need none
        return tmp, "cloned"
    if standby.exists() and _has_ofd_locks():
        rewritten = _sync_into(work, standby)
        if rewritten is not None:
            return standby, rewritten
        # Someone opened it while it was the published file and still reads it: theirs.
        log.info("%s is still held by a reader: publishing a full copy", standby)
        standby.unlink(missing_ok=True)
    shutil.copyfile(work, tmp)  # sendfile/copy_file_range where the OS has them
    fsync(tmp)
    return tmp, "copied"


def _has_ofd_locks() -> bool:
    """Open-file-description locks (Linux): without them a standby held by a reader in
    this process cannot be told from a free one, so none is kept and publish copies."""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    return hasattr(fcntl, "F_OFD_SETLK")


def _lock_exclusively(fd: int) -> bool:
    """Take an exclusive open-file-description lock on the whole file, without waiting.

    DuckDB locks every file it opens (a shared POSIX lock when read-only); an OFD lock
    conflicts with those even when they belong to this very process, so False means that
    some connection, here or elsewhere, has the file open.
    """
    import fcntl

    flock = struct.pack("@hhqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, flock)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _sync_into(work: Path, standby: Path) -> str | None:
    """Make `standby` byte-equal to `work`, writing only the chunks that differ, and fsync
    it; a description of what was written, or None (untouched) when a reader holds it."""
    fd = os.open(standby, os.O_RDWR)
    try:
        if not _lock_exclusively(fd):
            return None
        size = work.stat().st_size
        ours, theirs = bytearray(CHUNK_BYTES), bytearray(CHUNK_BYTES)
        chunks = rewritten = 0
        with open(work, "rb", buffering=0) as src:
            offset = 0
            while offset < size:
                n = src.readinto(ours)
                if not n:
                    break
                m = os.preadv(fd, [theirs], offset)
                same = ours == theirs if n == m == CHUNK_BYTES else ours[:n] == theirs[:m]
                if not same:
                    os.pwrite(fd, memoryview(ours)[:n], offset)
                    rewritten += 1
                chunks += 1
                offset += n
        os.ftruncate(fd, offset)
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock: the file is renamed over the published one next
    return f"{rewritten} of {chunks} chunks rewritten"


def _swap_in(ready: Path, published: Path, *, keep_old: bool) -> None:
    """Rename `ready` over the published file; with `keep_old`, the file it replaces
    becomes the standby for the next publish (a hard link taken before the rename)."""
    standby = standby_path(published)
    link = standby.with_name(f"{standby.name}.link")  # publishes never overlap
    kept = False
    if keep_old and published.exists():
        link.unlink(missing_ok=True)
        try:
            os.link(published, link)
            kept = True
        except OSError as exc:  # a filesystem without hard links: no standby
            log.info("cannot keep %s as the standby: %s", published, exc)
    try:
        os.replace(ready, published)
        if kept:
            os.replace(link, standby)
    finally:
        link.unlink(missing_ok=True)
