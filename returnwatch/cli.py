"""The `returnwatch` command.

Each command imports what it needs inside its body: `returnwatch import` must not pay
for Prefect or great-expectations, which take seconds to import.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

app = typer.Typer(
    help="returnwatch: watch a shop's returns every night and alert the team in chat.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
# Soft wrapping: a line longer than the terminal is left to the terminal to fold, never
# broken by rich at a fixed width ("loaded\n2,936" at 80 columns, and baked into a log).
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_REFUSED = 2
BIG_FILE_BYTES = 20 * 1024 * 1024


def _settings():
    """The settings, or each problem with them on one line and exit 2."""
    from returnwatch.settings import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        _refuse(*exc.problems)


def _refuse(*lines: str) -> NoReturn:
    """Print why the command cannot run (one line per reason) and exit 2."""
    for line in lines:
        err_console.print(line, markup=False, highlight=False)
    raise typer.Exit(EXIT_REFUSED)


def _prefect_quiet() -> None:
    """A Prefect server this command starts (the temporary one of `run`, `backfill` and
    the demo) sends no usage report: offline it only logs "ERROR | ... Failed to send
    telemetry". Set before Prefect is imported, so every server subprocess inherits it;
    a value the user set wins."""
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


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
    from returnwatch.sources.files import expand_paths
    from returnwatch.sources.ingest import import_file
    from returnwatch.warehouse.connection import connect
    from returnwatch.warehouse.data_docs import docs_dir, load_page

    settings = _settings()
    con = connect(settings)
    results = []
    for path in expand_paths(paths):
        big = path.is_file() and path.stat().st_size >= BIG_FILE_BYTES and console.is_terminal
        with _query_progress(con, path, big) as progress:
            result = import_file(con, settings, path, shop_id=shop, progress=progress)
        results.append(result)
        style = {"loaded": "green", "skipped": "dim", "refused": "bold red"}[result.status]
        line = result.line()
        if result.status == "loaded" and result.load_batch_id is not None:
            page = load_page(con, settings, result.load_batch_id)
            line += f" — validation: {page}" if page else ""
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)
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
    if loaded and not (docs_dir(settings) / "index.html").exists():
        console.print(
            "Validation pages are GX Data Docs: `returnwatch validation docs` builds them "
            "(the nightly run keeps them up to date).",
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
    from returnwatch.warehouse.inventory import inventory
    from returnwatch.warehouse.publish import publish

    settings = _settings()
    first, last = _parse_day(start, "--start"), _parse_day(end, "--end")
    if last < first:
        _refuse(f"--end {end} is before --start {start}")
    held = inventory(settings)
    if held.path is None:
        _refuse(
            f"db = {settings.db}: no warehouse there — import exports first "
            "(`returnwatch import FILES`), or set db to the warehouse file"
        )
    if held.shops == []:
        _refuse(
            f"db = {settings.db}: the warehouse holds no order lines or refunds — import "
            "exports first (`returnwatch import FILES`)"
        )
    if shop is not None and held.shops is not None and shop not in held.shops:
        _refuse(f"--shop {shop}: not in the warehouse; its shops: {', '.join(held.shops)}")
    summary = run_detect(settings, first, last, shop_id=shop)
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
        _refuse("give both --start and --end, or neither")
    days = (_parse_day(start, "--start"), _parse_day(end, "--end")) if start and end else None
    con = connect(settings)
    try:
        if days:
            summary = pull_range(con, settings, *days, shop_id=shop)
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
    from returnwatch.settings import ConfigError, load_settings

    night = _parse_day(date, "--date") if date else None
    try:
        settings = load_settings()
    except ConfigError as exc:
        # The nightly job's own failure: the chat hears of it with the same lines.
        from returnwatch.flows.steps import notify_bad_settings

        notify_bad_settings(exc, night)
        _refuse(*exc.problems)
    _prefect_quiet()
    # Prefect's temporary server boots in its own process while this one imports Prefect
    # and the detector: the two biggest fixed costs of a run overlap instead of adding up.
    with early_server() as server:
        from returnwatch.flows.nightly import run_nightly

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
    first, last = _parse_day(start, "--start"), _parse_day(end, "--end")
    settings = _settings()
    _prefect_quiet()
    from returnwatch.flows.backfill import run_backfill

    summary = run_backfill(first, last, shop, settings=settings)
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
    _prefect_quiet()
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
    from returnwatch.warehouse.data_docs import DEFAULT_DIR_NAME

    docs = db.parent / DEFAULT_DIR_NAME / "index.html"
    if docs.exists():
        console.print(
            f"\n8. Every load's validation (Great Expectations Data Docs): open {docs} in a "
            "browser (docs/validation.md).",
            markup=False,
            highlight=False,
        )


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


@validation_app.command("docs")
def validation_docs(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of the HTML site. Default: `[validation] docs_dir`."),
    ] = None,
) -> None:
    """Build GX Data Docs: the expectation suites and every load's validation result as a
    static HTML site (open its index.html), rendered by Great Expectations itself. The
    nightly run keeps the default folder up to date; docs/validation.md explains the pages."""
    import duckdb

    from returnwatch.warehouse.data_docs import build_site

    settings = _settings()
    try:
        result = build_site(settings, out)
    except LookupError as exc:
        _refuse(str(exc))
    except duckdb.Error as exc:
        _refuse(f"db = {settings.db}: cannot be read now ({exc}); try again later")
    console.print(result.line(), highlight=False, markup=False)


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
    records = list_alerts(con, _parse_day(day, "--day") if day else None)
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
    from returnwatch.alerts.channels import UnknownChannelError
    from returnwatch.alerts.sender import send_test_message

    try:
        outcome = send_test_message(_settings(), channel)
    except UnknownChannelError as exc:
        _refuse(str(exc))
    if outcome is not None and outcome.ok:
        console.print(f"sample sent to {channel} ({outcome.attempts} attempt(s))")
        return
    err_console.print(
        f"sending to {channel} failed: {outcome.error if outcome else 'nothing sent'}"
    )
    raise typer.Exit(1)


def _parse_day(value: str, option: str) -> dt.date:
    """A YYYY-MM-DD option value, or one line saying what is wrong with it and exit 2."""
    try:
        if len(value) != 10:
            raise ValueError("expected 10 characters")
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        _refuse(f"{option} {value}: not a date — use YYYY-MM-DD ({exc})")


def _feedback_shop(settings, shop: str | None) -> str:
    """--shop, else the one configured shop (several shops need --shop)."""
    if shop:
        return shop
    shops = settings.shop_ids()
    if len(shops) > 1:
        err_console.print(f"several shops are configured ({', '.join(shops)}): add --shop")
        raise typer.Exit(EXIT_REFUSED)
    return shops[0]


def _slice_arg(text: str):
    from returnwatch.transforms.incidents import parse_slice

    try:
        return parse_slice(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _publish_feedback(settings, con) -> None:
    """Feedback is written to the working file; analysts see it once published."""
    from returnwatch.warehouse.publish import publish

    publish(settings, con)


SLICE_HELP = "shop, region:<province>, sku:<id>, or any <dimension>:<key>"


@alerts_app.command("mute")
def alerts_mute(
    slice_: Annotated[str, typer.Argument(metavar="SLICE", help=SLICE_HELP)],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in `alerts mutes`).")],
    days: Annotated[int | None, typer.Option("--days", min=1, help="Mute for N days.")] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Mute through this night (YYYY-MM-DD).")
    ] = None,
    shop: Annotated[str | None, typer.Option("--shop", help="The shop.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Stop listing a slice's spikes for a while ("known, stop"). Still detected and
    stored; the digest counts it in its footer. Ends by itself."""
    from returnwatch.warehouse.feedback import add_mute
    from returnwatch.warehouse.publish import open_working

    if (days is None) == (until is None):
        raise typer.BadParameter("give exactly one of --days N or --until YYYY-MM-DD")
    end = _parse_day(until, "--until") if until else dt.date.today() + dt.timedelta(days=days or 0)
    settings = _settings()
    target = _slice_arg(slice_)
    shop_id = _feedback_shop(settings, shop)
    con = open_working(settings)
    try:
        mute_id = add_mute(con, shop_id, target, end, reason, by)
        _publish_feedback(settings, con)
    except ValueError as exc:
        err_console.print(str(exc))
        raise typer.Exit(EXIT_REFUSED) from exc
    finally:
        con.close()
    console.print(f"muted {target} in {shop_id} through {end} (mute {mute_id})", highlight=False)


