"""Anomalies → one digest per shop, night and channel → text a phone can read.

Three steps, each testable alone:

1. `load_night` reads one shop-night from the warehouse: the headline rate, every anomaly,
   and for each anomaly its top 售后原因, carriers and (for a SKU) product name, its
   incident and whether it is muted, its owners and the promotion the night is in; the
   incidents resolved that night; the night's data-health findings; the buyers first
   seen as serial returners that night (`warehouse/serial_returners.py`).
2. `digest_for_channel` keeps what a channel wants (severity, dimensions, an owner's
   slices), folds explained slices under the spike that explains them ("a SKU spike that
   lifts its region says so once"), leaves out muted slices and rises a promotion
   explains, lists new and worse incidents ranked by extra returns (ongoing ones as
   compact lines) and cuts the list at `max_spikes`; new serial returners go to the
   shop's channels only.
3. `render` turns a digest into language-specific lines: a title, an intro, one section per
   spike, the lists (持续中, 已恢复, 数据健康, 新高频退货买家), an outro and a footer. Channels
   (channels.py) only add markup (and @-mentions) and split by size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import duckdb

from returnwatch.alerts.i18n import SEVERITY_ICONS, t
from returnwatch.settings import ChannelSettings, OwnerSettings, Settings
from returnwatch.slices import parse_slice_id, short_pseudonym, slice_id, slice_label
from returnwatch.transforms.calendar import EventContext, against_event, event_on
from returnwatch.transforms.incidents import Slice, slice_matches
from returnwatch.warehouse.calendar import event_lift
from returnwatch.warehouse.health import Finding, TokenState, night_health
from returnwatch.warehouse.incidents import Resolved, resolved_on
from returnwatch.warehouse.serial_returners import (
    SerialNight,
    SerialReturner,
    serial_returners_on,
)

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

DigestKind = Literal["digest", "all_clear", "failure", "data_health", "serial_returners"]


@dataclass(frozen=True)
class Attachment:
    """A link or image a digest carries (e.g. the monthly report's chart). Channels that
    cannot show images show a link."""

    url: str
    title: str
    kind: Literal["link", "image"] = "link"


# A shop-wide surge explains thousands of slices: the message names the biggest few
# (`related` is ranked by extra returns) and counts the rest (issue 15).
MAX_RELATED_LISTED = 5
# New serial returners listed by name (pseudonym) before "另有 N 位": a night that finds
# many is one short message, never a flood.
MAX_SERIAL_LISTED = 5


@dataclass(frozen=True)
class Headline:
    """The shop's own rate for the night (daily_return_rates, dimension 'shop', key '*')."""

    return_rate: float | None
    baseline_rate: float | None
    order_lines: int | None
    returns: int | None


@dataclass(frozen=True)
class Spike:
    """One anomaly with what a reader needs to act on it."""

    dimension: str
    key: str
    severity: str
    return_rate: float | None
    baseline_rate: float | None
    lift: float | None
    order_lines: int | None
    returns: int | None
    expected_returns: float | None
    extra_returns: float | None
    p_value: float | None
    reason: str | None  # detection's English explanation
    explained_by: str | None  # 'sku:123456' when another slice's spike explains this one
    product_name: str | None = None
    top_reasons: tuple[tuple[str, int], ...] = ()
    top_carriers: tuple[tuple[str, int], ...] = ()
    related: tuple[Spike, ...] = ()  # slices this spike explains, folded under it
    # Where the slice's incident stands tonight (None: no bookkeeping ran, e.g. a sample).
    incident: Incident | None = None
    muted: bool = False
    owners: tuple[OwnerSettings, ...] = ()  # @-mentioned beside the spike
    event: EventContext | None = None  # the promotion the night falls in, if any
    # issue 17: the test that fired, the baseline it used, buyer concentration
    test: str | None = None  # spike | cold_start | drift | mix_shift | literal
    baseline_used: str | None = None
    top_buyer_returns: int | None = None
    # the order lines feeding the day's returns (lag-weighted), the spike test's exposure
    exposure_lines: float | None = None

    @property
    def slice_id(self) -> str:
        return slice_id(self.dimension, self.key)

    @property
    def is_news(self) -> bool:
        """New or worse tonight (or no incident known): worth a message by itself."""
        return self.incident is None or self.incident.status in ("new", "worse")


@dataclass(frozen=True)
class Incident:
    """The incident a night's anomaly belongs to, as of that night."""

    id: str
    status: str  # new | ongoing | worse
    first_day: date
    nights: int  # anomalous nights so far, tonight included


@dataclass(frozen=True)
class Night:
    """Everything the warehouse says about one shop-night."""

    shop_id: str
    day: date
    headline: Headline | None
    anomalies: tuple[Spike, ...]
    resolved: tuple[Resolved, ...] = ()
    health: tuple[Finding, ...] = ()
    event: str | None = None  # the promotion (or its return window) the night is in
    serial: SerialNight | None = None  # None: serial-returner alerts are off


@dataclass(frozen=True)
class Digest:
    """One message's content for one channel: what `render` and the channels turn into text."""

    kind: DigestKind
    shop_id: str
    day: date
    language: str
    window_days: int
    headline: Headline | None = None
    spikes: tuple[Spike, ...] = ()  # primary spikes shown, ranked by extra returns
    more: int = 0  # primary spikes left out ("and N more")
    anomalies: tuple[Spike, ...] = ()  # every anomaly the channel accepts, by extra returns
    slices: tuple[str, ...] = ()  # every primary slice, shown or not: the dedup content
    is_update: bool = False  # a newer version of a digest already sent for this night
    is_test: bool = False
    failure: tuple[str, str] | None = None  # (what failed, what to do)
    attachments: tuple[Attachment, ...] = ()
    ongoing: tuple[Spike, ...] = ()  # ongoing incidents not worse: one compact line each
    resolved: tuple[Resolved, ...] = ()  # incidents resolved tonight (已恢复), listed once
    health: tuple[Finding, ...] = ()  # data-health findings of the night
    muted: int = 0  # primary spikes left out because their slice is muted
    event: str | None = None  # the promotion the night falls in
    event_expected: int = 0  # primary spikes the promotion alone explains (not listed)
    shop_flag: bool = False  # --shop in the mute commands shown (several shops configured)
    serial: SerialNight | None = None  # new serial returners tonight (shop channels only)

    def content_items(self) -> tuple[str, ...]:
        """What the reader is told: the primary slices, the resolved incidents, the
        data-health codes and the new serial returners (shortened pseudonyms; the
        starting point as its count). The outbox stores them and compares them between
        reruns."""
        serial = self.serial or SerialNight()
        return (
            *self.slices,
            *(f"resolved:{r.incident_id}" for r in self.resolved),
            *(f"health:{f.code}" for f in self.health),
            *(f"serial:{short_pseudonym(b.customer_id)}" for b in serial.new),
            *([f"serial_start:{serial.starting_point}"] if serial.starting_point else []),
        )

    def content_key(self) -> str:
        """A short, stable hash of what makes two digests "the same message"."""
        parts = [self.kind, *self.content_items()]
        if self.failure:
            parts.append(self.failure[0])
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


# -- 1. reading the warehouse ---------------------------------------------------------


def load_night(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, day: date
) -> Night:
    """The headline and every anomaly of one shop-night, with reasons and carriers."""
    alerts = settings.alerts
    columns = _anomaly_columns(con)
    lifecycle = {"incident_id", "incident_status", "muted"} <= columns
    extra = (
        """, incident_id, incident_status, coalesce(muted, false),
               (SELECT min(day) FROM anomalies AS i
                WHERE i.shop_id = a.shop_id AND i.incident_id = a.incident_id),
               (SELECT count(DISTINCT day) FROM anomalies AS i
                WHERE i.shop_id = a.shop_id AND i.incident_id = a.incident_id
                  AND i.day <= a.day)"""
        if lifecycle
        else ""
    )
    rows = con.execute(
        f"""
        SELECT dimension, key, severity, return_rate, baseline_rate, lift, order_lines,
               returns, expected_returns, extra_returns, p_value, reason, explained_by,
               test, baseline_used, top_buyer_returns, exposure_lines
               {extra}
        FROM anomalies AS a
        WHERE shop_id = ? AND day = ?
        -- one row per slice even if the table holds several (e.g. two detection modes)
        QUALIFY row_number() OVER (
            PARTITION BY dimension, key ORDER BY extra_returns DESC NULLS LAST) = 1
        """,
        [shop_id, day],
    ).fetchall()
    event = event_on(settings.calendar_for(shop_id), day)
    lift, learned = event_lift(con, settings, shop_id, event) if event else (0.0, False)
    anomalies = []
    for row in rows:
        spike = Spike(*row[:2], (row[2] or "info").lower(), *row[3:13])
        spike = replace(
            spike,
            test=row[13],
            baseline_used=row[14],
            top_buyer_returns=row[15],
            exposure_lines=row[16],
        )
        if event is not None and spike.expected_returns is not None:
            spike = replace(
                spike,
                event=against_event(
                    event.name, lift, learned, spike.returns or 0, spike.expected_returns
                ),
            )
        incident = None
        if lifecycle and row[17] is not None:
            incident = Incident(row[17], row[18] or "new", row[20], int(row[21]))
        spike = replace(
            spike,
            product_name=_product_name(con, shop_id, spike) if spike.dimension == "sku" else None,
            top_reasons=_top(con, shop_id, day, spike, "reason", alerts.top_reasons),
            top_carriers=_top(con, shop_id, day, spike, "carrier", alerts.top_carriers),
            incident=incident,
            muted=bool(row[19]) if lifecycle else False,
            owners=owners_of(settings, spike.dimension, spike.key),
        )
        anomalies.append(spike)
    return Night(
        shop_id,
        day,
        _headline(con, shop_id, day),
        tuple(anomalies),
        resolved=tuple(resolved_on(con, shop_id, day)) if lifecycle else (),
        health=tuple(night_health(con, settings, shop_id, day, token=api_token(settings, shop_id))),
        event=event.name if event else None,
        serial=(
            serial_returners_on(con, shop_id, day)
            if settings.detection.serial_returner_alerts
            else None
        ),
    )


def api_token(settings: Settings, shop_id: str, *, now: float | None = None) -> TokenState | None:
    """The 抖店 API token's state for the night's data health (code `token_expiring`), read
    from the token file the API source keeps (sources/doudian_api/tokens.py). None without
    an API source, for a shop its credentials do not belong to, and before the first
    renewal (a configured token's age is not known)."""
    from returnwatch.sources.doudian_api import api_configured, token_health

    owner = settings.source.api.shop_id
    if not api_configured(settings) or (owner is not None and owner != shop_id):
        return None
    health = token_health(settings, now=now)
    if health.refresh_expires_at is None:
        return None
    expires = health.refresh_expires_at.replace(tzinfo=None)
    return TokenState(expires, health.what_failed if health.status == "expired" else None)


def _anomaly_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'anomalies'"
        ).fetchall()
    }


