"""One place for every setting, so the CLI, the flows and the tests read the same values.

Precedence, highest first: keyword arguments (tests), environment variables
(`RETURNWATCH_…`, nested with `__`, e.g. `RETURNWATCH_DETECTION__LIFT_THRESHOLD=0.3`), the
TOML file named by `RETURNWATCH_CONFIG` (default `./returnwatch.toml` when it exists), then
the defaults below. Every setting has a default so the tool runs with no config file at all.

Secrets are `SecretStr`: pydantic prints them as `**********`, so a settings object can be
logged without leaking a webhook URL or a key.

Nothing wrong is silently ignored: an unknown key (in the file or as
`RETURNWATCH_<SECTION>__<KEY>`), a value that is not allowed, a channel URL that is not
one or a warehouse path that cannot be written makes `load_settings` raise `ConfigError`,
one line per problem naming the file or variable, the key, the value (unless secret),
what is allowed and, for a typo, the closest valid key.
"""

from __future__ import annotations

import difflib
import json
import os
import secrets
import tempfile
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "RETURNWATCH_CONFIG"
DEFAULT_CONFIG_FILE = Path("returnwatch.toml")
PII_SECRET_FILE = ".returnwatch_pii_secret"


class Section(BaseModel):
    """A config section: an unknown key is an error, never silently ignored (a typo such as
    `lift_treshold` would otherwise leave the default in force). `describe_errors` turns
    the error into one line naming the closest valid key."""

    model_config = ConfigDict(extra="forbid")


Dimension = Literal["shop", "region", "sku", "product", "category", "carrier", "carrier_region"]


class CategoryMapping(Section):
    """One `[[categories]]` entry: which items belong to `category`, for sources without a
    category column (抖店 exports). A line matches by its product or SKU id (`ids`), an id
    prefix (`prefixes`) or a keyword in its product name (`keywords`); the first entry
    that matches wins (docs/detection.md, "Slices")."""

    category: str = Field(min_length=1)
    ids: list[str] = Field(default_factory=list)
    prefixes: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class DetectionSettings(Section):
    """`[detection]`: the spike rule and what makes an alert worth a phone buzz.

    docs/detection.md defines every number below and how the default detector uses it.
    """

    # "literal": anomalies are exactly the literal rule's slice-days. "default": the rule is
    # a necessary condition and a count test with false-discovery control decides.
    mode: Literal["default", "literal"] = "default"
    # The literal rule: baseline_rate = mean daily return rate of the previous window_days
    # calendar days; it needs min_history_days of them; it fires when the rate exceeds the
    # baseline by more than lift_threshold (0.20 = 20%).
    window_days: int = Field(default=28, ge=1)
    min_history_days: int = Field(default=14, ge=1)
    lift_threshold: float = Field(default=0.20, ge=0)
    # Slices tested; rates are always computed for all of them (docs/detection.md,
    # "Slices"). category and carrier are off by default: a category or carrier spike
    # shows in its products and carrier x province slices, which fold it into one alert.
    dimensions: list[Dimension] = Field(
        default_factory=lambda: ["shop", "region", "sku", "product", "carrier_region"]
    )
    # --- The default detector (ignored in literal mode) ---
    # Returns are requested 0..return_lag_days days after payment; expected returns follow
    # the lag-weighted order lines of those days (the shop's lag profile, learnt from
    # refunds linked to their order line; uniform when fewer than min_lag_refunds).
    return_lag_days: int = Field(default=7, ge=0)
    min_lag_refunds: int = Field(default=50, ge=1)
    # Floor on volume: a slice is tested only when at least this many order lines a day
    # (lag-weighted) feed its returns.
    min_order_lines: float = Field(default=20.0, ge=0)
    # Floor on impact: an alert has at least this many returns above expected.
    min_extra_returns: float = Field(default=3.0, ge=0)
    # Benjamini-Hochberg false-discovery rate over all slices tested in a shop that night.
    fdr_alpha: float = Field(default=0.01, gt=0, lt=1)
    # Baseline hygiene: a history day whose returns exceed its own expectation by
    # screen_z standard deviations (and min_extra_returns) is left out of later baselines,
    # so a spike does not hide the next weeks' spikes.
    screen_z: float = Field(default=3.0, gt=0)
    # Small slices borrow strength: prior_returns pseudo-returns at the shop's rate, and a
    # dispersion pulled toward the dimension's pooled one with weight dispersion_prior
    # (in sum-of-squared-expectations units: 500 = slices' true dispersions spread ~0.06).
    prior_returns: float = Field(default=2.0, ge=0)
    dispersion_prior: float = Field(default=500.0, ge=0)
    # Severity by impact: extra returns as a share of the shop's expected returns that day,
    # or in absolute numbers.
    warning_share: float = Field(default=0.10, ge=0)
    critical_share: float = Field(default=0.25, ge=0)
    warning_extra_returns: float = Field(default=10.0, ge=0)
    critical_extra_returns: float = Field(default=50.0, ge=0)
    # --- Tests beside the spike test (issue 17; default mode only) ---
    tests: list[Literal["spike", "cold_start", "drift", "mix_shift"]] = Field(
        default_factory=lambda: ["spike", "cold_start", "drift", "mix_shift"]
    )
    # Cold start: a SKU or product younger than cold_start_days is tested against its
    # parent's rate (SKU -> product -> category -> shop); it alerts when its returns since
    # launch exceed that rate by cold_start_min_lift; cold_start_dispersion is how much
    # siblings' rates differ (squared coefficient of variation).
    cold_start_days: int = Field(default=28, ge=1)
    cold_start_min_lift: float = Field(default=0.5, ge=0)
    cold_start_dispersion: float = Field(default=0.04, ge=0)
    # Slow drift: the last drift_days against the drift_baseline_days before them; it
    # alerts when the rate is drift_min_lift above, not because of one day, once.
    drift_days: int = Field(default=7, ge=2)
    drift_baseline_days: int = Field(default=90, ge=14)
    drift_min_lift: float = Field(default=0.25, ge=0)
    drift_dispersion: float = Field(default=0.001, ge=0)
    # ... and on at least this many of the drift_days days its rate is above the base.
    drift_min_days_above: int = Field(default=6, ge=0)
    # Reason-mix shift: the quality share of a slice's returns rises by mix_min_rise
    # (absolute) over its window share, on at least mix_min_returns returns, while its
    # return rate does not break the literal rule.
    mix_min_returns: int = Field(default=10, ge=1)
    mix_min_rise: float = Field(default=0.15, ge=0)
    # A buyer event: the top buyer made this share of an alert's returns (the top two,
    # buyer_event_share + 0.2).
    buyer_event_share: float = Field(default=0.5, gt=0, le=1)
    # The customer slice: tell the shop's channels once about each buyer who becomes a
    # serial returner (v_serial_returners' definition, as of the night). False: not
    # tracked, no section (docs/alerts.md, "Serial returners").
    serial_returner_alerts: bool = True