@alerts_app.command("unmute")
def alerts_unmute(
    slice_: Annotated[str, typer.Argument(metavar="SLICE", help=SLICE_HELP)],
    shop: Annotated[str | None, typer.Option("--shop", help="The shop.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """End a slice's mute now."""
    from returnwatch.warehouse.feedback import unmute
    from returnwatch.warehouse.publish import open_working

    settings = _settings()
    target = _slice_arg(slice_)
    shop_id = _feedback_shop(settings, shop)
    con = open_working(settings)
    try:
        ended = unmute(con, shop_id, target, by)
        _publish_feedback(settings, con)
    finally:
        con.close()
    if not ended:
        err_console.print(f"{target} was not muted in {shop_id}")
        raise typer.Exit(1)
    console.print(f"unmuted {target} in {shop_id}", highlight=False)


@alerts_app.command("mutes")
def alerts_mutes(
    shop: Annotated[str | None, typer.Option("--shop", help="Only this shop.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Also the mutes that ended (expired or unmuted).")
    ] = False,
) -> None:
    """List the mutes in force: slice, until, why, who, nights kept quiet so far."""
    from rich.table import Table

    from returnwatch.warehouse.feedback import active_mutes, muted_anomalies
    from returnwatch.warehouse.publish import open_working

    settings = _settings()
    con = open_working(settings)
    try:
        yesterday = dt.date.today() - dt.timedelta(days=1)
        mutes = active_mutes(con, yesterday, shop, include_ended=all_)
        table = Table("shop", "slice", "until", "reason", "by", "nights muted", "state")
        for m in mutes:
            state = "in force" if m.in_force(yesterday) else "ended"
            table.add_row(
                m.shop_id, str(m.slice), str(m.until_day), m.reason, m.created_by,
                str(muted_anomalies(con, m)), state,
            )  # fmt: skip
    finally:
        con.close()
    console.print(table if mutes else "nothing is muted")


@alerts_app.command("annotate")
def alerts_annotate(
    slice_: Annotated[str, typer.Argument(metavar="SLICE", help=SLICE_HELP)],
    verdict: Annotated[
        str, typer.Argument(help="expected | new-normal | confirmed", metavar="VERDICT")
    ],
    day: Annotated[str, typer.Option("--day", help="The alert's night (YYYY-MM-DD).")],
    note: Annotated[str | None, typer.Option("--note", help="What it was.")] = None,
    shop: Annotated[str | None, typer.Option("--shop", help="The shop.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your login).")] = None,
) -> None:
    """Say what an alert was. expected: the day stays out of the slice's baselines;
    new-normal: the slice's baseline restarts from the day; confirmed: a true problem."""
    from returnwatch.warehouse.feedback import VERDICTS, annotate
    from returnwatch.warehouse.publish import open_working

    if verdict not in VERDICTS:
        raise typer.BadParameter(f"VERDICT is one of {', '.join(VERDICTS)}")
    settings = _settings()
    target = _slice_arg(slice_)
    shop_id = _feedback_shop(settings, shop)
    con = open_working(settings)
    try:
        annotate(con, shop_id, target, _parse_day(day, "--day"), verdict, note, by)
        _publish_feedback(settings, con)
    finally:
        con.close()
    console.print(f"{target} on {day} in {shop_id}: {verdict}", highlight=False)


@alerts_app.command("stats")
def alerts_stats(
    shop: Annotated[str | None, typer.Option("--shop", help="Only this shop.")] = None,
) -> None:
    """Per dimension and severity: incidents, confirmed vs expected (the shop's own
    precision, to tune [detection] from)."""
    from rich.table import Table

    from returnwatch.warehouse.feedback import stats
    from returnwatch.warehouse.publish import open_working

    settings = _settings()
    con = open_working(settings)
    try:
        rows = stats(con, shop)
    finally:
        con.close()
    table = Table("dimension", "severity", "incidents", "confirmed", "expected", "unreviewed",
                  "precision")  # fmt: skip
    for r in rows:
        precision = "–" if r.precision is None else f"{r.precision:.0%}"
        table.add_row(
            r.dimension, r.severity, str(r.incidents), str(r.confirmed), str(r.expected),
            str(r.unreviewed), precision,
        )  # fmt: skip
    console.print(table if rows else "no incidents yet")


def main() -> None:  # pragma: no cover - console entry point
    app()