def owners_of(settings: Settings, dimension: str, key: str) -> tuple[OwnerSettings, ...]:
    """The `[[alerts.owners]]` whose slice patterns cover this slice, in config order."""
    return tuple(
        owner
        for owner in settings.alerts.owners
        if any(slice_matches(pattern, dimension, key) for pattern in owner.slices)
    )


def _headline(con: duckdb.DuckDBPyConnection, shop_id: str, day: date) -> Headline | None:
    row = con.execute(
        """
        SELECT return_rate, baseline_rate, order_lines, returns
        FROM daily_return_rates
        WHERE shop_id = ? AND day = ? AND dimension = 'shop' AND key = '*'
        LIMIT 1
        """,
        [shop_id, day],
    ).fetchone()
    return Headline(*row) if row else None


_SLICE_FILTERS = {"sku": "sku_id = ?", "region": "province = ?", "shop": "? = '*'"}


def _top(
    con: duckdb.DuckDBPyConnection, shop_id: str, day: date, spike: Spike, column: str, n: int
) -> tuple[tuple[str, int], ...]:
    """The n most frequent values of `column` (reason or carrier) among the slice's refunds
    requested that day. Blank reasons count as one value; unknown carriers are left out."""
    slice_filter = _SLICE_FILTERS.get(spike.dimension)
    if slice_filter is None or n <= 0:
        return ()
    value = "coalesce(nullif(trim(reason), ''), '')" if column == "reason" else "carrier"
    rows = con.execute(
        f"""
        SELECT {value} AS value, count(*) AS n
        FROM refunds
        WHERE shop_id = ? AND CAST(requested_at AS DATE) = ? AND {slice_filter}
          AND refund_type IN ('return_refund', 'refund_only')
          AND {value} IS NOT NULL
        GROUP BY ALL
        ORDER BY n DESC, value
        LIMIT ?
        """,
        [shop_id, day, spike.key, n],
    ).fetchall()
    return tuple((value, int(count)) for value, count in rows)


