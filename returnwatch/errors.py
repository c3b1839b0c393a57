"""An exception told in one short line, for run summaries, refusals and stored errors.

A DuckDB or requests error can run to a dozen lines (a whole CSV line, a traceback-like
context); an alert read on a phone, a `RefusedFile` reason or an `api_pulls.error` cell
wants its gist.
"""

from __future__ import annotations

ERROR_CHARS = 300


def short_error(
    exc: BaseException,
    *,
    lines: int = 1,
    limit: int | None = ERROR_CHARS,
    with_type: bool = False,
) -> str:
    """The first `lines` non-blank lines of the message, joined with " | ", cut to `limit`
    characters with "…" (None: uncut); with `with_type`, after the exception's type name.
    An exception without a message is told by its type name."""
    kept = [line.strip() for line in str(exc).splitlines() if line.strip()][:lines]
    text = " | ".join(kept)
    name = type(exc).__name__
    if not text:
        text = name
    elif with_type:
        text = f"{name}: {text}"
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
