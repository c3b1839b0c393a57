"""Every word a chat message shows, in Chinese (the default) and English.

Short lines for a phone screen. Placeholders are `str.format` fields; numbers arrive
already formatted (see `digest.pct` and friends), so wording and formatting stay apart.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "title.digest": "退货率异常 · {shop} · {day}",
        "title.update": "退货率异常（更新） · {shop} · {day}",
        "title.all_clear": "退货率正常 · {shop} · {day}",
        "title.failure": "夜间任务失败 · {shop} · {day}",
        "title.test": "【测试】{title}",
        "headline": "全店退货率 {rate}，基线 {baseline}（{change}）",
        "headline.volume": "订单 {orders} · 退货 {returns}",
        "spikes.count": "{n} 个异常，按多出的退货数排序：",
        "all_clear.body": "未发现异常。",
        "spike.head": "{i}. {icon} {severity} · {label}",
        "spike.rate": "退货率 {rate}，基线 {baseline}（{change}）",
        "spike.volume": "订单 {orders} · 退货 {returns} · 多出 {extra}（预期 {expected}）",
        "spike.reasons": "原因：{items}",
        "spike.carriers": "快递：{items}",
        "spike.related": "同时带动：{items}",
        "spike.related_more": " 等，另有 {n} 个",
        "spike.explained_by": "主要来自：{label}",
        "more": "还有 {n} 个异常未列出",
        "footer": "returnwatch · 对比近 {window} 天基线",
        "failure.what": "失败环节：{what}",
        "failure.todo": "处理建议：{todo}",
        "failure.note": "今晚的退货率未完成检测，没有告警不代表一切正常。",
        "test.note": "这是一条测试消息，数据为示例。",
        "severity.critical": "严重",
        "severity.warning": "警告",
        "severity.info": "提示",
        "label.shop": "全店",
        "label.region": "{key}",
        "label.sku": "SKU {key}",
        "label.sku_named": "SKU {key} · {name}",
        "change.new": "基线为 0",
        "list_sep": "、",
        "unknown": "未填",
    },
    "en": {
        "title.digest": "Return-rate alert · {shop} · {day}",
        "title.update": "Return-rate alert (update) · {shop} · {day}",
        "title.all_clear": "Return rates normal · {shop} · {day}",
        "title.failure": "Nightly run failed · {shop} · {day}",
        "title.test": "[TEST] {title}",
        "headline": "Shop return rate {rate}, baseline {baseline} ({change})",
        "headline.volume": "{orders} order lines · {returns} returns",
        "spikes.count": "{n} spikes, by extra returns:",
        "all_clear.body": "No spikes found.",
        "spike.head": "{i}. {icon} {severity} · {label}",
        "spike.rate": "Rate {rate}, baseline {baseline} ({change})",
        "spike.volume": "{orders} lines · {returns} returns · {extra} extra ({expected} expected)",
        "spike.reasons": "Reasons: {items}",
        "spike.carriers": "Carriers: {items}",
        "spike.related": "Also lifts: {items}",
        "spike.related_more": " and {n} more",
        "spike.explained_by": "Mostly from: {label}",
        "more": "and {n} more",
        "footer": "returnwatch · vs the {window}-day baseline",
        "failure.what": "What failed: {what}",
        "failure.todo": "What to do: {todo}",
        "failure.note": "Tonight's return rates were not checked: no alert is not all clear.",
        "test.note": "This is a test message with sample data.",
        "severity.critical": "critical",
        "severity.warning": "warning",
        "severity.info": "info",
        "label.shop": "Whole shop",
        "label.region": "Region {key}",
        "label.sku": "SKU {key}",
        "label.sku_named": "SKU {key} · {name}",
        "change.new": "baseline 0",
        "list_sep": ", ",
        "unknown": "not given",
    },
}

SEVERITY_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


def t(language: str, name: str, /, **fields: object) -> str:
    """The message `name` in `language`, with its fields filled in."""
    return MESSAGES[language][name].format(**fields)