def _product_name(con: duckdb.DuckDBPyConnection, shop_id: str, spike: Spike) -> str | None:
    row = con.execute(
        """
        SELECT product_name FROM (
            SELECT product_name, paid_at AS seen_at FROM order_lines
            WHERE shop_id = ? AND sku_id = ? AND product_name IS NOT NULL
            UNION ALL
            SELECT product_name, requested_at AS seen_at FROM refund_records
            WHERE shop_id = ? AND sku_id = ? AND product_name IS NOT NULL
        )
        ORDER BY seen_at DESC
        LIMIT 1
        """,
        [shop_id, spike.key, shop_id, spike.key],
    ).fetchone()
    return row[0] if row else None


# -- 2. choosing what a channel sees ----------------------------------------------------


def digest_for_channel(night: Night, channel: ChannelSettings, settings: Settings) -> Digest | None:
    """The channel's digest of the night, or None when it has nothing to say.

    What makes a message: a new or worse incident (every listed spike with
    `repeat = "daily"`), an incident resolved tonight, or a data-health finding. Muted
    slices are never listed (counted in the footer); ongoing incidents that are not worse
    ride along as one compact line each (with `send_all_clear`, a night with only them
    is a digest of them). A night with only data health is a `data_health` message; a
    quiet night sends an all-clear only with `send_all_clear`.
    """
    alerts = settings.alerts
    language = channel.language or alerts.language
    floor = SEVERITY_RANK[channel.min_severity]
    owned = _owned_by_channel(settings, channel.name)

    def wanted(dimension: str, key: str) -> bool:
        if channel.dimensions is not None and dimension not in channel.dimensions:
            return False
        return owned is None or any(slice_matches(p, dimension, key) for p in owned)

    accepted = [
        a
        for a in night.anomalies
        if SEVERITY_RANK.get(a.severity, 0) >= floor and wanted(a.dimension, a.key)
    ]
    folded = fold_related(accepted)
    muted = [p for p in folded if p.muted]
    floor_extra = settings.detection.min_extra_returns
    expected = [p for p in folded if not p.muted and p.event and p.event.explains(floor_extra)]
    listed = [p for p in folded if not p.muted and p not in expected]
    if alerts.repeat == "daily":
        news, ongoing = listed, []
    else:
        news = [p for p in listed if p.is_news]
        ongoing = [p for p in listed if not p.is_news]
    resolved = tuple(r for r in night.resolved if wanted(r.dimension, r.key))
    health = night.health if owned is None else ()
    serial = _serial_for_channel(night.serial, channel, owned is None)
    hidden = {s.slice_id for p in (*muted, *expected) for s in (p, *p.related)}
    common = {
        "shop_id": night.shop_id,
        "day": night.day,
        "language": language,
        "window_days": settings.detection.window_days,
        "headline": night.headline,
        "ongoing": tuple(ongoing),
        "resolved": resolved,
        "health": health,
        "muted": len(muted),
        "event": night.event,
        "event_expected": len(expected),
        "anomalies": tuple(
            sorted((a for a in accepted if a.slice_id not in hidden), key=_impact, reverse=True)
        ),
        "shop_flag": len(settings.shop_ids()) > 1,
        "serial": serial,
    }
    if news or resolved or (ongoing and alerts.send_all_clear):
        return Digest(
            kind="digest",
            spikes=tuple(news[: alerts.max_spikes]),
            more=max(0, len(news) - alerts.max_spikes),
            slices=tuple(sorted(p.slice_id for p in news)),
            **common,
        )
    if health:
        return Digest(kind="data_health", **common)
    if serial is not None:
        # A new serial returner is news by itself (each buyer is announced once; the
        # first night's starting point once): one short message, not an all-clear.
        return Digest(kind="serial_returners", **common)
    return Digest(kind="all_clear", **common) if alerts.send_all_clear else None


