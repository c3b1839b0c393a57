"""`returnwatch demo` as a new user first meets it, offline: no ERROR line that is not an
error, and output that reads the same at any terminal width (lines are never broken by
the program; the terminal folds them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_demo(out: Path, columns: int) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_SERVER_ANALYTICS", "PREFECT_API_URL"))
    }
    env["COLUMNS"] = str(columns)
    exe = Path(sys.executable).with_name("returnwatch")
    return subprocess.run(
        [str(exe), "demo", "--days", "45", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def without_timings(text: str) -> str:
    return re.sub(r"\d+\.\ds", "Ns", text)


def test_demo_output_is_clean_at_any_width(tmp_path):
    narrow = run_demo(tmp_path / "narrow", 60)
    wide = run_demo(tmp_path / "wide", 200)

    for result in (narrow, wide):
        assert result.returncode == 0, result.stderr
        # Prefect's own server must not report usage (offline: "Failed to send telemetry")
        assert "ERROR" not in result.stdout + result.stderr
        assert "telemetry" not in result.stdout + result.stderr
    lines = narrow.stdout.splitlines()
    # every file's summary is one line, whatever the width: "loaded\n2,936" never happens
    file_lines = [line for line in lines if re.match(r"^   \S+\.csv: ", line)]
    assert len(file_lines) == 4  # 2 months x (订单, 售后)
    for line in file_lines:
        assert re.search(
            r"rows read [\d,]+ = loaded [\d,]+ \+ quarantined \d+ .* in \d+\.\ds", line
        )
        assert len(line) > 60
    # each night's summary paragraph is one line too (the demo runs its last two nights)
    nights = [line for line in lines if ", night " in line]
    assert nights
    for night in nights:
        assert night.rstrip().endswith("s.") and "Took" in night
    assert not any(line.rstrip().endswith((" loaded", " =", "+")) for line in lines)
    # the nightly run built the GX Data Docs, and the demo says where they are
    assert (tmp_path / "narrow" / "data_docs" / "index.html").exists()
    assert (
        f"Data Docs): open {tmp_path / 'narrow' / 'data_docs' / 'index.html'} in a" in narrow.stdout
    )
    # and a wide terminal shows exactly the same lines
    folder = lambda text, name: text.replace(str(tmp_path / name), "OUT")  # noqa: E731
    assert without_timings(folder(narrow.stdout, "narrow")) == without_timings(
        folder(wide.stdout, "wide")
    )


def test_the_demo_shop_has_a_buyer_turning_serial_on_its_last_night():
    """`make demo`'s shop (seed 7, 120 days): the night before the last records the shop's
    serial returners as the starting point; the last night must have one new to announce."""
    import datetime as dt

    from returnwatch.demo import _turns_serial_on, demo_shop

    built = demo_shop(7, 120)
    [serial] = [i for i in built.incidents if i.kind == "serial_returner"]
    last_night = built.shop.start + dt.timedelta(days=119)
    assert _turns_serial_on(built.shop, serial.key, last_night)
    assert not _turns_serial_on(built.shop, serial.key, last_night - dt.timedelta(days=1))