class ChannelSettings(Section):
    """One `[[alerts.channels]]` entry: where a digest goes and which slices it wants.

    `url` and `secret` are secrets: the WeCom and DingTalk URLs embed the bot's key. The
    outbox stores the channel's `name`, never its URL, and every error text is scrubbed of
    both before it is logged or stored.
    """

    name: str
    # feishu and lark are the same bot API (open.feishu.cn / open.larksuite.com).
    type: Literal["feishu", "lark", "dingtalk", "wecom", "slack", "generic"]
    url: SecretStr
    # Feishu/Lark and DingTalk "加签" secret; for `generic`, the HMAC key of the
    # X-Returnwatch-Signature header. Unset: requests are not signed.
    secret: SecretStr | None = None
    # Slices below this severity are left out of this channel's digest.
    min_severity: Literal["info", "warning", "critical"] = "info"
    # Only these dimensions ("shop", "region", "sku"); None = all.
    dimensions: list[str] | None = None
    # Only these shops; None = every shop (a `[[shops]]` entry may also name its channels).
    shops: list[str] | None = None
    # Overrides `[alerts] language` for this channel (e.g. an English Slack workspace).
    language: Literal["zh", "en"] | None = None

    @field_validator("url")
    @classmethod
    def _webhook_url(cls, value: SecretStr) -> SecretStr:
        # Checked when the settings load, not when the first alert is sent. The message
        # never repeats the value: a webhook URL embeds the bot's key.
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be the webhook's http:// or https:// URL, as the chat platform shows it"
            )
        return value


