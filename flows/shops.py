"""Which settings a flow runs with, per shop, and which night it is. No Prefect here.

Flows take only JSON parameters (a date, a shop id), so a deployment run on a worker and
an in-process call read the same things. Their settings come from the environment and the
config file (`load_settings`), unless a caller in the same process — `returnwatch run`,
the demo, a test — hands its own `Settings` over with `use_settings`.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from returnwatch.settings import Settings, load_settings

_override: Settings | None = None
_override_lock = threading.Lock()


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Run the flows called inside this block with these settings (same process only).

    A module global rather than a context variable: Prefect may run a flow or a task in
    another thread of the same process, where a context variable would not be seen.
    """
    global _override
    with _override_lock:
        previous, _override = _override, settings
    try:
        yield settings
    finally:
        with _override_lock:
            _override = previous


def current_settings() -> Settings:
    """The settings handed over with `use_settings`, else read afresh from env and file."""
    return _override if _override is not None else load_settings()


def shop_settings(settings: Settings, shop_id: str) -> Settings:
    """The settings as one shop sees them: its id, timezone, inbox and warehouse file.

    With several `[[shops]]`, a shop without its own `inbox` reads `<inbox>/<shop_id>`:
    抖店 exports carry no shop id, so each shop's files must arrive in their own folder.
    A shop with its own `db` gets its own working file beside it (work_db is re-derived).
    """
    entry = next((s for s in settings.shops if s.shop_id == shop_id), None)
    update: dict[str, object] = {"shop_id": shop_id}
    if entry is not None:
        if entry.timezone:
            update["timezone"] = entry.timezone
        if entry.db is not None:
            update["db"] = entry.db
            update["work_db"] = None
        if entry.inbox is not None:
            update["inbox"] = entry.inbox
    if "inbox" not in update and len(settings.shop_ids()) > 1:
        update["inbox"] = Path(settings.inbox) / safe_name(shop_id)
    return settings.model_copy(update=update)


def default_night(settings: Settings, now: dt.datetime | None = None) -> dt.date:
    """Yesterday in the shop's timezone: the night a run at 02:00 reports on."""
    zone = ZoneInfo(settings.timezone)
    now = now.astimezone(zone) if now is not None else dt.datetime.now(zone)
    return now.date() - dt.timedelta(days=1)


def local_today(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.timezone)).date()


def safe_name(shop_id: str) -> str:
    """A shop id as a file or folder name."""
    return re.sub(r"[^\w.-]+", "_", shop_id).strip("._") or "shop"
