"""One class per chat platform: its message markup, size limits, signature and errors.

A channel turns a `Digest` into one or more `Message`s (a digest too big for the platform is
split between spikes into numbered parts, and a single oversized spike is shortened), turns
a message into an HTTP request (signing it when a secret is set), and reads the platform's
answer. Feishu, DingTalk and WeCom answer HTTP 200 with a non-zero `code`/`errcode` when they
refuse a message, so the body counts as much as the status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from returnwatch import redact
from returnwatch.alerts.digest import (
    Digest,
    Rendered,
    Section,
    health_message,
    render,
)
from returnwatch.alerts.signing import dingtalk_sign, feishu_sign, generic_sign
from returnwatch.settings import ChannelSettings, OwnerSettings, Settings
from returnwatch.slices import PSEUDONYM_CHARS

ERROR_SNIPPET_CHARS = 300


@dataclass(frozen=True)
class Message:
    """One chat message: a whole digest or one numbered part of it."""

    title: str
    part: int
    parts: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str]


class DeliveryError(Exception):
    """A message the receiver did not take. `retryable` errors (timeouts, 5xx, throttling)
    are tried again; the others are recorded as failed. The message is already scrubbed."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        penalty: bool = False,
    ):
        super().__init__(redact.scrub(message))
        self.message = str(self)
        self.retryable = retryable
        self.retry_after = retry_after
        # The platform's documented throttling penalty: waited out even above
        # max_wait_seconds, and the whole bot waits (see sender.Deliverer).
        self.penalty = penalty


class UnknownChannelError(ValueError):
    pass


class Channel:
    """What every platform shares; subclasses fill in markup, limits and error codes."""

    type: ClassVar[str]
    # (messages, seconds) windows the platform allows per bot.
    rate_limits: ClassVar[tuple[tuple[int, float], ...]] = ()
    # Platform codes meaning "throttled", with the seconds to wait before trying again.
    throttle_codes: ClassVar[dict[int, float]] = {}
    # Platform codes with a hint for the person reading `alerts list`.
    hints: ClassVar[dict[int, str]] = {}

    def __init__(self, settings: ChannelSettings):
        self.settings = settings
        secret = settings.secret.get_secret_value() if settings.secret else None
        redact.register(settings.url.get_secret_value(), secret)
        redact.install_log_filter()

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def url(self) -> str:
        return self.settings.url.get_secret_value()

    @property
    def secret(self) -> str | None:
        return self.settings.secret.get_secret_value() if self.settings.secret else None

    # -- content --------------------------------------------------------------------

    def render(self, digest: Digest, *, dedup_key: str = "") -> list[Message]:
        """The digest as messages that each fit the platform, numbered when split."""
        doc = render(digest)
        worst_title = numbered(doc.title, 99, 99)

        def fits(intro: tuple[str, ...], sections: list[Section]) -> bool:
            payload = self.payload(doc, worst_title, intro, sections, last=True)
            return self.fits(payload)

        intro = shrink(doc.intro, lambda lines: fits(lines, []))
        sections = [
            replace(
                s, lines=shrink(s.lines, lambda lines, s=s: fits(intro, [replace(s, lines=lines)]))
            )
            for s in doc.sections
        ]
        groups: list[list[Section]] = [[]]
        for section in sections:
            part_intro = intro if len(groups) == 1 else ()
            if fits(part_intro, [*groups[-1], section]):
                groups[-1].append(section)
            else:
                groups.append([section])
        n = len(groups)
        return [
            Message(
                numbered(doc.title, i, n),
                i,
                n,
                self.payload(
                    doc, numbered(doc.title, i, n), intro if i == 1 else (), group, last=i == n
                ),
            )
            for i, group in enumerate(groups, 1)
        ]

    def payload(
        self,
        doc: Rendered,
        title: str,
        intro: tuple[str, ...],
        sections: list[Section],
        *,
        last: bool,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def fits(self, payload: dict[str, Any]) -> bool:
        raise NotImplementedError

    # -- delivery -------------------------------------------------------------------

    def prepare(self, payload: dict[str, Any], now: float) -> HttpRequest:
        """The HTTP request for a stored payload, signed with `now` as its timestamp."""
        return HttpRequest(self.url, to_json(payload), {"Content-Type": JSON_CONTENT_TYPE})

    def check_response(
        self, status: int, headers: Mapping[str, str], text: str, now: float
    ) -> None:
        """Raises DeliveryError unless the platform accepted the message."""
        snippet = text[:ERROR_SNIPPET_CHARS]
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"), now)
            raise DeliveryError(
                f"HTTP 429 rate limited: {snippet}", retryable=True, retry_after=retry_after
            )
        if status >= 500 or status == 408:
            raise DeliveryError(f"HTTP {status}: {snippet}", retryable=True)
        code = self.platform_code(text)
        if code is not None and code[0] != 0:
            number, message = code
            hint = self.hints.get(number)
            detail = f"{self.type} error {number}: {message}" + (f" ({hint})" if hint else "")
            if number in self.throttle_codes:
                raise DeliveryError(
                    detail, retryable=True, retry_after=self.throttle_codes[number], penalty=True
                )
            raise DeliveryError(detail, retryable=False)
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}: {snippet}", retryable=False)

    def platform_code(self, text: str) -> tuple[int, str] | None:
        """The platform's own (code, message) from a response body; None if it has none."""
        return None


JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def to_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def numbered(title: str, part: int, parts: int) -> str:
    return f"{title} ({part}/{parts})" if parts > 1 else title


def shrink(lines: tuple[str, ...], fits: Callable[[tuple[str, ...]], bool]) -> tuple[str, ...]:
    """`lines`, with the longest line cut by a quarter (ending in …) until they fit."""
    current = list(lines)
    while current and not fits(tuple(current)):
        i = max(range(len(current)), key=lambda k: len(current[k]))
        if len(current[i]) <= 2:
            current.pop()
            continue
        current[i] = current[i][: len(current[i]) * 3 // 4].rstrip() + "…"
    return tuple(current)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def _json_code(text: str, *fields: str) -> tuple[int, str] | None:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for name in fields:
        if isinstance(body.get(name), int):
            message = body.get("msg") or body.get("errmsg") or body.get("StatusMessage") or ""
            return body[name], str(message)
    return None


class FeishuChannel(Channel):
    """Feishu / Lark custom bot: an interactive card; `timestamp` and `sign` in the body."""

    type = "feishu"
    rate_limits = ((5, 1.0), (100, 60.0))
    throttle_codes: ClassVar[dict[int, float]] = {11232: 10.0}
    hints: ClassVar[dict[int, str]] = {
        19021: "signature mismatch: check the channel's secret and this machine's clock",
        19022: "IP not allowed by the bot's security settings",
        19024: "keyword missing: add 'returnwatch' as the bot's custom keyword",
    }
    max_bytes = 18_000  # the platform refuses bodies over 20 KB; room left for the signature

    def payload(self, doc, title, intro, sections, *, last):
        elements: list[dict[str, Any]] = []
        if intro:
            elements.append(_lark_div("\n".join(intro)))
        for section in sections:
            elements.append({"tag": "hr"})
            head, *rest = section.lines or ("",)
            mention = section.mention_line(_feishu_at)
            elements.append(_lark_div("\n".join([f"**{head}**", *rest, *_opt(mention)])))
        if last and doc.outro:
            elements.append(_lark_div("\n".join(doc.outro)))
        if last and doc.links:
            buttons = [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": a.title},
                    "url": a.url,
                    "type": "default",
                }
                for a in doc.links
            ]
            elements.append({"tag": "action", "actions": buttons})
        elements.append(
            {"tag": "note", "elements": [{"tag": "plain_text", "content": " · ".join(doc.footer)}]}
        )
        card = {
            "config": {"wide_screen_mode": True},
            "header": {"template": doc.color, "title": {"tag": "plain_text", "content": title}},
            "elements": elements,
        }
        return {"msg_type": "interactive", "card": card}

    def fits(self, payload):
        return len(to_json(payload)) <= self.max_bytes

    def prepare(self, payload, now):
        body = dict(payload)
        if self.secret:
            timestamp = int(now)
            body["timestamp"] = str(timestamp)
            body["sign"] = feishu_sign(self.secret, timestamp)
        return HttpRequest(self.url, to_json(body), {"Content-Type": JSON_CONTENT_TYPE})

    def platform_code(self, text):
        return _json_code(text, "code", "StatusCode")


