"""Pulling the 抖店 API into the warehouse through the same import path files take.

A pull, per stream (orders, refunds):

1. window — nightly: records *updated* in [watermark − overlap, now] (statuses change for
   weeks after a request, so the overlap re-reads recent days; a first pull goes back
   `initial_days`); manual: records *created* (refunds: applied for) on the given days.
2. chunks — the window is cut at shop-local midnights (and every `chunk_hours`), so each
   call asks for at most a day and memory holds at most one chunk. A chunk that reports
   more than `max_rows_per_chunk` records is halved until it does not.
3. pages — every page of every chunk, retried on network errors, 5xx and throttling. If
   a chunk's `total` moves while it is paged (a record updated mid-pull leaves the window
   and shifts the rest one place) the chunk is paged again and the passes are merged.
4. rows — mapped to canonical rows with no personal data, deduplicated by id (the newest
   update wins) and written as canonical CSV into a temporary folder.
5. load — each file goes through `ingest.import_file(..., source="api")`: the same
   validation, quarantine and atomic upsert as an export file.
6. watermark — moved to the window's end, in its own transaction, only when every page
   was fetched and every file came back loaded (or already loaded). Otherwise it stays,
   and the next pull re-reads the same window; the upsert makes that harmless.

A failed stream does not stop the other one. An expired access token is renewed in the
middle of a page run (tokens.py) and the pull carries on; a token that cannot be renewed
or a refused signature stops the pull at once (nothing else can succeed), with a message
that says what to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import duckdb
import requests

from returnwatch.settings import Settings
from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.client import DoudianClient, Page, Sleep, method_name
from returnwatch.sources.doudian_api.exceptions import (
    DoudianApiError,
    PullFailed,
    SignatureRejectedError,
    TokenExpiredError,
)
from returnwatch.sources.doudian_api.mapping import (
    ORDER_FIELDS,
    REFUND_FIELDS,
    Mapped,
    id_text,
    map_order,
    map_refund,
    scrub_pii,
)
from returnwatch.sources.doudian_api.tokens import token_file
from returnwatch.sources.doudian_api.watermarks import advance_watermark, read_watermark
from returnwatch.sources.ingest import ImportResult, import_file

log = logging.getLogger(__name__)
UTC = dt.UTC
By = Literal["update_time", "create_time"]
PULLED_AT = "pulled_at"  # an extra CSV column (the canonical profile ignores it)


# --- summaries ---------------------------------------------------------------------------


@dataclass
class StreamSummary:
    """What one stream of one pull did."""

    stream: str
    by: By
    window_start: dt.datetime
    window_end: dt.datetime
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    chunks: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    rows: int = 0  # distinct canonical rows written (order lines / refunds)
    unpaid_skipped: int = 0  # order lines without a pay time: not sales, not written
    raw_files: int = 0
    imports: list[ImportResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.imports)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.imports)

    def lines(self, tz: ZoneInfo) -> list[str]:
        window = f"{_local(self.window_start, tz)} → {_local(self.window_end, tz)}"
        by = "updated" if self.by == "update_time" else _CREATED[self.stream]
        head = (
            f"{self.stream} {by} {window}: {self.chunks} chunk(s), "
            f"{self.pages} page(s), {self.requests} request(s)"
            + (
                f" incl. {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
                if self.retries
                else ""
            )
            + f", {self.rows:,} row(s)"
            + (f" ({self.unpaid_skipped:,} unpaid line(s) skipped)" if self.unpaid_skipped else "")
        )
        out = [head]
        out += [f"    {r.line()}" for r in self.imports]
        out += [f"    warning: {w}" for w in self.warnings]
        if self.raw_files:
            out.append(f"    raw responses kept: {self.raw_files} file(s)")
        before = _local(self.watermark_before, tz) if self.watermark_before else "none"
        after = _local(self.watermark_after, tz) if self.watermark_after else "none"
        if self.error:
            out.append(f"    FAILED: {self.error}")
            out.append(f"    watermark stays at {before}; the next pull re-reads this window")
        elif self.by == "update_time":
            out.append(f"    watermark {before} → {after}")
        else:
            out.append(f"    watermark unchanged ({before}): a manual range never moves it")
        return out


@dataclass
class PullSummary:
    """What a pull did, per stream; `str()` is what the CLI prints."""

    shop_id: str
    mode: Literal["updates", "range"]
    timezone: str
    streams: list[StreamSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.streams)

    def stream(self, name: str) -> StreamSummary:
        return next(s for s in self.streams if s.stream == name)

    def __str__(self) -> str:
        tz = ZoneInfo(self.timezone)
        title = "updates since the watermark" if self.mode == "updates" else "manual range"
        lines = [f"抖店 API pull for shop {self.shop_id} ({title}, times {self.timezone}):"]
        for s in self.streams:
            lines += ["  " + line for line in s.lines(tz)]
        lines += [f"  {note}" for note in self.notes]
        lines.append("  ok" if self.ok else "  FAILED: see above; nothing of a failed stream moved")
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise PullFailed (carrying this summary) when any stream failed."""
        if not self.ok:
            raise PullFailed(self)


