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
    """One `[[alerts.channels]]` entry: where a digest goes and which slices it wants."""

    name: str
    type: Literal["feishu", "lark", "dingtalk", "wecom", "slack", "generic"]
    url: SecretStr
    secret: SecretStr | None = None
    min_severity: Literal["info", "warning", "critical"] = "info"
    dimensions: list[str] | None = None
    shops: list[str] | None = None


class AlertSettings(BaseModel):
    """`[alerts]`: language, quiet-night behaviour and the channels."""

    language: Literal["zh", "en"] = "zh"
    send_all_clear: bool = False
    timeout_seconds: float = 10.0
    max_attempts_per_run: int = 5
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
