"""Naming a slice for a person, the same way in the chat digest, the report and the CLI.

A slice is what a return rate is computed over: the whole shop, a province (region), a
SKU, a product, a category, a carrier, or a carrier in a province (`carrier_region`, key
`<carrier>|<province>`); a buyer (`customer`, key the pseudonym) is named by its first
characters only. Detection names a slice `dimension:key` (`sku:3712345678901`, `shop:*`) when one
anomaly explains another; `parse_slice_id` reads that back.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "shop": "全店",
        "region": "{key}",
        "sku": "SKU {key}",
        "product": "商品 {key}",
        "category": "类目 {key}",
        "carrier": "快递 {key}",
        "carrier_region": "{carrier} · {province}",
        "customer": "买家 {key}",
    },
    "en": {
        "shop": "Whole shop",
        "region": "Region {key}",
        "sku": "SKU {key}",
        "product": "Product {key}",
        "category": "Category {key}",
        "carrier": "Carrier {key}",
        "carrier_region": "{carrier} · {province}",
        "customer": "Buyer {key}",
    },
}
NAME_SEPARATOR = " · "
NAME_CHARS = 24  # product names are long; a phone line is not
# A buyer is shown by the first characters of their pseudonym (a keyed hash, never any PII)
# and "…": enough to find them in v_serial_returners, short enough for a phone. The
# report's serial-returner table and the digest cut it the same way.
PSEUDONYM_CHARS = 8


def slice_id(dimension: str, key: object) -> str:
    """("sku", "3712345678901") -> `sku:3712345678901`, how detection and the outbox store a
    slice (transforms/detection.py still spells out the same f-string)."""
    return f"{dimension}:{key}"


def parse_slice_id(slice_id: str) -> tuple[str, str]:
    """`sku:3712345678901` -> ("sku", "3712345678901")."""
    dimension, _, key = str(slice_id).partition(":")
    return dimension, key


def slice_label(
    dimension: str,
    key: object,
    product_name: object = None,
    *,
    language: str = "zh",
    name_chars: int = NAME_CHARS,
    key_chars: int | None = None,
) -> str:
    """'SKU 3712345678901 · 加绒连帽卫衣', '广东省' (en: 'Region 广东省'), '全店', '买家 a1b2c3d4…'.

    `key_chars` keeps only the last digits of a long SKU id (`SKU …678901`) where space
    is short (a chart's axis, a table cell); `name_chars` cuts the product name with "…".
    A missing product name (None, NaN, blank) leaves the SKU id alone.
    """
    words = WORDS.get(language, WORDS["zh"])
    key = str(key)
    if dimension == "shop":
        return words["shop"]
    if dimension not in words:
        return f"{dimension} {key}"
    if dimension == "customer":
        return words[dimension].format(key=short_pseudonym(key))
    if dimension == "sku" and key_chars is not None and len(key) > key_chars:
        key = "…" + key[-key_chars:]
    if dimension == "carrier_region":  # key `<carrier>|<province>`
        carrier, _, province = key.partition("|")
        return words[dimension].format(carrier=carrier, province=province)
    label = words[dimension].format(key=key)
    name = product_name.strip() if isinstance(product_name, str) else ""
    if dimension == "sku" and name:
        if len(name) > name_chars:
            name = name[: name_chars - 1] + "…"
        label += NAME_SEPARATOR + name
    return label


def short_pseudonym(customer_id: str) -> str:
    """'a1b2c3d4e5f60718' -> 'a1b2c3d4…' (PSEUDONYM_CHARS characters, then …)."""
    text = str(customer_id)
    return text if len(text) <= PSEUDONYM_CHARS else text[:PSEUDONYM_CHARS] + "…"
