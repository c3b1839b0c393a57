"""The `returnwatch` command.

Each command imports what it needs inside its body: `returnwatch import` must not pay
for Prefect or great-expectations, which take seconds to import.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="returnwatch: watch a shop's returns every night and alert the team in chat.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)

EXIT_REFUSED = 2
BIG_FILE_BYTES = 20 * 1024 * 1024


def _settings():
    from returnwatch.settings import load_settings

    return load_settings()


@contextmanager
def _query_progress(con, path: Path, enabled: bool):
    """A progress bar fed by DuckDB's own query progress, for files worth waiting on."""
    if not enabled:
        yield lambda _stage: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    stop = threading.Event()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{path.name}: opening", total=100)

        def poll() -> None:
            while not stop.wait(0.2):
                pct = con.query_progress()
                if pct is not None and pct >= 0:
                    bar.update(task, completed=pct)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            yield lambda stage: bar.update(task, description=f"{path.name}: {stage}", completed=0)
        finally:
            stop.set()
            watcher.join()


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (CSV or XLSX).")],
    shop: Annotated[
        str | None, typer.Option(help="Shop id for files without a shop_id column.")
    ] = None,
) -> None:
    """Import 抖店 or canonical export files into the warehouse.

    Each file is recognised by its header row, validated, and loaded in one transaction.
    Rows breaking a rule go to the `quarantine` table; a file no profile recognises, or
    missing a required column, is refused whole and changes nothing.
    Exit code 0 when every file loaded (rows may be quarantined), 2 when any was refused.
    """
    from returnwatch.ingest import import_file
    from returnwatch.sources.files import expand_paths
    from returnwatch.warehouse.connection import connect

    settings = _settings()
    con = connect(settings)
    results = []
    for path in expand_paths(paths):
        big = path.is_file() and path.stat().st_size >= BIG_FILE_BYTES and console.is_terminal
        with _query_progress(con, path, big) as progress:
            result = import_file(con, settings, path, shop_id=shop, progress=progress)
        results.append(result)
        style = {"loaded": "green", "skipped": "dim", "refused": "bold red"}[result.status]
        console.print(result.line(), style=style, highlight=False, markup=False, soft_wrap=True)
    if any(r.status == "loaded" for r in results):
        from returnwatch.warehouse.publish import publish

        publish(settings, con)
    con.close()
    if not results:
        err_console.print("no CSV or XLSX files found in the paths given")
        raise typer.Exit(EXIT_REFUSED)
    refused = [r for r in results if r.status == "refused"]
    loaded = [r for r in results if r.status == "loaded"]
    console.print(
        f"{len(loaded)} loaded, {len(results) - len(loaded) - len(refused)} already imported, "
        f"{len(refused)} refused — warehouse: {settings.db}",
        highlight=False,
    )
    if refused:
        raise typer.Exit(EXIT_REFUSED)


@app.command()
def detect(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    shop: Annotated[str | None, typer.Option(help="One shop; default every shop.")] = None,
) -> None:
    """Compute rates, baselines and anomalies for every day in a range (a backfill).

    Recomputing a day replaces its rows. No chat message is sent.
    """
    from returnwatch.warehouse.detection import run_detect
    from returnwatch.warehouse.publish import publish

    settings = _settings()
    summary = run_detect(settings, _parse_day(start), _parse_day(end), shop_id=shop)
    publish(settings)
    console.print(str(summary), highlight=False, markup=False)


@app.command()
def pull(
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    shop: Annotated[str | None, typer.Option(help="Shop id; default [source.api] shop_id.")] = None,
) -> None:
    """Pull orders and refunds from the 抖店 Open Platform API.

    Without --start/--end: everything updated since the last complete pull (what the
    nightly run does). With them: orders created and refunds applied for on those days.
    Exit 0 when everything loaded, 2 otherwise.
    """
    from returnwatch.sources.doudian_api import (
        ApiNotConfigured,
        SignatureRejectedError,
        TokenExpiredError,
        api_configured,
        pull_range,
        pull_updates,
    )
    from returnwatch.warehouse.connection import connect

    settings = _settings()
    if not api_configured(settings):
        err_console.print(
            "the 抖店 API is not configured: set [source.api] app_key (see docs/api-source.md)"
        )
        raise typer.Exit(EXIT_REFUSED)
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --start and --end, or neither")
    con = connect(settings)
    try:
        if start and end:
            summary = pull_range(con, settings, _parse_day(start), _parse_day(end), shop_id=shop)
        else:
            summary = pull_updates(con, settings, shop_id=shop)
    except (TokenExpiredError, SignatureRejectedError, ApiNotConfigured) as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(EXIT_REFUSED) from exc
    else:
        from returnwatch.warehouse.publish import publish

        publish(settings, con)
    finally:
        con.close()
    console.print(str(summary), markup=False, highlight=False)
    if not summary.ok:
        raise typer.Exit(EXIT_REFUSED)


