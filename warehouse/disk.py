"""The warehouse's files on disk: where the working file lives, and writing files durably.

Opening the warehouse (connection.py), compacting it (compaction.py) and publishing it
(publish.py) all need these; they live here, below all three, so that none of those
modules has to import another one back.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
from pathlib import Path

from returnwatch.settings import Settings

log = logging.getLogger(__name__)

WORK_DIR = ".work"


def working_path(settings: Settings) -> Path:
    """The working file: `settings.work_db`, else `<db dir>/.work/<db name>`."""
    if settings.work_db is not None:
        return Path(settings.work_db)
    db = Path(settings.db)
    return db.parent / WORK_DIR / db.name


def wal_path(path: Path) -> Path:
    """The write-ahead log DuckDB keeps beside a database file."""
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
        copy_durably(published, work)
        if wal_path(published).exists():
            copy_durably(wal_path(published), wal_path(work))
    return work


# ioctl(dest, FICLONE, src): share src's blocks copy-on-write (Linux; XFS, btrfs, …).
FICLONE = 0x40049409
NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


def reflink(src: Path, dest: Path) -> bool:
    """Clone src into a new file dest where the filesystem can; False (and no dest) if not."""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    with open(src, "rb") as fin, open(dest, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
            return True
        except OSError as exc:
            if exc.errno not in NO_REFLINK:
                raise
    dest.unlink(missing_ok=True)
    return False


def copy_durably(src: Path, dest: Path) -> None:
    """Clone (reflink) or copy the bytes, and fsync them before anyone renames.

    A clone is a new inode sharing the blocks copy-on-write: writing the working file
    afterwards never changes the clone, exactly as with a byte copy.
    """
    if not reflink(src, dest):
        shutil.copyfile(src, dest)  # sendfile/copy_file_range where the OS has them
    fsync(dest)


def fsync(path: Path) -> None:
    """Flush a file's bytes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename itself durable (POSIX; a no-op where directories cannot be opened)."""
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
