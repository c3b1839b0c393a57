"""Fixtures for the rates and detection tests: an in-memory warehouse and frame loaders."""

from __future__ import annotations

import pytest

from returnwatch.demo.exports import insert_frames
from returnwatch.settings import Settings
from tests.helpers import connect_memory

load_frames = insert_frames  # the tests' name for it


@pytest.fixture
def con():
    connection = connect_memory()
    yield connection
    connection.close()


@pytest.fixture
def hand_settings() -> Settings:
    """Literal mode on the hand-made shop: a 3-day window, 2 days of history needed."""
    return Settings(detection={"mode": "literal", "window_days": 3, "min_history_days": 2})


@pytest.fixture
def hand_shop(con):
    """The hand-made shop of hand_shop.py, loaded."""
    from .hand_shop import orders_frame, refunds_frame

    load_frames(con, orders_frame(), refunds_frame())
    return con
