"""The report in a real browser: headless Chromium opens it offline, without errors, shows
every chart, and prints it to A4.

Needs Chromium (`apt-get install -y chromium` on Debian/Ubuntu; docs/report.md). Without
it these tests are skipped on a developer's machine; `.ci/run` installs it and sets
REQUIRE_CHROMIUM=1, so in CI a missing browser fails the run instead of skipping the checks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from returnwatch.report import charts


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = _chromium()
if CHROMIUM is None and os.environ.get("REQUIRE_CHROMIUM") == "1":
    raise RuntimeError(
        "REQUIRE_CHROMIUM=1 but no chromium on PATH: install it (apt-get install -y chromium)"
    )
pytestmark = [
    pytest.mark.slow,  # a browser
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install -y chromium): browser checks skipped",
    ),
]
# Offline and quiet: no first-run work, no update or sync traffic, a throwaway profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
PAGE_ERRORS = re.compile(r"Uncaught|Failed to load resource|net::ERR_|Not allowed to load")


def run_chromium(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def near(pixels: np.ndarray, color: str, tolerance: int = 12) -> int:
    """How many pixels are within `tolerance` of a chart colour."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels[..., :3].astype(int) - rgb).max(axis=-1) <= tolerance).sum())


def test_chromium_shows_every_chart_without_errors(august, tmp_path):
    shot = tmp_path / "report.png"
    log = run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1240,9000",
        august.html_path.resolve().as_uri(),
    )
    assert not PAGE_ERRORS.search(log), PAGE_ERRORS.search(log).group(0)
    with Image.open(shot) as image:
        assert image.size == (1240, 9000)
        pixels = np.asarray(image.convert("RGB"))
    # every chart's own colour is on the page: trend, SKU and reason bars (blue), the
    # carriers' damage bars (red), the heatmap's grey low-volume cells, the ±2σ band
    assert near(pixels, charts.RATE) > 20_000
    assert near(pixels, charts.THRESHOLD) > 2_000
    assert near(pixels, charts.LOW_VOLUME, 3) > 2_000
    assert near(pixels, charts.BAND, 3) > 20_000
    # the page reaches its footer within the screenshot (nothing cut off below it)
    bottom = pixels[-600:]
    assert (bottom > 250).all(), "the report is longer than the screenshot"


def test_chromium_prints_it_to_a4(august, tmp_path):
    pdf = tmp_path / "report.pdf"
    run_chromium(
        tmp_path,
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        august.html_path.resolve().as_uri(),
    )
    body = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", body)
    assert boxes, "no pages"
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {(595, 842)}  # A4 in pt
    assert 3 <= len(boxes) <= 12
