"""Anomalies → one digest per shop, night and channel → text a phone can read.

Three steps, each testable alone:

1. `load_night` reads one shop-night from the warehouse: the headline rate, every anomaly,
   and for each anomaly its top 售后原因, carriers and (for a SKU) product name.
2. `digest_for_channel` keeps what a channel wants (severity, dimensions), folds explained
   slices under the spike that explains them ("a SKU spike that lifts its region says so
   once"), ranks the rest by extra returns and cuts the list at `max_spikes`.
3. `render` turns a digest into language-specific lines: a title, an intro, one section per
   spike, an outro and a footer. Channels (channels.py) only add markup and split by size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import duckdb

from returnwatch.alerts.i18n import SEVERITY_ICONS, t
from returnwatch.settings import ChannelSettings, Settings

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
MAX_NAME_CHARS = 24  # product names are long; a phone line is not

DigestKind = Literal["digest", "all_clear", "failure"]


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
    # issue 17: the test that fired, the baseline it used, buyer concentration
    test: str | None = None  # spike | cold_start | drift | mix_shift | literal
    baseline_used: str | None = None
    top_buyer_returns: int | None = None

    @property
    def slice_id(self) -> str:
        return f"{self.dimension}:{self.key}"


@dataclass(frozen=True)
class Night:
    """Everything the warehouse says about one shop-night."""

    shop_id: str
    day: date
    headline: Headline | None
    anomalies: tuple[Spike, ...]


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

    def content_key(self) -> str:
        """A short, stable hash of what makes two digests "the same message"."""
        parts = [self.kind, *self.slices]
        if self.failure:
            parts.append(self.failure[0])
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


# -- 1. reading the warehouse ---------------------------------------------------------


def load_night(
    con: duckdb.DuckDBPyConnection, settings: Settings, shop_id: str, day: date
) -> Night:
    """The headline and every anomaly of one shop-night, with reasons and carriers."""
    alerts = settings.alerts
    rows = con.execute(
        """
        SELECT dimension, key, severity, return_rate, baseline_rate, lift, order_lines,
               returns, expected_returns, extra_returns, p_value, reason, explained_by,
               test, baseline_used, top_buyer_returns
        FROM anomalies
        WHERE shop_id = ? AND day = ?
        -- one row per slice even if the table holds several (e.g. two detection modes)
        QUALIFY row_number() OVER (
            PARTITION BY dimension, key ORDER BY extra_returns DESC NULLS LAST) = 1
        """,
        [shop_id, day],
    ).fetchall()
    anomalies = []
    for row in rows:
        spike = Spike(*row[:2], (row[2] or "info").lower(), *row[3:13])
        spike = replace(spike, test=row[13], baseline_used=row[14], top_buyer_returns=row[15])
        spike = replace(
            spike,
            product_name=_product_name(con, shop_id, spike) if spike.dimension == "sku" else None,
            top_reasons=_top(con, shop_id, day, spike, "reason", alerts.top_reasons),
            top_carriers=_top(con, shop_id, day, spike, "carrier", alerts.top_carriers),
        )
        anomalies.append(spike)
    return Night(shop_id, day, _headline(con, shop_id, day), tuple(anomalies))


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
    """The channel's digest of the night, or None for a quiet night without all-clear."""
    alerts = settings.alerts
    language = channel.language or alerts.language
    floor = SEVERITY_RANK[channel.min_severity]
    accepted = [
        a
        for a in night.anomalies
        if SEVERITY_RANK.get(a.severity, 0) >= floor
        and (channel.dimensions is None or a.dimension in channel.dimensions)
    ]
    common = {
        "shop_id": night.shop_id,
        "day": night.day,
        "language": language,
        "window_days": settings.detection.window_days,
        "headline": night.headline,
    }
    if not accepted:
        return Digest(kind="all_clear", **common) if alerts.send_all_clear else None
    primaries = fold_related(accepted)
    return Digest(
        kind="digest",
        spikes=tuple(primaries[: alerts.max_spikes]),
        more=max(0, len(primaries) - alerts.max_spikes),
        anomalies=tuple(sorted(accepted, key=_impact, reverse=True)),
        slices=tuple(sorted(p.slice_id for p in primaries)),
        **common,
    )


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
    """One spike as lines; the first line is its heading."""

    lines: tuple[str, ...]
    severity: str | None = None


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
        blocks += ["\n".join(s.lines) for s in self.sections]
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


def label(language: str, dimension: str, key: str, product_name: str | None = None) -> str:
    """The slice named for a human: 'SKU 123456 · 加绒卫衣', '广东省', '全店'."""
    if dimension == "sku" and product_name:
        name = product_name.strip()
        if len(name) > MAX_NAME_CHARS:
            name = name[: MAX_NAME_CHARS - 1] + "…"
        return t(language, "label.sku_named", key=key, name=name)
    if dimension in ("sku", "region", "shop", "product", "category", "carrier"):
        return t(language, f"label.{dimension}", key=key)
    if dimension == "carrier_region":
        carrier, _, province = key.partition("|")
        return t(language, "label.carrier_region", carrier=carrier, province=province)
    return f"{dimension} {key}"


def spike_label(language: str, spike: Spike) -> str:
    return label(language, spike.dimension, spike.key, spike.product_name)


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

    intro = list(_headline_lines(lang, digest.headline))
    if digest.kind == "all_clear":
        intro.append(t(lang, "all_clear.body"))
        return Rendered(title, "green", tuple(intro), (), tuple(outro), footer, digest.attachments)

    intro.append(t(lang, "spikes.count", n=len(digest.spikes) + digest.more))
    sections = tuple(
        Section(_spike_lines(lang, i, spike), spike.severity)
        for i, spike in enumerate(digest.spikes, 1)
    )
    worst = max((SEVERITY_RANK.get(s.severity, 0) for s in digest.spikes), default=0)
    color = ("blue", "orange", "red")[worst]
    return Rendered(title, color, tuple(intro), sections, tuple(outro), footer, digest.attachments)


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


def _spike_lines(lang: str, i: int, spike: Spike) -> tuple[str, ...]:
    sep = t(lang, "list_sep")
    rate, base = spike.return_rate, spike.baseline_rate
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
        t(lang, "spike.rate", rate=pct(rate), baseline=pct(base), change=change(lang, rate, base)),
        t(
            lang,
            "spike.volume",
            orders=count(spike.order_lines),
            returns=count(spike.returns),
            extra=count(spike.extra_returns),
            expected=count(spike.expected_returns),
        ),
    ]
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
        dimension, _, key = spike.explained_by.partition(":")
        lines.append(t(lang, "spike.explained_by", label=label(lang, dimension, key)))
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