def _opt(line: str | None) -> list[str]:
    return [line] if line else []


def _feishu_at(owner: OwnerSettings) -> str | None:
    """Feishu/Lark card markdown: `<at id=ou_…></at>` (open_id, else user_id)."""
    person = owner.feishu_open_id or owner.feishu_user_id
    return f"<at id={person}></at>" if person else None


def _dingtalk_at(owner: OwnerSettings) -> str | None:
    """DingTalk: `@<mobile>` / `@<userId>` in the text, listed again in `at`."""
    person = owner.dingtalk_mobile or owner.dingtalk_user_id
    return f"@{person}" if person else None


def _wecom_at(owner: OwnerSettings) -> str | None:
    """WeCom markdown: `<@userid>` (markdown messages cannot mention by mobile)."""
    return f"<@{owner.wecom_userid}>" if owner.wecom_userid else None


def _slack_at(owner: OwnerSettings) -> str | None:
    """Slack mrkdwn: `<@U…>` (member id)."""
    return f"<@{owner.slack_member_id}>" if owner.slack_member_id else None


def _lark_div(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}


class DingTalkChannel(Channel):
    """DingTalk custom bot: markdown; `timestamp` (ms) and `sign` as query parameters."""

    type = "dingtalk"
    rate_limits = ((20, 60.0),)
    # Over 20 messages a minute DingTalk throttles the bot for 10 minutes (errcode 130101,
    # "send too fast"; docs/alerts.md cites the platform's page): wait all of it.
    throttle_codes: ClassVar[dict[int, float]] = {130101: 600.0}
    hints: ClassVar[dict[int, str]] = {
        310000: "refused by the bot's security settings: signature, keyword ('returnwatch') or IP",
        300001: "the access_token in the channel's url is not valid",
    }
    max_bytes = 12_000  # conservative: the text of one markdown message
    max_chars = 5_000

    def payload(self, doc, title, intro, sections, *, last):
        blocks = [f"#### {title}"]
        if intro:
            blocks.append("  \n".join(intro))
        for section in sections:
            head, *rest = section.lines or ("",)
            mention = section.mention_line(_dingtalk_at)
            blocks.append("  \n".join([f"**{head}**", *rest, *_opt(mention)]))
        if last and doc.outro:
            blocks.append("  \n".join(doc.outro))
        if last and doc.links:
            blocks.append(
                "  \n".join(
                    f"![{a.title}]({a.url})" if a.kind == "image" else f"[{a.title}]({a.url})"
                    for a in doc.links
                )
            )
        blocks.append(" · ".join(doc.footer))
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": "\n\n".join(blocks)},
        }
        owners = {o.name: o for section in sections for o in section.mentions}.values()
        mobiles = sorted({o.dingtalk_mobile for o in owners if o.dingtalk_mobile})
        user_ids = sorted(
            {o.dingtalk_user_id for o in owners if o.dingtalk_user_id and not o.dingtalk_mobile}
        )
        if mobiles or user_ids:
            payload["at"] = {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": False}
        return payload

    def fits(self, payload):
        text = payload["markdown"]["text"]
        return len(text) <= self.max_chars and len(text.encode()) <= self.max_bytes

    def prepare(self, payload, now):
        url = self.url
        if self.secret:
            timestamp = int(now * 1000)
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}timestamp={timestamp}&sign={dingtalk_sign(self.secret, timestamp)}"
        return HttpRequest(url, to_json(payload), {"Content-Type": JSON_CONTENT_TYPE})

    def platform_code(self, text):
        return _json_code(text, "errcode")