class OwnerSettings(Section):
    """One `[[alerts.owners]]` entry: who answers for some slices, @-mentioned beside them.

    `slices` are SLICE patterns (`sku:3580*`, `region:广东省`, `category:服饰`, `shop`):
    exact keys, prefixes ending in `*`, or any shell glob. Each platform needs its own id
    of the person; a platform the entry has no id for shows no mention.
    """

    name: str  # shown in `alerts mutes`/logs, never needed by a platform
    slices: list[str]
    feishu_open_id: str | None = None  # Feishu/Lark `<at id=ou_…>` (open_id) …
    feishu_user_id: str | None = None  # … or user_id
    dingtalk_mobile: str | None = None  # DingTalk at.atMobiles
    dingtalk_user_id: str | None = None  # DingTalk at.atUserIds
    wecom_userid: str | None = None  # WeCom markdown `<@userid>`
    wecom_mobile: str | None = None  # WeCom text mentioned_mobile_list
    slack_member_id: str | None = None  # Slack `<@U…>`
    # A channel name from [[alerts.channels]] that gets only these slices' spikes (the
    # owner's own group); the shop's channels still get everything.
    channel: str | None = None

    @field_validator("slices")
    @classmethod
    def _slice_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            dimension, sep, key = pattern.partition(":")
            if pattern.strip() != "shop" and not (sep and dimension.strip() and key.strip()):
                raise ValueError(
                    f"owner slice {pattern!r}: write 'shop' or '<dimension>:<key pattern>', "
                    "e.g. 'sku:3580*' or 'region:广东省'"
                )
        return value


class AlertSettings(Section):
    """`[alerts]`: language, quiet-night behaviour, delivery limits and the channels."""

    language: Literal["zh", "en"] = "zh"
    # A quiet night sends nothing unless this is set; then an "all clear" digest goes out.
    send_all_clear: bool = False
    # Seconds to wait for one webhook request (connect and read).
    timeout_seconds: float = 10.0
    # HTTP attempts per outbox row in one `alerts send`; a row still failing stays pending
    # and the next run retries it.
    max_attempts_per_run: int = 5
    # Exponential backoff with jitter between attempts: initial wait and cap, in seconds.
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    # A Retry-After (or a platform's own throttling) asking for a longer wait than this
    # ends the channel's turn in this run; its rows stay pending for the next run.
    max_wait_seconds: float = 300.0
    # Nights more than this many days older than the newest night being enqueued get no
    # digest: a first import or a late correction re-detects weeks of history, and those
    # nights must not flood the chat. Catch-up nights within it each get their own digest.
    catch_up_days: int = 7
    # Spikes listed in a digest before "and N more" (ranked by extra returns).
    max_spikes: int = 10
    # Top 售后原因 and carriers shown per spike.
    top_reasons: int = 3
    top_carriers: int = 2
    # --- The alert lifecycle (docs/alerts.md, "Incidents") ---
    # A slice anomalous again within this many nights of its last anomaly is the same
    # incident; this many quiet nights in a row resolve it.
    incident_gap_nights: int = Field(default=2, ge=1)
    # An ongoing incident is "worse" when tonight's extra returns reach this multiple of
    # its previous peak.
    worse_ratio: float = Field(default=1.5, gt=1)
    # "worse": an ongoing incident that is not worse sends no message by itself (and shows
    # as one compact line when a digest goes out anyway); "daily": re-listed every night.
    repeat: Literal["worse", "daily"] = "worse"
    # Data health: a night with fewer order lines than this share of the trailing 7-night
    # median is partial; a night's loads quarantining more than quarantine_share of their
    # rows (or quarantine_factor times their trailing share) are flagged.
    partial_share: float = Field(default=0.4, gt=0, lt=1)
    quarantine_share: float = Field(default=0.01, ge=0)
    quarantine_factor: float = Field(default=3.0, gt=1)
    # The 抖店 token (or its refresh token) expiring within this many days is flagged.
    token_warning_days: int = Field(default=3, ge=0)
    owners: list[OwnerSettings] = Field(default_factory=list)
    channels: list[ChannelSettings] = Field(default_factory=list)