@app.command()
def run(
    date: Annotated[
        str | None, typer.Option(help="The night (YYYY-MM-DD); default yesterday, shop time.")
    ] = None,
    shop: Annotated[str | None, typer.Option(help="One shop; default every shop.")] = None,
) -> None:
    """Run the nightly job once, in this process: import, detect, alert, publish.

    Imports the settled files of the inbox (and pulls the 抖店 API when configured),
    recomputes the days the new data changed, detects the night and every night missed
    since the last successful run, sends the alerts, publishes the warehouse for analysts
    and prints a one-paragraph summary per shop. A failure notifies every channel.
    """
    from returnwatch.flows.prefect_api import early_server, use_server

    night = _parse_day(date) if date else None
    # Prefect's temporary server boots in its own process while this one imports Prefect
    # and the detector: the two biggest fixed costs of a run overlap instead of adding up.
    with early_server() as server:
        from returnwatch.flows.nightly import run_nightly

        settings = _settings()
        with use_server(server):
            summaries = run_nightly(settings, date=night, shop_id=shop)
    for summary in summaries:
        console.print(summary.paragraph(), highlight=False, markup=False)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


@app.command()
def backfill(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    shop: Annotated[str | None, typer.Option(help="One shop; default every shop.")] = None,
) -> None:
    """Recompute rates and anomalies for a range as a Prefect flow run; sends no message."""
    from returnwatch.flows.backfill import run_backfill

    summary = run_backfill(_parse_day(start), _parse_day(end), shop, settings=_settings())
    console.print(summary.paragraph(), highlight=False, markup=False)


@app.command()
def serve() -> None:
    """Serve the nightly (02:00 shop time) and backfill deployments from this machine.

    Needs a Prefect server for its scheduler: run `prefect server start` and set
    PREFECT_API_URL (see the README, "Running every night"). No work pool or worker.
    """
    from returnwatch.flows.serve import NoPrefectServer
    from returnwatch.flows.serve import serve as serve_flows

    try:
        serve_flows(_settings())
    except NoPrefectServer as exc:
        err_console.print(str(exc), markup=False)
        raise typer.Exit(1) from exc


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's inbox and warehouse.")] = Path(
        "demo-output"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic shop.")] = 7,
    days: Annotated[int, typer.Option(help="Days of history to generate.")] = 120,
) -> None:
    """Run the whole job on a built-in synthetic shop (what `make demo` runs).

    Generates a seeded 抖店 shop with injected return spikes, imports its monthly exports,
    backfills the history, runs the last night with alerts to a local webhook receiver it
    starts itself, and says where the DuckDB file is and what to query. Touches nothing
    outside --out.
    """
    import os

    # The flows' per-task log lines would bury the story the demo tells.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from returnwatch.demo import EXAMPLE_QUERIES, run_demo

    db = run_demo(
        out,
        seed=seed,
        days=days,
        say=lambda line: console.print(line, markup=False, highlight=False),
    )
    console.print(
        f"\n7. The warehouse is {db.resolve()} — open it with `duckdb -readonly {db}`, "
        "DBeaver or a notebook (DuckDB >= 1.2), and try:\n",
        markup=False,
        highlight=False,
    )
    console.print(EXAMPLE_QUERIES, markup=False, highlight=False)


@app.command()
def report(
    month: Annotated[str, typer.Option("--month", help="The month to report, YYYY-MM.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The HTML file to write; the PNGs go beside it. "
            "Default: `<[report] out_dir>/<shop>/<YYYY-MM>/`.",
        ),
    ] = None,
    shop: Annotated[
        str | None, typer.Option("--shop", help="The shop, when the warehouse holds several.")
    ] = None,
) -> None:
    """Write the monthly return report: one self-contained HTML page (opens offline,
    prints to A4) and one PNG per chart for chat. docs/report.md explains every figure."""
    from returnwatch.report import build_report

    try:
        result = build_report(_settings(), month, shop, out)
    except (ValueError, LookupError) as exc:
        err_console.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_REFUSED) from exc
    console.print(
        f"{result.shop_id} {result.month}: {result.html_path} in {result.seconds:.1f}s",
        highlight=False,
        markup=False,
    )
    for name, path in result.png_paths.items():
        console.print(f"  {name}: {path}", highlight=False, markup=False)