def _serial_for_channel(
    serial: SerialNight | None, channel: ChannelSettings, shop_channel: bool
) -> SerialNight | None:
    """The night's serial returners when this channel takes them: a shop channel (not an
    owner's), at min_severity info (a notice, not a spike), whose `dimensions` (if set)
    include `customer`. None when there is nothing to say."""
    if serial is None or not serial.says_something or not shop_channel:
        return None
    if channel.min_severity != "info":
        return None
    if channel.dimensions is not None and "customer" not in channel.dimensions:
        return None
    return serial


def _owned_by_channel(settings: Settings, channel_name: str) -> list[str] | None:
    """The slice patterns of the owners whose own channel this is; None for a shop
    channel (it gets every slice)."""
    patterns = [
        pattern
        for owner in settings.alerts.owners
        if owner.channel == channel_name
        for pattern in owner.slices
    ]
    return patterns or None


def fold_related(anomalies: list[Spike]) -> list[Spike]:
    """The primary spikes, ranked by extra returns, each carrying the slices it explains.

    A slice explained by a spike that is not in the list (filtered out for this channel,
    or not an anomaly tonight) stays a primary, and its section says what explains it.
    """
    by_id = {a.slice_id: a for a in anomalies}

    def root(spike: Spike) -> Spike:
        seen = {spike.slice_id}
        while spike.explained_by in by_id and spike.explained_by not in seen:
            spike = by_id[spike.explained_by]
            seen.add(spike.slice_id)
        return spike

    folded: dict[str, list[Spike]] = {}
    primaries: list[Spike] = []
    for spike in anomalies:
        top = root(spike)
        if top is spike:
            primaries.append(spike)
        else:
            folded.setdefault(top.slice_id, []).append(spike)
    ranked = sorted(primaries, key=_impact, reverse=True)
    return [
        replace(p, related=tuple(sorted(folded.get(p.slice_id, []), key=_impact, reverse=True)))
        for p in ranked
    ]


def _impact(spike: Spike) -> tuple[float, int, str]:
    return (spike.extra_returns or 0.0, SEVERITY_RANK.get(spike.severity, 0), spike.slice_id)