class CalendarEvent(Section):
    """One `[[calendar]]` entry: a promotion during which (and for `return_days` after
    which) the shop's returns are expected to rise. docs/alerts.md, "Promo calendar".

    Those days stay out of later baselines, and a spike during them is measured against
    the event's own expectation: the same event (same name) a year earlier where the
    history has it, else `expected_lift`.
    """

    name: str
    start: date
    end: date
    # Returns keep arriving this many days after the event ends (its return window).
    return_days: int = Field(default=15, ge=0)
    # Expected rise of the return rate during the event and its return window (0.3 = +30%),
    # used when last year's same event is not in the history.
    expected_lift: float = Field(default=0.3, ge=0)
    # Only these shops; None = every shop (platform-wide events).
    shops: list[str] | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> CalendarEvent:
        if self.end < self.start:
            raise ValueError(
                f"[[calendar]] {self.name!r}: end {self.end} is before start {self.start}"
            )
        return self


# Platform-wide 抖音电商 events of the current and next year. The platform announces each
# year's exact dates a few weeks ahead: these windows are approximate (the usual pre-sale
# start to the event day; 年货节 ends when couriers stop before 春节: 2026-02-17,
# 2027-02-06). Add your shop's own live-stream days with [[calendar]];
# `default_calendar = false` drops these.
DEFAULT_CALENDAR: tuple[tuple[str, str, str], ...] = (
    ("年货节", "2026-01-05", "2026-02-08"),
    ("618", "2026-05-20", "2026-06-20"),
    ("双11", "2026-10-20", "2026-11-11"),
    ("双12", "2026-12-08", "2026-12-12"),
    ("年货节", "2026-12-26", "2027-01-28"),
    ("618", "2027-05-20", "2027-06-20"),
    ("双11", "2027-10-20", "2027-11-11"),
    ("双12", "2027-12-08", "2027-12-12"),
)


class ApiSourceSettings(Section):
    """`[source.api]`: the 抖店 Open Platform; off unless `app_key` is set.

    docs/api-source.md says where each credential comes from and how the pulls use the
    numbers below. app_secret, access_token and refresh_token are secrets (shown as
    `**********`); each may also be written "prefect-secret:<block name>" to read a Prefect
    Secret block.
    """

    base_url: str = "https://openapi-fxg.jinritemai.com"
    app_key: str | None = None
    app_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    # The refresh token received with the access token (14 days, single use): with it an
    # expired access token is renewed by the pull itself (token.refresh) and the new pair
    # kept in token_file. Secret; may be "prefect-secret:<block name>" too.
    refresh_token: SecretStr | None = None
    # A self-use app (自用型) names its 抖店 shop id (店铺ID) here instead: the pull creates
    # its own access token (token.create, grant_type authorization_self).
    self_use_shop_id: str | None = None
    # Where a renewed token pair is kept between runs (never printed or logged; mode 0600);
    # default <warehouse folder>/doudian_token.json. It takes precedence over the
    # configured tokens until those change.
    token_file: Path | None = None
    # The warehouse shop the pulled rows belong to; None: the top-level shop_id.
    shop_id: str | None = None
    # The nightly pull re-reads records updated this many hours before the watermark:
    # statuses change for weeks after a request, and the platform's search lags a little.
    overlap_hours: int = Field(default=72, ge=0)
    # A stream's first nightly pull (no watermark yet) reads this many days of updates;
    # older history comes with `returnwatch pull --start … --end …`.
    initial_days: int = Field(default=30, ge=1)
    # Records per API page (the platform's maximum is 100).
    page_size: int = Field(default=100, ge=1, le=100)
    # Windows are cut at shop-local midnights and into chunks of at most this many hours;
    # a chunk reporting more than max_rows_per_chunk records is halved until it does not.
    chunk_hours: int = Field(default=24, ge=1, le=24)
    max_rows_per_chunk: int = Field(default=10_000, ge=1)
    # Seconds to wait for one request; attempts per request (network errors, HTTP 5xx,
    # throttling) with exponential backoff and jitter between them (initial wait, cap).
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    backoff_initial_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=60.0, ge=0)
    # Keep every page received as gzip JSON (personal data removed) for audit, under
    # raw_dir (default: <warehouse folder>/raw/doudian_api).
    keep_raw: bool = False
    raw_dir: Path | None = None


class ValidationSettings(Section):
    """`[validation]`: the GX Data Docs site of the contract and of every load's result."""

    # Where `returnwatch validation docs` and the nightly run write the HTML site; default
    # `data_docs/` beside the published warehouse file (docs/validation.md, "Data Docs").
    docs_dir: Path | None = None
    # The nightly run refreshes the site after importing (GX is imported only when a load
    # happened since the last build: about 4 s).
    nightly_docs: bool = True


