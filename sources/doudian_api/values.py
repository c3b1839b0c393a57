"""Reading the loosely typed values of the 抖店 API's JSON.

The platform sends numbers as numbers or as strings, leaves fields empty ("") or out, and
the envelope's codes and the records' fields are read the same way: here, once.
"""

from __future__ import annotations

from typing import Any


def as_int(value: Any) -> int | None:
    """An integer, or None for a missing, empty, boolean or non-numeric value."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_text(value: Any) -> str | None:
    """The value as stripped text, or None when it is missing or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