class WeComChannel(Channel):
    """WeCom (企业微信) group bot: markdown, at most 4096 bytes; the key is in the URL."""

    type = "wecom"
    rate_limits = ((20, 60.0),)
    throttle_codes: ClassVar[dict[int, float]] = {45009: 60.0}
    hints: ClassVar[dict[int, str]] = {
        93000: "the key in the channel's url is not valid",
        40058: "message too long or malformed",
    }
    max_bytes = 4_000  # the platform's limit is 4096 bytes of content
    max_text_bytes = 2_000  # a text message's content: 2048 bytes

    def render(self, digest: Digest, *, dedup_key: str = "") -> list[Message]:
        """The markdown parts, plus one short text message when an owner is known to WeCom
        only by mobile: markdown mentions need a userid, only text messages take
        `mentioned_mobile_list`."""
        messages = super().render(digest, dedup_key=dedup_key)
        doc = render(digest)
        owners = {o.name: o for s in doc.sections for o in s.mentions}.values()
        mobiles = sorted({o.wecom_mobile for o in owners if o.wecom_mobile and not o.wecom_userid})
        if not mobiles:
            return messages
        names = " ".join(o.name for o in owners if o.wecom_mobile and not o.wecom_userid)
        content = f"{doc.title}\n{doc.sections[0].mention_label}{names}"
        content = content.encode()[: self.max_text_bytes].decode(errors="ignore")
        ping = {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}}
        n = len(messages) + 1
        return [replace(m, parts=n) for m in messages] + [Message(doc.title, n, n, ping)]

    def payload(self, doc, title, intro, sections, *, last):
        blocks = [f"**{title}**" + ("\n" + "\n".join(intro) if intro else "")]
        for section in sections:
            head, *rest = section.lines or ("",)
            if section.severity == "critical":
                head = f'<font color="warning">{head}</font>'
            mention = section.mention_line(_wecom_at)
            blocks.append("\n".join([f"**{head}**", *rest, *_opt(mention)]))
        if last and doc.outro:
            blocks.append("\n".join(doc.outro))
        if last and doc.links:
            blocks.append("\n".join(f"[{a.title}]({a.url})" for a in doc.links))
        blocks.append(f'<font color="comment">{" · ".join(doc.footer)}</font>')
        return {"msgtype": "markdown", "markdown": {"content": "\n\n".join(blocks)}}

    def fits(self, payload):
        return len(payload["markdown"]["content"].encode()) <= self.max_bytes

    def platform_code(self, text):
        return _json_code(text, "errcode")