class SourceSettings(Section):
    api: ApiSourceSettings = Field(default_factory=ApiSourceSettings)


class ShopSettings(Section):
    """One `[[shops]]` entry, for an agency running several shops from one config.

    Unset fields fall back to the top-level settings, except `inbox`: with several shops
    each gets `<inbox>/<shop_id>` unless it names its own (a 抖店 export carries no shop id,
    so two shops cannot share a folder). docs/orchestration.md, "Several shops".
    """

    shop_id: str
    inbox: Path | None = None
    # Only these channel names get this shop's digests; None = every channel.
    channels: list[str] | None = None
    # The shop's own timezone, for "yesterday"; default the top-level `timezone`.
    timezone: str | None = None
    # The shop's own warehouse file (published file; its working file is derived as for
    # `db`). Default: the shared `db`. Shops with their own files run in parallel on
    # several workers; shops sharing one file take turns writing it.
    db: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return value if value is None else check_timezone(value)


# The 售后原因 labels of the 抖店 export (and the synthetic shop), mapped to the report's
# standard reason classes. Labels not listed here, and labels listed in `vague_reasons`, are
# classified from the buyer's own words (`reason_detail`) by `reason_keywords`.
DEFAULT_REASON_MAP: dict[str, str] = {
    "质量问题": "质量问题",
    "尺码不合适": "尺码不符",
    "商品与描述不符": "描述不符",
    "七天无理由退货": "冲动消费/七天无理由",
    "物流破损": "物流问题",
    "不想要了": "冲动消费/七天无理由",
    "发错货": "物流问题",
    "其他": "其他",
}
# Keyword rules for the buyer's words, tried in this order; the first class with a keyword
# contained in the text wins. Also used for labels missing from the map.
DEFAULT_REASON_KEYWORDS: dict[str, list[str]] = {
    "质量问题": ["质量", "做工", "瑕疵", "开线", "坏了", "是坏的", "污渍", "起球", "掉色", "异味"],
    "尺码不符": ["尺码", "尺寸", "偏小", "偏大", "太大", "太小", "码数", "穿不上", "挤脚", "腰围"],
    "描述不符": ["描述", "图片", "详情页", "色差", "材质", "不一样", "直播间", "货不对板"],
    "物流问题": ["快递", "物流", "破损", "压坏", "碎了", "运输", "发错", "少发", "漏发", "没收到"],
    "冲动消费/七天无理由": ["不想要", "不喜欢", "拍错", "买多", "多拍", "七天无理由", "降价", "已经有了"],
}  # fmt: skip
# Product-name keywords that put a SKU in an industry category (first match wins); SKUs
# matching none are in `shop_category`.
DEFAULT_CATEGORY_KEYWORDS: dict[str, list[str]] = {
    "鞋靴": ["鞋", "靴"],
    "服饰": ["连衣裙", "T恤", "牛仔裤", "卫衣", "休闲裤", "衬衫", "开衫", "外套", "裙", "裤"],
    "数码": ["耳机", "手机壳", "充电", "数据线", "音箱"],
    "美妆个护": ["面膜", "洗发水", "牙刷", "护肤", "口红", "精华"],
    "食品": ["坚果", "零食", "茶叶", "咖啡"],
    "家居": ["保温杯", "收纳", "四件套", "床品", "毛巾"],
}
# Typical monthly return rates (low, high) per category. 服饰 20–30% is the figure the
# project was given; the others are placeholders to replace with your own sector's numbers.
DEFAULT_BENCHMARKS: dict[str, tuple[float, float]] = {
    "服饰": (0.20, 0.30),
    "鞋靴": (0.15, 0.25),
    "数码": (0.05, 0.10),
    "美妆个护": (0.05, 0.10),
    "食品": (0.02, 0.05),
    "家居": (0.05, 0.12),
    "综合": (0.10, 0.20),
}