_CREATED = {"orders": "created", "refunds": "applied for"}


def _local(value: dt.datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


# --- public entry points -----------------------------------------------------------------


def api_configured(settings: Settings) -> bool:
    """True when `[source.api]` is switched on (an app_key is set)."""
    return bool(settings.source.api.app_key)


def pull_updates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    *,
    shop_id: str | None = None,
    now: dt.datetime | None = None,
    session: requests.Session | None = None,
    sleep: Sleep | None = None,
    streams: Sequence[str] = ("orders", "refunds"),
    client: DoudianClient | None = None,
) -> PullSummary:
    """The nightly pull: records updated since each stream's watermark (minus the overlap)
    up to `now`; the watermark moves to `now` once everything of the stream loaded.

    `now` may be naive (read as shop-local) or aware; default: the current time.
    """
    api = settings.source.api
    tz = ZoneInfo(settings.timezone)
    shop = shop_id or api.shop_id or settings.shop_id
    end = _aware(now, tz) if now is not None else dt.datetime.now(UTC)
    end = end.replace(microsecond=0)
    client = client or _client(settings, session, sleep)
    summary = PullSummary(shop, "updates", settings.timezone)
    pulled_at = dt.datetime.now(UTC)
    for name in streams:
        stream = c.STREAMS[name]
        before = read_watermark(con, shop, stream.name)
        if before is not None:
            start = before - dt.timedelta(hours=api.overlap_hours)
        else:
            start = end - dt.timedelta(days=api.initial_days)
        result = StreamSummary(stream.name, "update_time", start, end, before, before)
        summary.streams.append(result)
        if _pull_stream(con, settings, client, stream, result, shop, tz, pulled_at):
            result.watermark_after = advance_watermark(con, shop, stream.name, end)
    summary.notes += _token_notes(client, settings)
    return summary


