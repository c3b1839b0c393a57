"""`prefect deploy --all` and a process worker, end to end, as an installer runs them.

From a fresh `git clone` of this repository (so only committed files count), installed
into a throwaway virtualenv, against a real `prefect server start` on 127.0.0.1: create
the `returnwatch` process work pool, deploy both deployments of prefect.yaml, start a
worker, run `returnwatch-nightly` for two shops whose 抖店 exports wait in their inboxes
(the deployment's fan-out: one flow run per shop, run by the worker), then
`returnwatch-backfill` over their last week, and check what each run left in the
published warehouse and in the chat. The test's own flows, harness and imports play no
part: every Prefect and returnwatch step runs in subprocesses, the way the installer's
would. What it tests is the branch's last commit: uncommitted changes play no part either.
docs/orchestration.md, "Tested end to end".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a Prefect server, a worker and their flow runs

ROOT = Path(__file__).resolve().parents[2]
# One bound for every wait (server boot, a flow run reaching a final state); a run takes
# 10-15 s on the shared 2-core machine.
WAIT_SECONDS = 180
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


class Installation:
    """A checkout, its virtualenv, a Prefect server and a worker, all in `root`; every
    process it starts leads its own process group, stopped as a whole by `stop`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.checkout = root / "checkout"
        self.venv = root / "venv"
        self.python = self.venv / "bin" / "python"
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.processes: list[subprocess.Popen[bytes]] = []
        # Only what an installer's shell would hold: no PREFECT_* or RETURNWATCH_* from
        # the test session, a Prefect home of its own, no usage reports, no prompts.
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RETURNWATCH_"))
        }
        self.env.update(
            PREFECT_HOME=str(root / "prefect-home"),
            PREFECT_API_URL=self.api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_CLI_PROMPT="false",
            # The dashboard's static files are copied into a fresh PREFECT_HOME at start;
            # nobody looks at it here.
            PREFECT_UI_ENABLED="false",
            # A worker polls every 15 s by default; the test would mostly wait.
            PREFECT_WORKER_QUERY_SECONDS="1",
            # The test starts its runs itself. Without the scheduler, a run of the nightly
            # cron (02:00 in Shanghai) cannot join in when the test runs near 18:00 UTC.
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """`python -m prefect <args>` in the checkout, in the background; output in <name>.log."""
        with self.log(name).open("wb") as log:
            process = subprocess.Popen(
                [str(self.python), "-m", "prefect", *args],
                cwd=self.checkout,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: flow runs die with it
            )
        self.processes.append(process)
        return process

    def start_server(self) -> subprocess.Popen[bytes]:
        """`prefect server start` on 127.0.0.1, with its database in PREFECT_HOME."""
        port = str(self.port)
        return self.start("server", "server", "start", "--host", "127.0.0.1", "--port", port)

    def prefect(self, *args: str) -> str:
        """`prefect <args>` in the checkout, as the installer types it; its output."""
        return self.run(str(self.python), "-m", "prefect", *args)

    def run(self, *command: str) -> str:
        done = subprocess.run(
            command,
            cwd=self.checkout if self.checkout.exists() else self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, (
            f"{' '.join(command)} exited with {done.returncode}:\n"
            f"{done.stderr[-3000:]}\n{done.stdout[-3000:]}"
        )
        return done.stdout

    def stop(self) -> None:
        """The worker first, then the server: each asked to stop, then its whole process
        group killed (a flow run the worker started, whatever the server spawned)."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def get(self, path: str, body: dict | None = None) -> dict | list:
        """The server's REST API: GET, or POST when a body is given."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.api}{path}", data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def wait_until_up(self, server: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            assert server.poll() is None, f"prefect server exited:\n{_tail(self.log('server'))}"
            try:
                if self.get("/health") is True:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        pytest.fail(
            f"prefect server did not answer in {WAIT_SECONDS}s:\n{_tail(self.log('server'))}"
        )

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def run_deployment(self, name: str, **parameters: str) -> str:
        """`prefect deployment run`; the flow run's id."""
        args = [arg for key, value in parameters.items() for arg in ("-p", f"{key}={value}")]
        out = self.prefect("deployment", "run", name, *args)
        found = re.search(r"UUID: ([0-9a-f-]{36})", out)
        assert found, out
        return found.group(1)

    def wait_for(self, worker: subprocess.Popen[bytes], *run_ids: str) -> list[dict]:
        """The flow runs once each reached a final state; fails with the worker's log and
        the runs' own logs when one did not complete."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            runs = [self.get(f"/flow_runs/{run_id}") for run_id in run_ids]
            if all(run["state_type"] in FINAL_STATES for run in runs):
                break
            if time.monotonic() > deadline:
                break
            assert worker.poll() is None, f"the worker exited:\n{_tail(self.log('worker'))}"
            time.sleep(0.5)
        for run in runs:
            if run["state_type"] != "COMPLETED":
                pytest.fail(
                    f"flow run {run['name']} is {run['state_type']} ({run['state_name']}) "
                    f"after at most {WAIT_SECONDS}s\nworker:\n{_tail(self.log('worker'))}\n"
                    f"run:\n{self.run_log(run['id'])}"
                )
        return runs

    def run_log(self, run_id: str) -> str:
        logs = self.get("/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}})
        return "\n".join(entry["message"] for entry in logs)[-4000:]

    def runs_of(self, deployment: str, but: str) -> list[dict]:
        """The flow runs of a deployment (`flow/name`), except the run `but`."""
        deployment_id = self.get(f"/deployments/name/{deployment}")["id"]
        runs = self.get(
            "/flow_runs/filter", {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}}
        )
        return [run for run in runs if run["id"] != but]


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    setup = Installation(tmp_path)
    try:
        yield setup
    finally:
        setup.stop()


def _clone_and_make_venv(setup: Installation) -> None:
    """`git clone`, and a throwaway virtualenv for it.

    The virtualenv borrows this session's installed dependencies through a .pth line (a
    plain path: that site-packages' own .pth files, among them the editable hook mapping
    returnwatch.* to the developer's worktree, are not run), so once the clone is installed
    `returnwatch` and the entrypoints' imports resolve to the clone alone.
    """
    setup.run("git", "clone", "--quiet", str(ROOT), str(setup.checkout))
    setup.run(sys.executable, "-m", "venv", "--without-pip", str(setup.venv))
    purelib = Path(sysconfig.get_paths(vars={"base": str(setup.venv)})["purelib"])
    (purelib / "returnwatch-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def _install_checkout(setup: Installation) -> None:
    """`pip install --no-deps -e <clone>`: builds the clone's pyproject with pip's build
    isolation, as `make install` does (setuptools from PyPI or pip's cache)."""
    pip = [sys.executable, "-m", "pip", "--python", str(setup.python)]
    setup.run(*pip, "install", "--quiet", "--no-deps", "-e", str(setup.checkout))
    where = setup.run(
        str(setup.python),
        "-c",
        "import importlib.util as u; print(u.find_spec('returnwatch.flows.nightly').origin)",
    )
    assert Path(where.strip()) == setup.checkout / "flows" / "nightly.py"


def _write_config(setup: Installation, receiver_url: str) -> Path:
    """The installer's `returnwatch.toml` in the checkout (git ignores it), where the
    worker runs the flows: two shops sharing one warehouse, each with its inbox folder
    (<inbox>/<shop_id>), and a generic chat channel on the receiver."""
    db = setup.root / "data" / "returnwatch.duckdb"
    (setup.checkout / "returnwatch.toml").write_text(
        f"db = {json.dumps(str(db))}\n"
        f"inbox = {json.dumps(str(setup.root / 'inbox'))}\n"
        'pii_secret = "test-pii-secret"\n'
        "inbox_settle_seconds = 5\n"
        '\n[[shops]]\nshop_id = "shop-a"\n'
        '\n[[shops]]\nshop_id = "shop-b"\n'
        "\n[alerts]\n"
        "timeout_seconds = 5\n"
        "max_attempts_per_run = 1\n"
        "\n[[alerts.channels]]\n"
        'name = "ops"\n'
        'type = "generic"\n'
        f"url = {json.dumps(receiver_url)}\n"
    )
    return db


def _assert_deployed(setup: Installation) -> None:
    """What the server recorded: prefect.yaml's entrypoints, run from the checkout."""
    for name, entrypoint in (
        ("nightly/returnwatch-nightly", "flows/nightly.py:nightly"),
        ("backfill/returnwatch-backfill", "flows/backfill.py:backfill"),
    ):
        deployment = setup.get(f"/deployments/name/{name}")
        assert deployment["entrypoint"] == entrypoint
        assert deployment["work_pool_name"] == "returnwatch"
        [step] = deployment["pull_steps"]
        directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
        assert Path(directory) == setup.checkout


def test_deploy_all_and_a_process_worker_run_both_deployments_from_a_fresh_clone(
    installation, shop_files, other_shop_files, receiver, kit
):
    setup = installation
    _clone_and_make_venv(setup)
    server = setup.start_server()
    _install_checkout(setup)  # while the server boots
    db = _write_config(setup, receiver.url)
    inbox = setup.root / "inbox"
    dropped = shop_files.drop(inbox / "shop-a") + other_shop_files.drop(inbox / "shop-b")
    clean = setup.run("git", "status", "--porcelain")
    setup.wait_until_up(server)

    setup.prefect("work-pool", "create", "returnwatch", "--type", "process")
    worker = setup.start("worker", "worker", "start", "--pool", "returnwatch")
    setup.prefect("--no-prompt", "deploy", "--all")
    _assert_deployed(setup)

    # The nightly deployment, as its schedule starts it (prefect.yaml's fan_out: true), for
    # the exports' spike night: the parent run submits one run per shop to the same
    # deployment, and the worker runs those too.
    night = kit.LAST.isoformat()
    parent_id = setup.run_deployment("nightly/returnwatch-nightly", date=night)
    [parent] = setup.wait_for(worker, parent_id)
    assert parent["parameters"] == {"fan_out": True, "date": night}
    submitted = setup.runs_of("nightly/returnwatch-nightly", but=parent_id)
    assert sorted(run["parameters"]["shop_id"] for run in submitted) == ["shop-a", "shop-b"]
    assert {run["parameters"]["date"] for run in submitted} == {night}
    setup.wait_for(worker, *(run["id"] for run in submitted))

    assert not any(p.exists() for p in dropped)  # imported, moved to processed/
    processed = sorted(p.name for p in inbox.glob("*/processed/*/*.csv"))
    assert processed == sorted(p.name for p in dropped)
    assert kit.query(db, "SELECT shop_id, day, status FROM nightly_runs ORDER BY 1") == [
        ("shop-a", kit.LAST, "success"),
        ("shop-b", kit.LAST, "success"),
    ]
    assert kit.query(db, "SELECT count(*) FROM inbox_files WHERE status = 'loaded'") == [(4,)]
    spikes = "SELECT shop_id FROM v_daily_shop WHERE day = ? AND is_anomaly ORDER BY 1"
    assert kit.query(db, spikes, [kit.LAST]) == [("shop-a",), ("shop-b",)]
    digests = receiver.of_kind("digest")
    assert sorted((d["shop_id"], d["day"]) for d in digests) == [
        ("shop-a", night),
        ("shop-b", night),
    ]

    # The backfill deployment over the last week, for the configured shops: it
    # recomputes those days' rates.
    start = (kit.LAST - dt.timedelta(days=6)).isoformat()
    rates = (
        "SELECT shop_id, count(DISTINCT day), min(computed_at), max(computed_at) "
        "FROM daily_return_rates WHERE day BETWEEN ? AND ? GROUP BY ALL ORDER BY 1"
    )
    before = kit.query(db, rates, [start, night])
    assert [(shop, days) for shop, days, _, _ in before] == [("shop-a", 7), ("shop-b", 7)]
    [backfill] = setup.wait_for(
        worker, setup.run_deployment("backfill/returnwatch-backfill", start=start, end=night)
    )
    assert backfill["parameters"] == {"start": start, "end": night}
    after = kit.query(db, rates, [start, night])
    assert [(shop, days) for shop, days, _, _ in after] == [("shop-a", 7), ("shop-b", 7)]
    for (shop, _, _, last_before), (_, _, first_after, _) in zip(before, after, strict=True):
        assert first_after > last_before, f"the backfill did not recompute {shop}'s rates"
    assert receiver.of_kind("digest") == digests  # a backfill sends no chat messages

    # Neither deploying nor running changed the checkout (as git sees it).
    assert setup.run("git", "status", "--porcelain") == clean