class SlackChannel(Channel):
    """Slack incoming webhook: Block Kit, at most 50 blocks, 3,000 characters a section and
    12,000 characters of text in all blocks together.

    The last limit is not in Block Kit's reference: Slack refuses a message whose blocks
    total about 13,200 characters with `msg_blocks_too_long` (slackapi/bolt-js#2509;
    Slack's answer there: 12,000 text characters plus a buffer for the block containers,
    the markdown block's documented cumulative limit). 12,000 counts every text a block
    carries (header, sections, context, image alt text), so a digest is split before it.
    """

    type = "slack"
    rate_limits = ((1, 1.0),)
    max_blocks = 50
    max_section_chars = 3_000
    max_header_chars = 150
    max_total_chars = 12_000

    def payload(self, doc, title, intro, sections, *, last):
        header = (
            title
            if len(title) <= self.max_header_chars
            else title[: self.max_header_chars - 1] + "…"
        )
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
        ]
        if intro:
            blocks.append(_slack_section("\n".join(_slack_escape(line) for line in intro)))
        for section in sections:
            head, *rest = section.lines or ("",)
            blocks.append({"type": "divider"})
            lines = [f"*{_slack_escape(head)}*", *(_slack_escape(line) for line in rest)]
            mention = section.mention_line(lambda o: _slack_at(o) or _slack_escape(o.name))
            if mention:
                # the label is ours (escaped); the <@U…> marks must stay unescaped
                lines.append(
                    _slack_escape(section.mention_label) + mention[len(section.mention_label) :]
                )
            blocks.append(_slack_section("\n".join(lines)))
        if last and doc.outro:
            blocks.append(_slack_section("\n".join(_slack_escape(line) for line in doc.outro)))
        if last:
            for a in doc.links:
                if a.kind == "image":
                    blocks.append({"type": "image", "image_url": a.url, "alt_text": a.title})
                else:
                    blocks.append(_slack_section(f"<{a.url}|{_slack_escape(a.title)}>"))
        footer = _slack_escape(" · ".join(doc.footer))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
        return {"text": title, "blocks": blocks}

    def fits(self, payload):
        blocks = payload["blocks"]
        return (
            len(blocks) <= self.max_blocks
            and all(
                len(b["text"]["text"]) <= self.max_section_chars
                for b in blocks
                if b["type"] == "section"
            )
            and sum(slack_text_chars(b) for b in blocks) <= self.max_total_chars
        )


def slack_text_chars(block: Mapping[str, Any]) -> int:
    """The characters of text a Block Kit block carries, at any depth (what Slack sums
    for msg_blocks_too_long)."""
    total = 0
    for key, value in block.items():
        if key in ("text", "alt_text") and isinstance(value, str):
            total += len(value)
        elif isinstance(value, Mapping):
            total += slack_text_chars(value)
        elif isinstance(value, list):
            total += sum(slack_text_chars(v) for v in value if isinstance(v, Mapping))
    return total


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class GenericChannel(Channel):
    """Any receiver: the digest as JSON, whole (no split), with the rendered text beside the
    data. Signed with X-Returnwatch-Signature when a secret is set (see signing.py)."""

    type = "generic"

    def render(self, digest: Digest, *, dedup_key: str = "") -> list[Message]:
        doc = render(digest)
        headline = digest.headline
        payload = {
            "source": "returnwatch",
            "kind": digest.kind,
            "shop_id": digest.shop_id,
            "day": digest.day.isoformat(),
            "language": digest.language,
            "title": doc.title,
            "text": doc.text(),
            "dedup_key": dedup_key,
            "is_update": digest.is_update,
            "is_test": digest.is_test,
            "anomalies": [
                {
                    "day": digest.day.isoformat(),
                    "dimension": a.dimension,
                    "key": a.key,
                    "product_name": a.product_name,
                    "severity": a.severity,
                    "return_rate": a.return_rate,
                    "baseline_rate": a.baseline_rate,
                    "lift": a.lift,
                    "order_lines": a.order_lines,
                    "returns": a.returns,
                    "expected_returns": a.expected_returns,
                    "extra_returns": a.extra_returns,
                    "p_value": a.p_value,
                    "reason": a.reason,
                    "explained_by": a.explained_by,
                    "top_reasons": [{"reason": r, "count": n} for r, n in a.top_reasons],
                    "top_carriers": [{"carrier": c, "count": n} for c, n in a.top_carriers],
                    "dedup_key": f"{digest.shop_id}|{digest.day.isoformat()}|{a.slice_id}",
                    "incident": (
                        {
                            "id": a.incident.id,
                            "status": a.incident.status,
                            "first_day": a.incident.first_day.isoformat(),
                            "nights": a.incident.nights,
                        }
                        if a.incident
                        else None
                    ),
                    "muted": a.muted,
                    "owners": [o.name for o in a.owners],
                    "event": (
                        {
                            "name": a.event.name,
                            "lift": a.event.lift,
                            "learned": a.event.learned,
                            "expected_returns": a.event.expected_returns,
                            "extra_returns": a.event.extra_returns,
                        }
                        if a.event
                        else None
                    ),
                }
                for a in digest.anomalies
            ],
            "resolved": [
                {
                    "dimension": r.dimension,
                    "key": r.key,
                    "first_day": r.first_day.isoformat(),
                    "last_day": r.last_day.isoformat(),
                    "nights": r.nights,
                    "incident_id": r.incident_id,
                    "peak_extra_returns": r.peak_extra_returns,
                }
                for r in digest.resolved
            ],
            "data_health": [
                {
                    **f.details,
                    "code": f.code,
                    "message": health_message(digest.language, f, digest.shop_id, digest.day),
                }
                for f in digest.health
            ],
            "serial_returners": _serial_json(digest),
            "summary": {
                "return_rate": headline.return_rate if headline else None,
                "baseline_rate": headline.baseline_rate if headline else None,
                "order_lines": headline.order_lines if headline else None,
                "returns": headline.returns if headline else None,
                "anomalies": len(digest.anomalies),
                "spikes": len(digest.spikes) + digest.more,
                "slices": list(digest.slices),
                "muted": digest.muted,
                "event": digest.event,
                "event_expected": digest.event_expected,
            },
            "failure": (
                {"what_failed": digest.failure[0], "what_to_do": digest.failure[1]}
                if digest.failure
                else None
            ),
            "attachments": [
                {"kind": a.kind, "url": a.url, "title": a.title} for a in digest.attachments
            ],
        }
        return [Message(doc.title, 1, 1, payload)]

    def prepare(self, payload, now):
        body = to_json(payload)
        headers = {"Content-Type": JSON_CONTENT_TYPE}
        if self.secret:
            timestamp = int(now)
            headers["X-Returnwatch-Timestamp"] = str(timestamp)
            headers["X-Returnwatch-Signature"] = generic_sign(self.secret, timestamp, body)
        return HttpRequest(self.url, body, headers)


