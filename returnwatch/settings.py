"""One place for every setting, so the CLI, the flows and the tests read the same values.

Precedence, highest first: keyword arguments (tests), environment variables
(`RETURNWATCH_…`, nested with `__`, e.g. `RETURNWATCH_DETECTION__LIFT_THRESHOLD=0.3`), the
TOML file named by `RETURNWATCH_CONFIG` (default `./returnwatch.toml` when it exists), then
the defaults below. Every setting has a default so the tool runs with no config file at all.

Secrets are `SecretStr`: pydantic prints them as `**********`, so a settings object can be
logged without leaking a webhook URL or a key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "RETURNWATCH_CONFIG"
DEFAULT_CONFIG_FILE = Path("returnwatch.toml")
PII_SECRET_FILE = ".returnwatch_pii_secret"


class DetectionSettings(BaseModel):
    """`[detection]`: the spike rule and what makes an alert worth a phone buzz."""

    mode: Literal["default", "literal"] = "default"
    window_days: int = 28
    min_history_days: int = 14
    lift_threshold: float = 0.20
    # The statistical layer of the default mode (ignored in literal mode).
    min_order_lines: int = 30
    min_extra_returns: float = 3.0
    fdr_alpha: float = 0.01
    dimensions: list[str] = Field(default_factory=lambda: ["shop", "region", "sku"])


class ChannelSettings(BaseModel):
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


class AlertSettings(BaseModel):
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
    channels: list[ChannelSettings] = Field(default_factory=list)


class ApiSourceSettings(BaseModel):
    """`[source.api]`: the 抖店 Open Platform; off unless `app_key` is set."""

    base_url: str = "https://openapi-fxg.jinritemai.com"
    app_key: str | None = None
    app_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    shop_id: str | None = None
    overlap_hours: int = 72
    page_size: int = 100
    keep_raw: bool = False


class SourceSettings(BaseModel):
    api: ApiSourceSettings = Field(default_factory=ApiSourceSettings)


class ShopSettings(BaseModel):
    """One `[[shops]]` entry, for an agency running several shops from one config."""

    shop_id: str
    inbox: Path | None = None
    channels: list[str] | None = None


class Settings(BaseSettings):
    """All of returnwatch's settings; see the README's Configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RETURNWATCH_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    db: Path = Path("data/returnwatch.duckdb")
    shop_id: str = "default"
    timezone: str = "Asia/Shanghai"
    inbox: Path = Path("inbox")
    pii_secret: SecretStr | None = None
    memory_limit: str = "1GB"
    threads: int | None = None
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    source: SourceSettings = Field(default_factory=SourceSettings)
    shops: list[ShopSettings] = Field(default_factory=list)

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

    def shop_ids(self) -> list[str]:
        """Every shop this config watches: the `[[shops]]` list, else the one `shop_id`."""
        return [shop.shop_id for shop in self.shops] or [self.shop_id]


def config_path() -> Path | None:
    """The TOML file in force: `RETURNWATCH_CONFIG`, else `./returnwatch.toml` if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.exists():
            raise FileNotFoundError(f"{CONFIG_ENV}={named}: no such config file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def load_settings(**overrides: object) -> Settings:
    """Read the settings afresh (env and file may have changed since the last call)."""
    return Settings(**overrides)
