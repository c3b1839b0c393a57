"""Fixtures for the API source: a small synthetic shop, the fake 抖店 platform serving it,
settings pointing at the fake, and a sleep that records instead of waiting."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from returnwatch.demo.shop import SyntheticShop, generate_shop
from returnwatch.settings import ApiSourceSettings, Settings, SourceSettings

from .fake_doudian import ACCESS_TOKEN, APP_KEY, APP_SECRET, Dataset, FakeDoudian, build_dataset

TZ = ZoneInfo("Asia/Shanghai")


def local(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A shop-local (Asia/Shanghai) aware time."""
    return dt.datetime.combine(day, dt.time(hour, minute), TZ)


def epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


@pytest.fixture(scope="session")
def shop() -> SyntheticShop:
    # Three weeks of a small shop: ~850 order lines, ~100 refunds, a promo day or two.
    return generate_shop(
        seed=11, days=21, lines_per_day=40, n_skus=15, n_random_spikes=0, shop_id="test-shop"
    )


@pytest.fixture(scope="session")
def dataset(shop: SyntheticShop) -> Dataset:
    return build_dataset(shop)


@pytest.fixture
def fake(dataset: Dataset):
    with FakeDoudian(dataset) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Pass `sleeps.append` as `sleep`: backoffs are recorded, never waited."""
    return []


def with_api(settings: Settings, **api: object) -> Settings:
    """`settings` with `[source.api]` replaced by these values."""
    return settings.model_copy(
        update={"source": SourceSettings(api=ApiSourceSettings.model_validate(api))}
    )


@pytest.fixture
def api_settings(settings: Settings, fake: FakeDoudian) -> Settings:
    return with_api(
        settings,
        base_url=fake.base_url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        max_attempts=4,
        backoff_initial_seconds=1.0,
        backoff_max_seconds=8.0,
        timeout_seconds=5.0,
    )


def api_with(settings: Settings, **changes: object) -> Settings:
    """`settings` with some `[source.api]` values changed."""
    current = settings.source.api.model_dump()
    return with_api(settings, **{**current, **changes})