def pull_range(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    *,
    shop_id: str | None = None,
    session: requests.Session | None = None,
    sleep: Sleep | None = None,
    streams: Sequence[str] = ("orders", "refunds"),
    client: DoudianClient | None = None,
) -> PullSummary:
    """A manual pull (`returnwatch pull --start D --end D`): orders created and refunds
    applied for from `start` to `end` inclusive, shop-local days. Watermarks are left
    alone: a range by creation time says nothing about later updates."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")
    api = settings.source.api
    tz = ZoneInfo(settings.timezone)
    shop = shop_id or api.shop_id or settings.shop_id
    window_start = dt.datetime.combine(start, dt.time(), tz)
    window_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) - dt.timedelta(
        seconds=1
    )
    client = client or _client(settings, session, sleep)
    summary = PullSummary(shop, "range", settings.timezone)
    pulled_at = dt.datetime.now(UTC)
    for name in streams:
        stream = c.STREAMS[name]
        mark = read_watermark(con, shop, stream.name)
        result = StreamSummary(stream.name, "create_time", window_start, window_end, mark, mark)
        summary.streams.append(result)
        _pull_stream(con, settings, client, stream, result, shop, tz, pulled_at)
    summary.notes += _token_notes(client, settings)
    return summary


def _client(settings: Settings, session: requests.Session | None, sleep: Sleep | None):
    return DoudianClient.from_settings(
        settings.source.api, session=session, sleep=sleep, token_file=token_file(settings)
    )


def _token_notes(client: DoudianClient, settings: Settings) -> list[str]:
    """What the summary says about the token: renewals and where the pair is kept, and a
    refresh token near its end (never a token itself)."""
    keeper = client.tokens
    if keeper is None or not keeper.renewals:
        return []
    notes = [
        f"the access token was renewed ({keeper.renewals}×); the new pair is kept in "
        f"{token_file(settings)}"
    ]
    ends = keeper.pair.refresh_expires_at
    if ends is not None:
        notes.append(
            "the refresh token is good until "
            + dt.datetime.fromtimestamp(ends, ZoneInfo(settings.timezone)).strftime(
                "%Y-%m-%d %H:%M"
            )
        )
    return notes


# --- one stream --------------------------------------------------------------------------


def _pull_stream(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    client: DoudianClient,
    stream: c.Stream,
    result: StreamSummary,
    shop: str,
    tz: ZoneInfo,
    pulled_at: dt.datetime,
) -> bool:
    """Fetch, write and load one stream; True when all of it is in the warehouse."""
    api = settings.source.api
    keys = stream.update_window if result.by == "update_time" else stream.create_window
    first = int(result.window_start.timestamp())
    last = int(result.window_end.timestamp())
    mapper = _mapper(stream, shop, tz, settings)
    raw = _RawKeeper(settings, stream, tz, pulled_at) if api.keep_raw else None
    requests_before, retries_before = client.requests, client.retries
    label = f"{_stamp(result.window_start, tz)}_{_stamp(result.window_end, tz)}"
    with tempfile.TemporaryDirectory(prefix="returnwatch-api-") as tmp:
        writer = _CsvWriter(Path(tmp), stream, shop, label, pulled_at)
        try:
            for chunk in chunk_window(first, last, tz, api.chunk_hours):
                for fetched in _fetch_chunk(client, stream, keys, chunk, api, mapper, raw, result):
                    result.chunks += 1
                    writer.add(fetched)
        except (TokenExpiredError, SignatureRejectedError):
            raise
        except DoudianApiError as error:
            result.error = _describe(error, stream, tz)
            log.warning("抖店 API %s pull failed: %s", stream.name, result.error)
            return False
        finally:
            paths = writer.close()
            result.requests = client.requests - requests_before
            result.retries = client.retries - retries_before
            result.raw_files = raw.files if raw else 0
        result.rows = writer.rows
        for path in paths:
            try:
                imported = import_file(con, settings, path, shop_id=shop, source=c.SOURCE)
            except Exception as exc:  # a load that failed mid-way rolled back; say so
                result.error = f"{path.name}: load failed ({type(exc).__name__}: {exc})"
                return False
            result.imports.append(imported)
            if imported.status == "refused":
                result.error = f"{path.name}: refused by the importer ({imported.message})"
                return False
    return True


def _describe(error: DoudianApiError, stream: c.Stream, tz: ZoneInfo) -> str:
    """ "page 7 of 12 (page=6) of /order/searchList, window …: <what happened>"."""
    where = ""
    if error.page is not None:
        where = f"page {error.page + 1}"
        if error.pages is not None:
            where += f" of {max(error.pages, error.page + 1)}"
        where += f" (page={error.page}) of {stream.path}"
        if error.window is not None:
            first, last = (dt.datetime.fromtimestamp(t, tz) for t in error.window)
            where += f", window {_local(first, tz)} → {_local(last, tz)}"
        where += ": "
    return where + error.message


Mapper = Callable[[Mapping[str, Any]], tuple[str, list[Mapped], int]]


def _mapper(stream: c.Stream, shop: str, tz: ZoneInfo, settings: Settings) -> Mapper:
    """item → (record id, canonical rows, unpaid lines skipped)."""
    if stream.name == "orders":
        key = settings.pii_key()

        def orders(item: Mapping[str, Any]) -> tuple[str, list[Mapped], int]:
            rows, unpaid = map_order(item, shop_id=shop, tz=tz, pii_key=key)
            return id_text(item.get("order_id")) or "", rows, unpaid

        return orders

    def refunds(item: Mapping[str, Any]) -> tuple[str, list[Mapped], int]:
        mapped = map_refund(item, shop_id=shop, tz=tz)
        return mapped.key, [mapped], 0

    return refunds


@dataclass
class _Fetched:
    start: int
    end: int
    rows: dict[str, Mapped]


def _fetch_chunk(
    client: DoudianClient,
    stream: c.Stream,
    keys: tuple[str, str],
    chunk: tuple[int, int],
    api: Any,
    mapper: Mapper,
    raw: _RawKeeper | None,
    result: StreamSummary,
) -> Iterator[_Fetched]:
    """Every record of one chunk (halved while it is too big), newest copy per id."""
    start, end = chunk
    params = {keys[0]: start, keys[1]: end}
    rows: dict[str, Mapped] = {}
    unpaid: dict[str, int] = {}
    records: set[str] = set()
    for attempt in range(1, c.MAX_CHUNK_PASSES + 1):
        totals: set[int] = set()
        pages = client.pages(stream.path, params, items_key=stream.items_key, size=api.page_size)
        for page in _noting_window(pages, start, end):
            if (
                attempt == 1
                and page.number == 0
                and page.total > api.max_rows_per_chunk
                and end - start + 1 >= 2 * c.MIN_CHUNK_SECONDS
            ):
                middle = start + (end - start) // 2
                for half in ((start, middle), (middle + 1, end)):
                    yield from _fetch_chunk(client, stream, keys, half, api, mapper, raw, result)
                return
            result.pages += 1
            totals.add(page.total)
            if raw is not None:
                raw.keep(page, start, attempt)
            for item in page.items:
                if not isinstance(item, Mapping):
                    continue
                record, mapped, skipped = mapper(item)
                records.add(record)
                unpaid[record] = skipped
                for row in mapped:
                    old = rows.get(row.key)
                    if old is None or row.updated >= old.updated:
                        rows[row.key] = row
        if len(totals) <= 1 and len(records) >= max(totals, default=0):
            break
        if attempt == c.MAX_CHUNK_PASSES:
            began = dt.datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            result.warnings.append(
                f"chunk from {began}: the platform's total kept changing while paging "
                f"({sorted(totals)}); kept the {len(records)} record(s) seen, the next "
                "pull's overlap re-reads the rest"
            )
    result.unpaid_skipped += sum(unpaid.values())
    yield _Fetched(start, end, rows)


def _noting_window(pages: Iterator[Page], start: int, end: int) -> Iterator[Page]:
    """The pages, with the chunk's window noted on an error (for the failure message)."""
    try:
        yield from pages
    except DoudianApiError as error:
        if error.window is None:
            error.window = (start, end)
        raise


