"""The inbox folder: which dropped files are ready to read, and where they go afterwards.

Ops staff (or a sync tool) drop 抖店 exports into the shop's inbox at any time, also while
a nightly run is reading it. A file is taken only when it has settled: its modification
time is at least `settle_seconds` old (every write moves it, so a file still being copied
in is left for the next run) and it is not a partial download (`*.part`, `*.tmp`,
`*.crdownload`), an Office lock file (`~$*`) or a hidden file. Files that arrive after the
scan are not seen by this run at all. After the import a file is moved, never deleted:

- loaded, or already imported (same bytes) → `processed/YYYY-MM-DD/` (the run's day);
- refused → `rejected/`, with `<name>.why.txt` beside it saying why and what to do;
- changed while it was being read → left where it is, for the next run.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

PROCESSED = "processed"
REJECTED = "rejected"
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".filepart")


@dataclass(frozen=True)
class InboxFile:
    """A file as the scan saw it: reading it is safe while size and mtime stay these."""

    path: Path
    size: int
    mtime_ns: int

    def unchanged(self) -> bool:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return False
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


@dataclass
class InboxScan:
    ready: list[InboxFile] = field(default_factory=list)
    settling: list[Path] = field(default_factory=list)  # written to too recently
    ignored: list[Path] = field(default_factory=list)  # partial downloads, lock/hidden files


def is_ignored(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "~$")) or name.lower().endswith(PARTIAL_SUFFIXES)


def scan(inbox: Path, *, settle_seconds: float, now: float | None = None) -> InboxScan:
    """The inbox's files (subfolders too, except processed/ and rejected/), oldest first.

    `now` is the wall-clock time in seconds (injectable for tests; default time.time()).
    """
    result = InboxScan()
    inbox = Path(inbox)
    if not inbox.is_dir():
        return result
    now = time.time() if now is None else now
    found: list[InboxFile] = []
    for root, dirs, files in os.walk(inbox):
        here = Path(root)
        if here == inbox:
            dirs[:] = [d for d in dirs if d not in (PROCESSED, REJECTED)]
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if is_ignored(path):
                result.ignored.append(path)
                continue
            try:
                st = path.stat()
            except FileNotFoundError:  # moved away between listing and stat
                continue
            if now - st.st_mtime < settle_seconds:
                result.settling.append(path)
                continue
            found.append(InboxFile(path, st.st_size, st.st_mtime_ns))
    result.ready = sorted(found, key=lambda f: (f.mtime_ns, str(f.path)))
    return result


def move_processed(inbox: Path, path: Path, day: dt.date) -> Path:
    """Move an imported (or already imported) file to `processed/<day>/`; its new path."""
    return _move(path, Path(inbox) / PROCESSED / day.isoformat())


def move_rejected(inbox: Path, path: Path, reason: str, *, when: dt.datetime | None = None) -> Path:
    """Move a refused file to `rejected/` and write `<name>.why.txt` beside it."""
    moved = _move(path, Path(inbox) / REJECTED)
    when = when or dt.datetime.now()
    why = moved.with_name(moved.name + ".why.txt")
    why.write_text(
        f"{path.name} was not imported ({when:%Y-%m-%d %H:%M}).\n\n"
        f"Why: {reason}\n\n"
        "What to do: fix or re-export the file and drop it into the inbox again; the next\n"
        "nightly run picks it up. Nothing of this file reached the warehouse.\n",
        encoding="utf-8",
    )
    return moved


def _move(path: Path, folder: Path) -> Path:
    """Rename into `folder`, never over an existing file (`name (2).csv`, …)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 2
    while target.exists() or target.with_name(target.name + ".why.txt").exists():
        target = folder / f"{path.stem} ({n}){path.suffix}"
        n += 1
    os.replace(path, target)
    return target
