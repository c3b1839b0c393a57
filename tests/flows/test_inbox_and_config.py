"""The inbox rules, per-shop settings, catch-up nights and the deployment file — no flows
run here."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
from pathlib import Path

import pytest

from returnwatch.flows import steps
from returnwatch.flows.shops import default_night, shop_settings
from returnwatch.settings import ShopSettings
from returnwatch.sources import inbox

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_786_680_000.0
# prefect.yaml's deployments and the flows they run, as `prefect deploy` records them:
# paths relative to the repository's root, where the worker runs them.
ENTRYPOINTS = {
    "returnwatch-nightly": "flows/nightly.py:nightly",
    "returnwatch-backfill": "flows/backfill.py:backfill",
}


def _file(path: Path, age: float, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_scan_takes_only_settled_complete_files(tmp_path):
    box = tmp_path / "inbox"
    ready = _file(box / "订单导出_2026-08.csv", 60)
    nested = _file(box / "august" / "售后导出_2026-08.csv", 30)
    fresh = _file(box / "售后导出_2026-09.csv", 2)
    for name in ("big.csv.part", "x.tmp", "~$订单.xlsx", ".hidden.csv", "dl.crdownload"):
        _file(box / name, 60)
    _file(box / "processed" / "2026-08-14" / "old.csv", 600)
    _file(box / "rejected" / "bad.csv", 600)

    scan = inbox.scan(box, settle_seconds=5, now=NOW)

    assert [f.path for f in scan.ready] == [ready, nested]  # oldest first
    assert scan.settling == [fresh]
    assert len(scan.ignored) == 5
    assert inbox.scan(tmp_path / "missing", settle_seconds=5).ready == []


def test_moves_never_overwrite_and_explain_rejections(tmp_path):
    box = tmp_path / "inbox"
    day = dt.date(2026, 8, 15)
    first = inbox.move_processed(box, _file(box / "a.csv", 60), day)
    second = inbox.move_processed(box, _file(box / "a.csv", 60, "other"), day)
    assert first == box / "processed" / "2026-08-15" / "a.csv"
    assert second.name == "a (2).csv" and first.read_text() == "x"

    moved = inbox.move_rejected(box, _file(box / "b.csv", 60), "lacks required column(s) 售后单号")
    assert moved == box / "rejected" / "b.csv"
    why = (box / "rejected" / "b.csv.why.txt").read_text()
    assert "lacks required column(s) 售后单号" in why and "drop it into the inbox again" in why


def test_an_inbox_file_knows_when_it_changed(tmp_path):
    path = _file(tmp_path / "a.csv", 60)
    [seen] = inbox.scan(tmp_path, settle_seconds=5, now=NOW).ready
    assert seen.unchanged()
    path.write_text("xy")
    assert not seen.unchanged()


def test_shop_settings(settings):
    multi = settings.model_copy(
        update={
            "shops": [
                ShopSettings(shop_id="a"),
                ShopSettings(
                    shop_id="b/c",
                    inbox=Path("/srv/b"),
                    timezone="Asia/Tokyo",
                    db=Path("/srv/b.duckdb"),
                ),
            ]
        }
    )
    a = shop_settings(multi, "a")
    assert (a.shop_id, a.inbox, a.db) == ("a", settings.inbox / "a", settings.db)
    b = shop_settings(multi, "b/c")
    assert (b.inbox, b.timezone, b.db) == (Path("/srv/b"), "Asia/Tokyo", Path("/srv/b.duckdb"))
    single = shop_settings(settings, "test-shop")
    assert single.inbox == settings.inbox  # one shop: the inbox itself


def test_default_night_is_yesterday_at_the_shop(settings):
    # 2026-08-15 01:30 in Shanghai is still 2026-08-14 in UTC.
    now = dt.datetime(2026, 8, 14, 17, 30, tzinfo=dt.UTC)
    assert default_night(settings, now) == dt.date(2026, 8, 14)
    utc = settings.model_copy(update={"timezone": "UTC"})
    assert default_night(utc, now) == dt.date(2026, 8, 13)


def test_nights_to_detect(warehouse, settings):
    target = dt.date(2026, 8, 20)
    assert steps.nights_to_detect(warehouse, settings, "s", target) == ([target], [])

    def done(day: dt.date) -> None:
        steps.record_night(
            warehouse,
            run_id="r",
            shop_id="s",
            night=day,
            target=day,
            status="success",
            started_at=dt.datetime(2026, 8, 1),
            summary={},
        )

    done(dt.date(2026, 8, 16))
    nights, old = steps.nights_to_detect(warehouse, settings, "s", target)
    assert nights == [dt.date(2026, 8, d) for d in (17, 18, 19, 20)] and old == []
    assert steps.nights_to_detect(warehouse, settings, "other", target)[0] == [target]
    # A re-run of a night already done reports just that night.
    assert steps.nights_to_detect(warehouse, settings, "s", dt.date(2026, 8, 10))[0] == [
        dt.date(2026, 8, 10)
    ]
    done(dt.date(2026, 7, 1))  # an older success changes nothing
    far = dt.date(2026, 9, 30)
    nights, old = steps.nights_to_detect(warehouse, settings, "s", far)
    assert nights[0] == far - dt.timedelta(days=settings.alerts.catch_up_days)
    assert nights[-1] == far and old[0] == dt.date(2026, 8, 17)


@pytest.mark.slow  # Prefect's deploy code
def test_prefect_yaml_loads_with_prefects_own_loader():
    import yaml
    from prefect.cli.deploy._config import _load_deploy_configs_and_actions
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.utilities.importtools import load_script_as_module
    from rich.console import Console

    path = ROOT / "prefect.yaml"
    PrefectYamlModel.model_validate(yaml.safe_load(path.read_text()))  # raises if invalid
    configs, actions = _load_deploy_configs_and_actions(path, console=Console(quiet=True))
    by_name = {c["name"]: c for c in configs}
    assert {name: c["entrypoint"] for name, c in by_name.items()} == ENTRYPOINTS
    assert actions["pull"] is None  # `prefect deploy` records this checkout as the directory

    nightly_cfg = by_name["returnwatch-nightly"]
    [schedule] = nightly_cfg["schedules"]
    built = _schedule_config_to_deployment_schedule(schedule)["schedule"]
    assert (built.cron, built.timezone) == ("0 2 * * *", "Asia/Shanghai")
    from returnwatch.settings import Settings

    assert built.timezone == Settings.model_fields["timezone"].default

    for cfg in configs:
        assert cfg["work_pool"]["name"] == "returnwatch"
        file, name = cfg["entrypoint"].split(":")
        flow = getattr(load_script_as_module(str(ROOT / file)), name)
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(cfg.get("parameters", {})) <= accepted, cfg["name"]
    assert set(nightly_cfg["parameters"]) == {"fan_out"}


@pytest.mark.slow  # Prefect, in a subprocess
def test_entrypoints_load_from_the_repository_root_with_prefects_loader():
    """What a worker does before a deployment's run: in a fresh process started in the
    directory `prefect deploy` recorded (this checkout's root), Prefect's own loader
    (prefect.flow_engine.load_flow: load_flow_from_entrypoint, no placeholder flow) turns
    each entrypoint into the flow returnwatch defines."""
    import subprocess
    import sys

    from returnwatch.flows.backfill import backfill
    from returnwatch.flows.nightly import nightly

    code = (
        "import inspect, json, sys\n"
        "from prefect.flows import Flow, load_flow_from_entrypoint\n"
        "out = {}\n"
        "for entrypoint in sys.argv[1:]:\n"
        "    flow = load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)\n"
        "    assert isinstance(flow, Flow), type(flow)\n"
        "    out[entrypoint] = [flow.name, list(inspect.signature(flow.fn).parameters)]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *ENTRYPOINTS.values()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {
        ENTRYPOINTS[name]: [flow.name, list(inspect.signature(flow.fn).parameters)]
        for name, flow in (("returnwatch-nightly", nightly), ("returnwatch-backfill", backfill))
    }
    assert loaded == expected


@pytest.mark.slow  # a subprocess
def test_helpers_do_not_import_prefect():
    """`returnwatch import` and the CLI may use these without paying for Prefect."""
    import subprocess
    import sys

    modules = [
        "returnwatch.flows.shops",
        "returnwatch.flows.steps",
        "returnwatch.flows.lock",
        "returnwatch.sources.inbox",
        "returnwatch.warehouse.publish",
    ]
    code = f"import sys; import {', '.join(modules)}; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow  # Prefect
def test_serve_schedules_at_two_in_the_shops_timezone(settings, monkeypatch):
    from types import SimpleNamespace

    import prefect.settings

    from returnwatch.flows import serve

    tokyo = settings.model_copy(update={"timezone": "Asia/Tokyo"})
    nightly_dep, backfill_dep = serve.deployments(tokyo)
    [schedule] = nightly_dep.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "Asia/Tokyo")
    assert backfill_dep.schedules == []

    # Prefect's temporary server runs no scheduler: serving without a server would idle.
    no_api = SimpleNamespace(api=SimpleNamespace(url=None))
    monkeypatch.setattr(prefect.settings, "get_current_settings", lambda: no_api)
    with pytest.raises(serve.NoPrefectServer, match="prefect server start"):
        serve.serve(settings)


def test_the_api_is_pulled_only_for_the_shop_its_credentials_belong_to(settings, monkeypatch):
    import returnwatch.sources.doudian_api as api

    pulled: list[str | None] = []
    monkeypatch.setattr(api, "api_configured", lambda s: True)
    monkeypatch.setattr(api, "pull_updates", lambda con, s, *, shop_id: pulled.append(shop_id))

    assert steps.pull_api(None, settings, "test-shop") == "None"
    two = settings.model_copy(
        update={"shops": [ShopSettings(shop_id="a"), ShopSettings(shop_id="b")]}
    )
    assert "set [source.api] shop_id" in steps.pull_api(None, two, "a")
    owned = two.model_copy(
        update={
            "source": two.source.model_copy(
                update={"api": two.source.api.model_copy(update={"shop_id": "b"})}
            )
        }
    )
    assert steps.pull_api(None, owned, "a") is None
    steps.pull_api(None, owned, "b")
    assert pulled == ["test-shop", "b"]