def chunk_window(start: int, end: int, tz: ZoneInfo, hours: int = 24) -> list[tuple[int, int]]:
    """[start, end] (epoch seconds, inclusive) cut at shop-local midnights and every
    `hours` within a day; inclusive, non-overlapping, in order."""
    hours = max(1, min(24, hours))
    chunks: list[tuple[int, int]] = []
    at = start
    while at <= end:
        local = dt.datetime.fromtimestamp(at, tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        step = int((local - midnight).total_seconds() // (hours * 3600)) + 1
        boundary = min(midnight + dt.timedelta(hours=hours * step), midnight + dt.timedelta(days=1))
        # Wall-clock arithmetic on an aware datetime, then .timestamp(): DST-correct.
        upper = min(int(boundary.timestamp()) - 1, end)
        chunks.append((at, upper))
        at = upper + 1
    return chunks


# --- files -------------------------------------------------------------------------------


class _CsvWriter:
    """Canonical CSV files for the importer, one per stream unless a record shows up
    again in a later chunk (then a new file starts, so the later, newer copy upserts over
    the earlier) or a file reaches MAX_ROWS_PER_FILE."""

    def __init__(
        self, directory: Path, stream: c.Stream, shop: str, label: str, pulled_at: dt.datetime
    ):
        self.directory = directory
        self.fields = ORDER_FIELDS if stream.name == "orders" else REFUND_FIELDS
        self.stem = f"api_{stream.name}_{re.sub(r'[^0-9A-Za-z._-]', '_', shop)}_{label}"
        # When the pull ran: it makes every pull's file new bytes, so a pull always loads
        # (as updates where nothing changed) and wins over a file imported in between.
        self.pulled_at = pulled_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.paths: list[Path] = []
        self.rows = 0
        self._keys: set[str] = set()
        self._handle: Any = None
        self._writer: Any = None

    def add(self, fetched: _Fetched) -> None:
        if not fetched.rows:
            return
        keys = set(fetched.rows)
        if (
            self._writer is None
            or not keys.isdisjoint(self._keys)
            or len(self._keys) + len(keys) > c.MAX_ROWS_PER_FILE
        ):
            self._rotate()
        for mapped in fetched.rows.values():
            self._writer.writerow(
                [mapped.row[f] if mapped.row[f] is not None else "" for f in self.fields]
                + [self.pulled_at]
            )
        self._keys |= keys
        self.rows += len(keys)

    def _rotate(self) -> None:
        self._close_file()
        path = self.directory / f"{self.stem}_{len(self.paths) + 1:03d}.csv"
        self.paths.append(path)
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle, lineterminator="\n")
        self._writer.writerow([*self.fields, PULLED_AT])
        self._keys = set()

    def _close_file(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = self._writer = None

    def close(self) -> list[Path]:
        self._close_file()
        return self.paths


class _RawKeeper:
    """`[source.api] keep_raw`: each page as gzip JSON, personal data removed, under
    <raw_dir>/<stream>/<chunk's local date>/<pull stamp>_<chunk start>_page-<N>.json.gz."""

    def __init__(self, settings: Settings, stream: c.Stream, tz: ZoneInfo, pulled_at: dt.datetime):
        api = settings.source.api
        self.root = Path(api.raw_dir or settings.db.parent / "raw" / "doudian_api") / stream.name
        self.method = method_name(stream.path)
        self.tz = tz
        self.stamp = pulled_at.astimezone(tz).strftime("%Y%m%dT%H%M%S-%f")
        self.files = 0

    def keep(self, page: Page, chunk_start: int, attempt: int) -> None:
        local = dt.datetime.fromtimestamp(chunk_start, self.tz)
        folder = self.root / local.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{self.stamp}_{local.strftime('%H%M%S')}_page-{page.number}"
        if attempt > 1:
            name += f"_pass-{attempt}"
        document = {
            "method": self.method,
            "params": page.params,
            "log_id": page.response.log_id,
            "data": scrub_pii(page.response.data),
        }
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
        with (
            (folder / f"{name}.json.gz").open("wb") as fh,
            gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz,
        ):
            gz.write(body)
        self.files += 1


def _stamp(value: dt.datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _aware(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value
