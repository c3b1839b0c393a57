"""The 抖店 app's credentials: key, secret and the configured tokens, read from settings.

A value written "prefect-secret:<block>" is read from that Prefect Secret block. Its own
module because both the client (which signs with them) and the token keeper (which
renews them, tokens.py) need them, and neither may import the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from returnwatch.settings import ApiSourceSettings
from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.exceptions import ApiNotConfigured

SecretLoader = Callable[[str], str]


@dataclass(frozen=True)
class Credentials:
    """The app's key and secret and the configured tokens (any may be empty but the key
    and the secret: a refresh token or a self-use shop id is enough to get a token)."""

    app_key: str
    app_secret: str
    access_token: str = ""
    refresh_token: str = ""
    self_use_shop_id: str = ""

    def __repr__(self) -> str:  # never print the secrets, even in a debugger's repr
        return (
            f"Credentials(app_key={self.app_key!r}, app_secret='***', access_token='***', "
            f"refresh_token='***', self_use_shop_id={self.self_use_shop_id!r})"
        )


def load_prefect_secret(block_name: str) -> str:
    """The value of a Prefect Secret block (Prefect is imported only when one is named)."""
    from prefect.blocks.system import Secret

    value = Secret.load(block_name).get()
    return value if isinstance(value, str) else json.dumps(value)


def resolve_credentials(
    api: ApiSourceSettings, secret_loader: SecretLoader | None = None
) -> Credentials:
    """The app key, secret and tokens from the settings; a value written
    "prefect-secret:<block>" is read from that Prefect Secret block. A token is needed in
    one of three forms: access_token, refresh_token (the pull renews it) or, for a
    self-use app, self_use_shop_id."""
    loader = secret_loader or load_prefect_secret

    def given(value: Any) -> bool:
        return bool(value) and bool(
            value.get_secret_value() if hasattr(value, "get_secret_value") else value
        )

    missing = [name for name in ("app_key", "app_secret") if not given(getattr(api, name))]
    if not any(given(v) for v in (api.access_token, api.refresh_token, api.self_use_shop_id)):
        missing.append("access_token")
    if missing:
        hint = (
            " (or refresh_token, or self_use_shop_id for a self-use app)"
            if "access_token" in missing
            else ""
        )
        raise ApiNotConfigured(
            "the 抖店 API source needs [source.api] "
            + ", ".join(missing)
            + hint
            + f" (env {', '.join(f'RETURNWATCH_SOURCE__API__{m.upper()}' for m in missing)}); "
            "see docs/api-source.md"
        )

    def value(raw: Any, name: str) -> str:
        if raw is None:
            return ""
        raw = raw.get_secret_value() if hasattr(raw, "get_secret_value") else str(raw)
        if raw.startswith(c.PREFECT_SECRET_PREFIX):
            block = raw[len(c.PREFECT_SECRET_PREFIX) :].strip()
            try:
                raw = loader(block)
            except Exception as exc:
                raise ApiNotConfigured(
                    f"[source.api] {name}: cannot read Prefect Secret block {block!r} "
                    f"({type(exc).__name__})"
                ) from None
        return raw.strip()

    return Credentials(
        app_key=value(api.app_key, "app_key"),
        app_secret=value(api.app_secret, "app_secret"),
        access_token=value(api.access_token, "access_token"),
        refresh_token=value(api.refresh_token, "refresh_token"),
        self_use_shop_id=(api.self_use_shop_id or "").strip(),
    )
