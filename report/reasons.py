"""The reason mapping: 售后原因 labels → a small standard set of reason classes.

Platforms (and export versions) word their 售后原因 differently, and "其他" says nothing; the
report groups reasons into a standard set merchants recognise, so months and shops compare.
The rules live in the `[report]` settings (`reason_map`, `vague_reasons`, `reason_keywords`)
and are applied in SQL (`sql/report_reasons.sql`); this module only turns the settings into
that query's parameters. docs/report.md explains the order of the rules.
"""

from __future__ import annotations

from typing import Any

from returnwatch.settings import ReportSettings

# The standard classes, in the order the report shows them.
STANDARD_CLASSES: tuple[str, ...] = (
    "质量问题",
    "尺码不符",
    "描述不符",
    "物流问题",
    "冲动消费/七天无理由",
    "其他",
)
OTHER_CLASS = "其他"


def class_order(classes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The standard classes first, in their order, then any others a config introduced."""
    extra = sorted(c for c in set(classes) if c not in STANDARD_CLASSES)
    return [*STANDARD_CLASSES, *extra]


def reason_params(report: ReportSettings) -> dict[str, Any]:
    """`report_reasons.sql`'s classification parameters from the settings.

    Keyword rules are numbered in the order the config lists them (classes in order, each
    class's keywords in order), so the first class whose keyword appears wins.
    """
    label_map = [
        {"label": label, "reason_class": reason_class}
        for label, reason_class in report.reason_map.items()
    ]
    keyword_rules = [
        {"reason_class": reason_class, "keyword": keyword, "priority": priority}
        for priority, (reason_class, keyword) in enumerate(
            (reason_class, keyword)
            for reason_class, keywords in report.reason_keywords.items()
            for keyword in keywords
            if keyword
        )
    ]
    return {
        "label_map": label_map,
        "vague_labels": list(report.vague_reasons),
        "keyword_rules": keyword_rules,
        "other_class": OTHER_CLASS,
    }


def category_rules(report: ReportSettings) -> list[dict[str, Any]]:
    """`report_categories.sql`'s product-name keyword rules, numbered in config order."""
    return [
        {"category": category, "keyword": keyword, "priority": priority}
        for priority, (category, keyword) in enumerate(
            (category, keyword)
            for category, keywords in report.category_keywords.items()
            for keyword in keywords
            if keyword
        )
    ]