validation_app = typer.Typer(help="The validation contract (a Great Expectations suite).")
app.add_typer(validation_app, name="validation")


@validation_app.command("suite")
def validation_suite(
    kind: Annotated[str, typer.Argument(help="orders or refunds")] = "orders",
) -> None:
    """Print the GX expectation suite a table's rows must meet, as JSON."""
    import json

    from returnwatch.transforms.gx_suite import build_suite

    console.print_json(json.dumps(build_suite(kind).to_json_dict(), default=str))


@validation_app.command("show")
def validation_show(
    batch: Annotated[int, typer.Argument(help="load_batch_id from load_batches")],
) -> None:
    """Show a load's validation result, read back as a GX validation result."""
    from returnwatch.transforms.gx_suite import read_validation_result
    from returnwatch.warehouse.connection import connect

    con = connect(_settings())
    row = con.execute(
        "SELECT validation_result FROM load_batches WHERE load_batch_id = ?", [batch]
    ).fetchone()
    if row is None:
        err_console.print(f"no load batch {batch}")
        raise typer.Exit(1)
    result = read_validation_result(row[0])
    console.print(f"suite {result.suite_name}: success={result.success}")
    for r in result.results:
        unexpected = r.result.get("unexpected_count", 0)
        mark = "ok " if r.success else "BAD"
        console.print(
            f"  {mark} {r.expectation_config.type} {r.expectation_config.kwargs} unexpected={unexpected}"
        )


alerts_app = typer.Typer(help="Chat alerts: the outbox and its delivery.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("send")
def alerts_send(
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Also retry rows that failed for good.")
    ] = False,
) -> None:
    """Deliver pending alerts (what a crashed run or a down channel left behind)."""
    from returnwatch.alerts.outbox import retry_failed as requeue_failed
    from returnwatch.alerts.sender import send_pending
    from returnwatch.warehouse.connection import connect

    con = connect(_settings())
    if retry_failed:
        console.print(f"{requeue_failed(con)} failed alert(s) queued again")
    summary = send_pending(con, _settings())
    from returnwatch.warehouse.publish import publish

    publish(_settings(), con)
    con.close()
    console.print(
        f"sent {summary.sent}, failed {summary.failed}, still pending {summary.pending}",
        highlight=False,
    )
    for error in summary.errors:
        err_console.print(f"  {error}", highlight=False)
    if not summary.ok:
        raise typer.Exit(1)


@alerts_app.command("list")
def alerts_list(
    day: Annotated[str | None, typer.Option(help="Only this night (YYYY-MM-DD).")] = None,
) -> None:
    """List the alert outbox: what was (or will be) sent where, and how it went."""
    from rich.table import Table

    from returnwatch.alerts.outbox import list_alerts
    from returnwatch.warehouse.connection import connect

    con = connect(_settings())
    records = list_alerts(con, _parse_day(day) if day else None)
    con.close()
    table = Table("id", "night", "shop", "channel", "part", "status", "tries", "title / error")
    for r in records:
        detail = r.title if not r.last_error else f"{r.title}\n[red]{r.last_error}[/red]"
        table.add_row(
            str(r.alert_id), str(r.day), r.shop_id, r.channel, f"{r.part}/{r.parts}",
            r.status, str(r.attempts), detail,
        )  # fmt: skip
    console.print(table if records else "the outbox is empty")


@alerts_app.command("test")
def alerts_test(
    channel: Annotated[str, typer.Argument(help="A channel name from [[alerts.channels]].")],
) -> None:
    """Send a sample digest to one channel, to check its URL, secret and keyword settings."""
    from returnwatch.alerts.channels import UnknownChannelError, send_test_message

    try:
        outcome = send_test_message(_settings(), channel)
    except UnknownChannelError as exc:
        err_console.print(str(exc))
        raise typer.Exit(2) from exc
    if outcome is not None and outcome.ok:
        console.print(f"sample sent to {channel} ({outcome.attempts} attempt(s))")
        return
    err_console.print(
        f"sending to {channel} failed: {outcome.error if outcome else 'nothing sent'}"
    )
    raise typer.Exit(1)


def _parse_day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def main() -> None:  # pragma: no cover - console entry point
    app()