class ReportSettings(Section):
    """`[report]`: the monthly return report (`returnwatch report --month YYYY-MM`).

    docs/report.md defines every figure of the report and how each setting below is used.
    `reason_map` and `benchmarks` entries are merged over the defaults; the keyword tables
    replace theirs (their order is their priority).
    """

    # Where reports are written when no --out is given: <out_dir>/<shop>/<YYYY-MM>/.
    out_dir: Path = Path("reports")
    # Where out_dir is published (a static site or bucket). When set, the month's first
    # digest links the previous month's report; unset, digests carry no report link.
    public_base_url: str | None = None
    # What that link points at: the HTML report, or the trend chart's PNG.
    attachment: Literal["link", "image"] = "link"
    # Health thresholds shown beside each KPI.
    healthy_return_rate: float = Field(default=0.18, gt=0, le=1)  # healthy below
    healthy_dispute_rate: float = Field(default=0.01, gt=0, le=1)  # healthy below
    healthy_repurchase_coefficient: float = Field(default=0.6, gt=0)  # healthy at or above
    review_target_hours: float = Field(default=2.0, gt=0)  # 申请 → 同意: first review
    decision_target_hours: float = Field(default=48.0, gt=0)  # 申请 → 同意: 安心购 decision
    # A buyer "repurchased" with another order paid within this many days after their
    # first order of the month.
    repurchase_window_days: int = Field(default=30, ge=1)
    # Category benchmarks: a SKU's category comes from its product name, else this one.
    shop_category: str = "综合"
    category_keywords: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_CATEGORY_KEYWORDS.items()}
    )
    benchmarks: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_BENCHMARKS)
    )
    # Reasons: platform label → standard class, and the keyword classifier.
    reason_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_REASON_MAP))
    vague_reasons: list[str] = Field(default_factory=lambda: ["其他"])
    reason_keywords: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_REASON_KEYWORDS.items()}
    )
    # Damaged in transit: these labels, or these words in the buyer's own text.
    damage_reasons: list[str] = Field(default_factory=lambda: ["物流破损"])
    damage_keywords: list[str] = Field(
        default_factory=lambda: ["破损", "压坏", "碎了", "变形", "破的", "摔坏"]
    )
    # arbitration_status values that mean "no dispute" (anything else non-empty is one).
    no_dispute_values: list[str] = Field(default_factory=lambda: ["-", "无", "未仲裁", "无仲裁"])
    # Sizes of the tables and the heatmap; heatmap cells with fewer order lines are grey.
    top_skus: int = Field(default=20, ge=1)
    heatmap_regions: int = Field(default=12, ge=1)
    heatmap_skus: int = Field(default=12, ge=1)
    min_cell_order_lines: int = Field(default=30, ge=1)

    @field_validator("reason_map")
    @classmethod
    def _merge_reason_map(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_REASON_MAP, **value}

    @field_validator("benchmarks")
    @classmethod
    def _merge_benchmarks(
        cls, value: dict[str, tuple[float, float]]
    ) -> dict[str, tuple[float, float]]:
        return {**DEFAULT_BENCHMARKS, **value}


