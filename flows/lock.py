"""One nightly run per shop at a time: an advisory file lock, no server needed.

`fcntl.flock` on `<working file dir>/nightly-<shop>.lock`, taken without blocking. The
kernel drops it when the process ends, however it ends, so a crashed run never leaves a
stale lock behind. The file's text says who holds it, for the second run's message.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from returnwatch.flows.shops import safe_name
from returnwatch.settings import Settings
from returnwatch.warehouse.disk import working_path


class RunInProgress(RuntimeError):
    """Another nightly run of the same shop holds the lock."""


def lock_path(settings: Settings, shop_id: str) -> Path:
    return working_path(settings).parent / f"nightly-{safe_name(shop_id)}.lock"


@contextmanager
def shop_lock(settings: Settings, shop_id: str) -> Iterator[Path]:
    """Hold the shop's nightly lock for the block, or raise RunInProgress at once."""
    path = lock_path(settings, shop_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise RunInProgress(
                f"another nightly run of shop {shop_id} is in progress ({holder}); "
                "this one exits without doing anything"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {dt.datetime.now():%Y-%m-%d %H:%M:%S}".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
