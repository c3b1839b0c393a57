"""Incidents, mutes and slices as pure logic: the SQL text that groups a slice's
anomalous nights into incidents, and the SLICE syntax ops type (`sku:3580*`, `shop`).

No connection is opened here (warehouse/incidents.py runs the SQL); dimensions are never
enumerated, so the dimensions detection gains (`product`, `carrier`, …) work unchanged.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources

SHOP_DIMENSION = "shop"
SHOP_KEY = "*"


def incident_nights_sql() -> str:
    """transforms/sql/incident_nights.sql: one row per anomalous slice-night with its
    incident id and status (parameters $shop_id, $gap_nights, $worse_ratio)."""
    path = resources.files("returnwatch.transforms") / "sql" / "incident_nights.sql"
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Slice:
    """A (dimension, key) as ops write it: `shop`, `region:广东省`, `sku:3712345678901`."""

    dimension: str
    key: str

    def __str__(self) -> str:
        return (
            SHOP_DIMENSION if self.dimension == SHOP_DIMENSION else f"{self.dimension}:{self.key}"
        )


def parse_slice(text: str) -> Slice:
    """`shop` → (shop, *); `<dimension>:<key>` → (dimension, key). The key keeps any
    colons after the first one (carrier_region keys may hold them)."""
    text = text.strip()
    if text in (SHOP_DIMENSION, f"{SHOP_DIMENSION}:{SHOP_KEY}"):
        return Slice(SHOP_DIMENSION, SHOP_KEY)
    dimension, sep, key = text.partition(":")
    if not sep or not dimension.strip() or not key.strip():
        raise ValueError(
            f"slice {text!r}: write 'shop' or '<dimension>:<key>', e.g. 'sku:3712345678901' "
            "or 'region:广东省'"
        )
    return Slice(dimension.strip(), key.strip())


def slice_matches(pattern: str, dimension: str, key: str) -> bool:
    """Whether an owner's SLICE pattern covers (dimension, key): an exact slice, a prefix
    ending in `*`, or any shell glob on the key (`sku:3580*`, `region:广*`)."""
    wanted = parse_slice(pattern)
    if wanted.dimension != dimension:
        return False
    return wanted.key == key or fnmatch.fnmatchcase(key, wanted.key)