def _serial_json(digest: Digest) -> dict[str, Any] | None:
    """The night's new serial returners for a receiver: every one (the text lists five),
    each by its pseudonym's first PSEUDONYM_CHARS characters, as the text and the report
    show it (`customer_id LIKE '<prefix>%'` finds it in v_serial_returners). None when the
    digest has none for this channel."""
    if digest.serial is None:
        return None
    return {
        "new": [
            {
                "customer_id_prefix": b.customer_id[:PSEUDONYM_CHARS],
                "returns": b.returns,
                "last_30_days_returns": b.last_30_days_returns,
                "order_lines": b.order_lines,
                "return_rate": b.return_rate,
                "top_reasons": b.top_reasons,
            }
            for b in digest.serial.new
        ],
        "starting_point": digest.serial.starting_point,
    }


CHANNEL_TYPES: dict[str, type[Channel]] = {
    "feishu": FeishuChannel,
    "lark": FeishuChannel,
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "slack": SlackChannel,
    "generic": GenericChannel,
}


def make_channel(settings: ChannelSettings) -> Channel:
    return CHANNEL_TYPES[settings.type](settings)


def channel_settings(settings: Settings, name: str) -> ChannelSettings:
    for channel in settings.alerts.channels:
        if channel.name == name:
            return channel
    configured = ", ".join(c.name for c in settings.alerts.channels) or "none"
    raise UnknownChannelError(
        f"no channel named {name!r} in [[alerts.channels]] (configured: {configured})"
    )


def channels_for(settings: Settings, shop_id: str) -> list[ChannelSettings]:
    """The channels a shop's alerts go to: the channel's `shops` filter, and the shop's own
    `[[shops]] channels` list when it has one."""
    named: list[str] | None = None
    for shop in settings.shops:
        if shop.shop_id == shop_id:
            named = shop.channels
    return [
        c
        for c in settings.alerts.channels
        if (c.shops is None or shop_id in c.shops) and (named is None or c.name in named)
    ]