class Settings(BaseSettings):
    """All of returnwatch's settings; see the README's Configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RETURNWATCH_",
        env_nested_delimiter="__",
        # Unknown keys in the file (or RETURNWATCH_<SECTION>__<KEY> variables) are errors.
        # Unknown top-level RETURNWATCH_* variables (RETURNWATCH_CONFIG, test switches) are
        # not read as settings at all, so they stay allowed.
        extra="forbid",
    )

    # The published warehouse analysts open; every write goes to `work_db` first and is
    # then copied over this file atomically (docs/orchestration.md, "Publishing").
    db: Path = Path("data/returnwatch.duckdb")
    # The private working file the writers use; default `<db dir>/.work/<db name>`.
    work_db: Path | None = None
    shop_id: str = "default"
    timezone: str = "Asia/Shanghai"
    inbox: Path = Path("inbox")
    # An inbox file is read only once its size and modification time have not changed for
    # this many seconds, so a file still being copied in is left for the next run.
    inbox_settle_seconds: float = Field(default=5.0, ge=0)
    # How long a nightly run waits for the working file while another process (an import,
    # another shop's run) writes it, before it fails and notifies.
    warehouse_wait_seconds: float = Field(default=1800.0, ge=0)
    pii_secret: SecretStr | None = None
    memory_limit: str = "1GB"
    threads: int | None = None
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    # Item -> category rules for sources without a category column (issue 17).
    categories: list[CategoryMapping] = Field(default_factory=list)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    source: SourceSettings = Field(default_factory=SourceSettings)
    shops: list[ShopSettings] = Field(default_factory=list)
    report: ReportSettings = Field(default_factory=ReportSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    # `[[calendar]]`: promotions (618, 双11, live-stream days) whose returns are expected to
    # rise; added to the platform defaults unless `default_calendar = false`.
    calendar: list[CalendarEvent] = Field(default_factory=list)
    default_calendar: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return check_timezone(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = config_path()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    def pii_key(self) -> bytes:
        """The HMAC key for customer ids.

        Without a configured secret, one is generated once next to the warehouse (mode
        0600), so hashes stay stable across runs without anyone having to invent a key.
        """
        if self.pii_secret is not None:
            return self.pii_secret.get_secret_value().encode()
        path = self.db.parent / PII_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def calendar_for(self, shop_id: str) -> list[CalendarEvent]:
        """The promotions that apply to a shop: the defaults (unless turned off) and its
        `[[calendar]]` entries, by start day."""
        events = [
            CalendarEvent(name=name, start=date.fromisoformat(start), end=date.fromisoformat(end))
            for name, start, end in (DEFAULT_CALENDAR if self.default_calendar else ())
        ]
        events += [e for e in self.calendar if e.shops is None or shop_id in e.shops]
        return sorted(events, key=lambda e: (e.start, e.name))

    def shop_ids(self) -> list[str]:
        """Every shop this config watches: the `[[shops]]` list, else the one `shop_id`."""
        return [shop.shop_id for shop in self.shops] or [self.shop_id]


def config_path() -> Path | None:
    """The TOML file in force: `RETURNWATCH_CONFIG`, else `./returnwatch.toml` if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError([f"env {CONFIG_ENV} = {named!r} — no such config file"])
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_settings(**overrides: object) -> Settings:
    """Read the settings afresh (env and file may have changed since the last call).

    Raises ConfigError, one line per problem, when a key is unknown, a value is not
    allowed, or the warehouse file cannot be written: a broken setting stops the command
    before it does anything, instead of a traceback later or a default silently in force.
    """
    config_file = config_path()
    try:
        settings = Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{config_file}: not valid TOML — {exc}"]) from None
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, config_file)) from None
    problems = path_problems(settings, config_file)
    if problems:
        raise ConfigError(problems)
    return settings


# -- clear errors -----------------------------------------------------------------------


class ConfigError(ValueError):
    """Settings that cannot be used: `problems` holds one line per problem, each naming
    where it was set (file or env variable), the key, the bad value and what is allowed.
    The CLI prints them and exits 2; the nightly run sends them to chat."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def check_timezone(value: str) -> str:
    """`value` if it names an IANA timezone; else a ValueError naming the closest one."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, _timezones(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"must be an IANA timezone such as 'Asia/Shanghai'{hint}") from None
    return value


@cache
def _timezones() -> list[str]:
    return sorted(available_timezones())


Loc = tuple[str | int, ...]


def describe_errors(exc: ValidationError, config_file: Path | None) -> list[str]:
    """Each validation error as one line: `<file or env var>: <key> = <value> — <what is
    allowed>`, or for an unknown key the closest valid one. Secret values are never shown."""
    file_data = _read_toml(config_file)
    lines: list[str] = []
    for error in exc.errors():
        line = _describe(error, config_file, file_data)
        if line not in lines:
            lines.append(line)
    return lines


def _describe(error: Any, config_file: Path | None, file_data: dict[str, Any]) -> str:
    loc: Loc = tuple(error["loc"])
    env_name = _env_origin(loc)
    if env_name is not None:
        where = f"env {env_name}"
    elif config_file is not None and loc and loc[0] in file_data:
        where = f"{config_file}: {_key_text(loc)}"
    else:
        where = _key_text(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where} is not a setting — {_known_keys_hint(loc)}"
    if kind == "missing":
        return f"{where} is missing — it is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "must be", 1)
    return f"{where} = {_shown_value(loc, error.get('input'))} — {message}"


def _key_text(loc: Loc) -> str:
    """A location as the TOML reader sees it: `[detection] mode`, `[alerts.channels #1] url`."""
    last = max((i for i, part in enumerate(loc) if isinstance(part, str)), default=0)

    def render(parts: Loc) -> str:
        text = ""
        for part in parts:
            text += f" #{part + 1}" if isinstance(part, int) else ("." if text else "") + part
        return text

    section, key = render(loc[:last]), render(loc[last:])
    return f"[{section}] {key}" if section else key