def failure_digest(
    settings: Settings, channel: ChannelSettings, shop_id: str, day: date, what: str, todo: str
) -> Digest:
    return Digest(
        kind="failure",
        shop_id=shop_id,
        day=day,
        language=channel.language or settings.alerts.language,
        window_days=settings.detection.window_days,
        failure=(what, todo),
    )


# -- 3. words ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One spike (or one list: ongoing, resolved, data health) as lines; the first line
    is its heading. `mentions` are the owners the channel @-mentions under it, each in
    its platform's syntax (channels.py)."""

    lines: tuple[str, ...]
    severity: str | None = None
    mentions: tuple[OwnerSettings, ...] = ()
    mention_label: str = ""  # "负责人：" / "Owner: ", before the platform's mentions

    def mention_line(self, mark: Callable[[OwnerSettings], str | None]) -> str | None:
        """The owners' line as one platform writes it (`mark` returns None for an owner
        that platform has no id for: their name is written instead)."""
        if not self.mentions:
            return None
        return self.mention_label + " ".join(mark(o) or o.name for o in self.mentions)


@dataclass(frozen=True)
class Rendered:
    """A digest in words, before any platform's markup."""

    title: str
    color: Literal["red", "orange", "blue", "green", "grey"]
    intro: tuple[str, ...]
    sections: tuple[Section, ...]
    outro: tuple[str, ...] = ()  # last part only: "and N more", test note
    footer: tuple[str, ...] = ()  # every part
    links: tuple[Attachment, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The whole message as plain text (generic receivers, logs of what was sent)."""
        blocks = [self.title, "\n".join(self.intro)]
        blocks += [
            "\n".join([*s.lines, *filter(None, [s.mention_line(lambda o: None)])])
            for s in self.sections
        ]
        blocks += ["\n".join(self.outro), "\n".join(self.footer)]
        blocks += [f"{a.title}: {a.url}" for a in self.links]
        return "\n\n".join(b for b in blocks if b)


def pct(value: float | None) -> str:
    """0.18512 → '18.5%'."""
    return "–" if value is None else f"{value * 100:.1f}%"


def count(value: float | None) -> str:
    """1234 → '1,234'; expected counts below 10 keep one decimal."""
    if value is None:
        return "–"
    if float(value).is_integer() or abs(value) >= 10:
        return f"{round(value):,}"
    return f"{value:.1f}"


def change(language: str, rate: float | None, baseline: float | None) -> str:
    """The rate against its baseline: '+61%', or 'baseline 0' when there is none."""
    if rate is None or baseline is None:
        return "–"
    if baseline <= 0:
        return t(language, "change.new")
    return f"{(rate / baseline - 1) * 100:+.0f}%"


def spike_label(language: str, spike: Spike) -> str:
    return slice_label(spike.dimension, spike.key, spike.product_name, language=language)


def render(digest: Digest) -> Rendered:
    """The digest in its language: title, headline, one section per spike, footer."""
    lang = digest.language
    fields = {"shop": digest.shop_id, "day": digest.day.isoformat()}
    title_key = "title.update" if digest.is_update else f"title.{digest.kind}"
    title = t(lang, title_key, **fields)
    if digest.is_test:
        title = t(lang, "title.test", title=title)
    outro = [t(lang, "more", n=digest.more)] if digest.more else []
    if digest.is_test:
        outro.append(t(lang, "test.note"))
    footer = (t(lang, "footer", window=digest.window_days),)

    if digest.kind == "failure":
        what, todo = digest.failure or ("", "")
        intro = (
            t(lang, "failure.what", what=what),
            t(lang, "failure.todo", todo=todo),
            t(lang, "failure.note"),
        )
        return Rendered(title, "red", intro, (), tuple(outro), ("returnwatch",), digest.attachments)

    if digest.muted:
        footer += (t(lang, "muted.footer", n=digest.muted),)
    intro = list(_headline_lines(lang, digest.headline))
    if digest.event:
        intro.append(t(lang, "event.intro", event=digest.event))
    if digest.event_expected:
        footer += (t(lang, "event.footer", n=digest.event_expected, event=digest.event),)
    lists = _list_sections(digest)
    if digest.kind == "data_health":
        intro.append(t(lang, "health.intro"))
        return Rendered(
            title, "orange", tuple(intro), lists, tuple(outro), footer, digest.attachments
        )
    if digest.kind == "serial_returners":
        intro.append(t(lang, "quiet.intro"))
        return Rendered(
            title, "blue", tuple(intro), lists, tuple(outro), footer, digest.attachments
        )
    if digest.kind == "all_clear":
        if not digest.ongoing:
            intro.append(t(lang, "all_clear.body"))
        return Rendered(
            title, "green", tuple(intro), lists, tuple(outro), footer, digest.attachments
        )

    if digest.spikes or digest.more:
        intro.append(t(lang, "spikes.count", n=len(digest.spikes) + digest.more))
    else:
        intro.append(t(lang, "quiet.intro"))
    sections = tuple(
        Section(
            _spike_lines(lang, i, spike, digest),
            spike.severity,
            _mentions_of(spike),
            t(lang, "mention", names=""),
        )
        for i, spike in enumerate(digest.spikes, 1)
    )
    worst = max((SEVERITY_RANK.get(s.severity, 0) for s in digest.spikes), default=0)
    color = ("blue", "orange", "red")[worst] if digest.spikes else "green"
    if not digest.spikes and digest.health:
        color = "orange"
    return Rendered(
        title, color, tuple(intro), sections + lists, tuple(outro), footer, digest.attachments
    )


def _mentions_of(spike: Spike) -> tuple[OwnerSettings, ...]:
    """The owners of the spike and of the slices folded under it, each once."""
    seen: dict[str, OwnerSettings] = {}
    for s in (spike, *spike.related):
        for owner in s.owners:
            seen.setdefault(owner.name, owner)
    return tuple(seen.values())


def _list_sections(digest: Digest) -> tuple[Section, ...]:
    """The compact lists after the spikes: ongoing incidents, 已恢复, data health."""
    lang = digest.language
    sections = []
    if digest.ongoing:
        lines = [t(lang, "ongoing.head")]
        for spike in digest.ongoing:
            days = _incident_days(spike, digest.day)
            lines.append(
                t(
                    lang,
                    "ongoing.line",
                    label=spike_label(lang, spike),
                    days=days,
                    extra=count(spike.extra_returns),
                )
            )
        mentions = tuple({o.name: o for s in digest.ongoing for o in _mentions_of(s)}.values())
        sections.append(Section(tuple(lines), None, mentions, t(lang, "mention", names="")))
    if digest.resolved:
        lines = [t(lang, "resolved.head")]
        for r in digest.resolved:
            lines.append(
                t(
                    lang,
                    "resolved.line",
                    label=slice_label(r.dimension, r.key, language=lang),
                    first=r.first_day.isoformat(),
                    last=r.last_day.isoformat(),
                    nights=r.nights,
                    peak=count(r.peak_extra_returns),
                )
            )
        sections.append(Section(tuple(lines)))
    if digest.health:
        lines = [t(lang, "health.head")]
        lines += [health_message(lang, f, digest.shop_id, digest.day) for f in digest.health]
        sections.append(Section(tuple(lines), "warning"))
    if digest.serial is not None:
        sections.append(Section(serial_lines(lang, digest.serial)))
    return tuple(sections)


def serial_lines(lang: str, serial: SerialNight) -> tuple[str, ...]:
    """The new serial returners, one line each (at most MAX_SERIAL_LISTED, then "另有 N
    位"), and the starting point on the first night tracked. A buyer is their shortened
    pseudonym: the warehouse holds no name, phone or address to show."""
    lines: list[str] = []
    if serial.new:
        lines.append(t(lang, "serial.head", n=len(serial.new)))
        for buyer in serial.new[:MAX_SERIAL_LISTED]:
            lines.append(serial_line(lang, buyer))
        if len(serial.new) > MAX_SERIAL_LISTED:
            lines.append(t(lang, "serial.more", n=len(serial.new) - MAX_SERIAL_LISTED))
        lines.append(t(lang, "serial.note"))
    if serial.starting_point:
        lines.append(t(lang, "serial.start", n=count(serial.starting_point)))
    return tuple(lines)


def serial_line(lang: str, buyer: SerialReturner) -> str:
    """'· 买家 a1b2c3d4…：90 天退货 7 次（占其订单行 88%），最常见原因：尺码不合适 3'."""
    share = (
        t(lang, "serial.share", share=f"{buyer.return_rate * 100:.0f}%")
        if buyer.return_rate is not None
        else t(lang, "serial.no_lines")
    )
    top = buyer.top_reason
    reason = t(lang, "serial.reason", reason=top[0] or t(lang, "unknown"), n=top[1]) if top else ""
    return t(
        lang,
        "serial.line",
        label=slice_label("customer", buyer.customer_id, language=lang),
        returns=count(buyer.returns),
        share=share,
        reason=reason,
    )


def _incident_days(spike: Spike, day: date) -> int:
    """Calendar days since the incident began, tonight included (持续第 N 天)."""
    if spike.incident is None:
        return 1
    return (day - spike.incident.first_day).days + 1


def health_message(lang: str, finding: Finding, shop_id: str, day: date) -> str:
    """One data-health finding as a sentence: what happened and what to do."""
    d = finding.details
    sep = t(lang, "list_sep")
    if finding.code == "no_orders":
        return t(lang, "health.no_orders", median=count(d["trailing_median"]), day=day)
    if finding.code == "partial_orders":
        return t(
            lang,
            "health.partial_orders",
            orders=count(d["order_lines"]),
            median=count(d["trailing_median"]),
            share=pct(d["share"]),
            day=day,
        )
    if finding.code == "files_refused":
        files = sep.join(
            f"{f['file']}（{f['why']}）" if lang == "zh" else f"{f['file']} ({f['why']})"
            for f in d["files"][:5]
        )
        return t(lang, "health.files_refused", count=d["count"], files=files)
    if finding.code == "quarantine_high":
        trailing = (
            t(lang, "health.quarantine_trailing", share=pct(d["trailing_share"]))
            if d.get("trailing_share") is not None
            else ""
        )
        return t(
            lang,
            "health.quarantine_high",
            quarantined=count(d["rows_quarantined"]),
            read=count(d["rows_read"]),
            share=pct(d["share"]),
            trailing=trailing,
        )
    if finding.code == "unknown_values":
        return t(lang, "health.unknown_values", count=d["count"], values=sep.join(d["values"]))
    if finding.code == "token_expiring":
        if d.get("refresh_error"):
            return t(lang, "health.token_failed", error=d["refresh_error"])
        return t(lang, "health.token_expiring", expires=d["expires_at"])
    if finding.code == "shop_without_data":
        return t(lang, "health.shop_without_data", shop=shop_id, others=sep.join(d["other_shops"]))
    return f"{finding.code}: {d}"


def mute_command(spike: Spike, digest: Digest) -> str:
    """The exact command that mutes this spike's slice for a week."""
    lang = digest.language
    shop = f" --shop {digest.shop_id}" if digest.shop_flag else ""
    return (
        f"returnwatch alerts mute {_quote(str(Slice(spike.dimension, spike.key)))} "
        f'--days 7 --reason "{t(lang, "mute.reason")}"{shop}'
    )


def _quote(text: str) -> str:
    """A slice as one shell word (keys may hold spaces)."""
    return text if all(c.isalnum() or c in ":_-.*" or ord(c) > 127 for c in text) else f"'{text}'"


def _headline_lines(lang: str, headline: Headline | None) -> tuple[str, ...]:
    if headline is None or headline.return_rate is None:
        return ()
    rate, base = headline.return_rate, headline.baseline_rate
    lines = [
        t(lang, "headline", rate=pct(rate), baseline=pct(base), change=change(lang, rate, base))
    ]
    if headline.order_lines is not None:
        lines.append(
            t(
                lang,
                "headline.volume",
                orders=count(headline.order_lines),
                returns=count(headline.returns),
            )
        )
    return tuple(lines)


def _fed_rate(spike: Spike) -> float | None:
    """A spike-test alert's returns per the order lines feeding them (its exposure)."""
    if spike.test not in (None, "spike") or not spike.exposure_lines or spike.returns is None:
        return None
    return spike.returns / spike.exposure_lines


def _fed_rate_lines(lang: str, spike: Spike) -> tuple[str, ...]:
    """On a promo day the day's own rate can sit below the baseline while its returns (the
    previous days' orders) rise: the spike test alerted on the rate per order line feeding
    the returns, so the message shows that rate instead of leaving a falling one."""
    fed, rate, base = _fed_rate(spike), spike.return_rate, spike.baseline_rate
    if fed is None or rate is None or base is None or rate > base:
        return ()
    return (
        t(
            lang,
            "spike.fed_rate",
            orders=count(spike.order_lines),
            fed_orders=count(spike.exposure_lines),
            rate=pct(fed),
            change=change(lang, fed, base),
        ),
    )


# A line's carrier is known once it ships: the night's export has the day's orders mostly
# without one, so a carrier slice's same-day rate divides its returns (of parcels shipped
# days ago) by the few lines already shipped — 220% on the demo. Its rate is read per the
# order lines feeding the returns instead.
SHIPPED_DIMENSIONS = ("carrier", "carrier_region")


def _spike_lines(lang: str, i: int, spike: Spike, digest: Digest) -> tuple[str, ...]:
    sep = t(lang, "list_sep")
    rate, base = spike.return_rate, spike.baseline_rate
    shipped = _fed_rate(spike) if spike.dimension in SHIPPED_DIMENSIONS else None
    rate_key, volume_key, orders = "spike.rate", "spike.volume", spike.order_lines
    if shipped is not None:
        rate, rate_key, volume_key = shipped, "spike.rate_shipped", "spike.volume_shipped"
        orders = spike.exposure_lines
    lines = [
        t(
            lang,
            "spike.head",
            i=i,
            icon=SEVERITY_ICONS.get(spike.severity, ""),
            severity=t(lang, f"severity.{spike.severity}")
            if spike.severity in SEVERITY_ICONS
            else spike.severity,
            label=spike_label(lang, spike),
        ),
        t(lang, rate_key, rate=pct(rate), baseline=pct(base), change=change(lang, rate, base)),
        *(_fed_rate_lines(lang, spike) if shipped is None else ()),
        t(
            lang,
            volume_key,
            orders=count(orders),
            returns=count(spike.returns),
            extra=count(spike.extra_returns),
            expected=count(spike.expected_returns),
        ),
    ]
    if spike.event is not None:
        lines.append(
            t(
                lang,
                "event.spike_learned" if spike.event.learned else "event.spike",
                event=spike.event.name,
                lift=f"{spike.event.lift * 100:+.0f}%",
                extra=count(spike.event.extra_returns),
            )
        )
    if spike.incident is not None:
        lines.append(
            t(
                lang,
                f"incident.{spike.incident.status}",
                days=_incident_days(spike, digest.day),
                first=spike.incident.first_day.isoformat(),
            )
        )
    if spike.test and spike.test != "spike":
        lines.append(t(lang, f"test.{spike.test}", baseline=spike.baseline_used or ""))
    if (
        spike.returns
        and spike.top_buyer_returns
        and spike.top_buyer_returns >= max(2, spike.returns / 2)
    ):
        lines.append(
            t(
                lang,
                "spike.buyers",
                returns=count(spike.returns),
                top=count(spike.top_buyer_returns),
            )
        )
    if spike.top_reasons:
        items = sep.join(f"{r or t(lang, 'unknown')} {n}" for r, n in spike.top_reasons)
        lines.append(t(lang, "spike.reasons", items=items))
    if spike.top_carriers:
        items = sep.join(f"{c} {n}" for c, n in spike.top_carriers)
        lines.append(t(lang, "spike.carriers", items=items))
    if spike.related:
        items = sep.join(
            f"{spike_label(lang, r)}（{change(lang, r.return_rate, r.baseline_rate)}）"
            if lang == "zh"
            else f"{spike_label(lang, r)} ({change(lang, r.return_rate, r.baseline_rate)})"
            for r in spike.related[:MAX_RELATED_LISTED]
        )
        if len(spike.related) > MAX_RELATED_LISTED:
            hidden = len(spike.related) - MAX_RELATED_LISTED
            items += t(lang, "spike.related_more", n=count(hidden))
        lines.append(t(lang, "spike.related", items=items))
    elif spike.explained_by:
        cause = slice_label(*parse_slice_id(spike.explained_by), language=lang)
        lines.append(t(lang, "spike.explained_by", label=cause))
    if not digest.is_test:
        lines.append(t(lang, "mute.hint", command=mute_command(spike, digest)))
    return tuple(lines)


def sample_night(shop_id: str, day: date) -> Night:
    """A made-up night with a SKU spike that lifts its region and the shop, and a second
    region spike: what `alerts test` sends and the README shows."""
    sku = Spike(
        "sku", "3712345678901", "critical", 0.35, 0.08, 3.375, 200, 70, 16.0, 54.0, 1e-9,
        "return rate 35.0% vs 8.0% baseline", None,
        product_name="加绒连帽卫衣 黑色 XL",
        top_reasons=(("尺码不合适", 28), ("质量问题", 12), ("不想要了", 8)),
        top_carriers=(("中通快递", 40), ("圆通速递", 20)),
    )  # fmt: skip
    region = Spike(
        "region", "广东省", "warning", 0.142, 0.098, 0.449, 310, 44, 30.4, 13.6, 1e-4,
        "return rate 14.2% vs 9.8% baseline", "sku:3712345678901",
    )  # fmt: skip
    shop = Spike(
        "shop", "*", "warning", 0.098, 0.061, 0.607, 1234, 121, 75.3, 45.7, 1e-6,
        "return rate 9.8% vs 6.1% baseline", "sku:3712345678901",
    )  # fmt: skip
    other = Spike(
        "region", "浙江省", "warning", 0.121, 0.07, 0.729, 140, 17, 9.8, 7.2, 1e-3,
        "return rate 12.1% vs 7.0% baseline", None,
        top_reasons=(("物流太慢", 6), ("商品破损", 4)),
        top_carriers=(("韵达快递", 11),),
    )  # fmt: skip
    return Night(shop_id, day, Headline(0.098, 0.061, 1234, 121), (sku, region, shop, other))


def sample_digest(settings: Settings, channel: ChannelSettings, day: date) -> Digest:
    """The sample night as this channel's language renders it, marked as a test."""
    unfiltered = channel.model_copy(update={"min_severity": "info", "dimensions": None})
    digest = digest_for_channel(sample_night(settings.shop_id, day), unfiltered, settings)
    assert digest is not None  # the sample night has spikes
    return replace(digest, is_test=True)