def _env_origin(loc: Loc) -> str | None:
    """The RETURNWATCH_… variable that set `loc` (or the section holding it), if any."""
    names = {name.upper(): name for name in os.environ}
    for end in range(len(loc), 0, -1):
        parts = loc[:end]
        if all(isinstance(p, str) for p in parts):
            name = "RETURNWATCH_" + "__".join(str(p) for p in parts).upper()
            if name in names:
                return names[name]
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The settings model holding the key at the end of `loc` (None inside a plain dict)."""
    model: type[BaseModel] | None = Settings
    last = max((i for i, part in enumerate(loc) if isinstance(part, str)), default=0)
    for part in loc[:last]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        model = _inner_model(field.annotation) if field else None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _known_keys_hint(loc: Loc) -> str:
    model = _model_at(loc)
    if model is None:
        return "unknown key"
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"did you mean {close[0]}?"
    section = _key_text((*loc[:-1], "")).strip()
    return f"the {section or 'top-level'} settings are: {', '.join(known)}"


def _shown_value(loc: Loc, value: Any) -> str:
    """The bad value as written, unless the key holds a secret (webhook URLs embed keys)."""
    model = _model_at(loc)
    key = next((p for p in reversed(loc) if isinstance(p, str)), "")
    field = model.model_fields.get(key) if model else None
    if field is None or "SecretStr" in str(field.annotation):
        return "(value not shown: a secret)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _read_toml(config_file: Path | None) -> dict[str, Any]:
    if config_file is None:
        return {}
    try:
        return tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def path_problems(settings: Settings, config_file: Path | None) -> list[str]:
    """The warehouse files that could not be written, one line each (checked without
    creating anything: the nearest existing folder must be a writable folder)."""
    paths: list[tuple[Loc, Path | None]] = [
        (("db",), settings.db),
        (("work_db",), settings.work_db),
    ]
    paths += [(("shops", i, "db"), shop.db) for i, shop in enumerate(settings.shops)]
    file_data = _read_toml(config_file)
    problems = []
    for loc, path in paths:
        reason = _unwritable(path) if path is not None else None
        if reason is None:
            continue
        env_name = _env_origin(loc)
        where = (
            f"env {env_name}"
            if env_name
            else f"{config_file}: {_key_text(loc)}"
            if config_file is not None and loc[0] in file_data
            else _key_text(loc)
        )
        problems.append(
            f"{where} = {json.dumps(str(path))} — {reason}; the warehouse needs a folder "
            "it can write"
        )
    return problems


def _unwritable(path: Path) -> str | None:
    """Why `path` cannot be written, or None. Tried for real (os.access says yes to root
    even on /proc or a read-only mount): the file is opened for appending, or a probe file
    is created and removed in the nearest existing folder. No folder is created."""
    if path.is_dir():
        return "is a folder, not a file"
    if path.exists():
        try:
            with path.open("ab"):
                return None
        except OSError as exc:
            return f"the file cannot be written ({exc.strerror or type(exc).__name__})"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".returnwatch-probe-"):
            return None
    except OSError as exc:
        return f"cannot create files in {folder} ({exc.strerror or type(exc).__name__})"


def notice_settings() -> Settings:
    """What a broken config still allows: enough to tell the chat it is broken.

    Every `[[alerts.channels]]` entry of the file that is valid on its own (sent for every
    shop), `[alerts] language`, and the top-level `db` and `shop_id` when they are plain
    strings (their RETURNWATCH_DB / RETURNWATCH_SHOP_ID variables first); defaults for
    everything else, nothing else validated. Never raises.
    """
    try:
        data = _read_toml(config_path())
    except ConfigError:
        data = {}
    alerts = data.get("alerts") if isinstance(data.get("alerts"), dict) else {}
    channels = []
    for entry in alerts.get("channels") or []:
        if not isinstance(entry, dict):
            continue
        known = {k: v for k, v in entry.items() if k in ChannelSettings.model_fields}
        try:
            channel = ChannelSettings.model_validate(known)
        except ValidationError:
            continue
        channels.append(channel.model_copy(update={"shops": None}))
    language = alerts.get("language") if alerts.get("language") in ("zh", "en") else "zh"
    values: dict[str, Any] = {"alerts": AlertSettings(language=language, channels=channels)}
    for key, kind in (("db", Path), ("shop_id", str)):
        given = os.environ.get(f"RETURNWATCH_{key.upper()}") or data.get(key)
        if isinstance(given, str) and given:
            values[key] = kind(given)
    return Settings.model_construct(**values)
