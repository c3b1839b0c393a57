"""`returnwatch serve`: both flows on their schedules, from one long-running process.

Prefect's `serve` registers the deployments with the API and runs their scheduled runs
in subprocesses of this process — no work pool or worker to set up, for a single machine.
It needs a real Prefect API: `prefect server start` on the same machine (with
PREFECT_API_URL pointing at it) or Prefect Cloud. Prefect's temporary in-process server
runs no scheduler, so served deployments would never start (measured: no run in minutes
of a every-minute cron); `serve` refuses to start without PREFECT_API_URL rather than
wait forever. The schedule's timezone is the shop's (`timezone` in the config), so
"02:00" is 02:00 at the shop.
"""

from __future__ import annotations

from returnwatch.settings import Settings

NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_DEPLOYMENT = "returnwatch-nightly"
BACKFILL_DEPLOYMENT = "returnwatch-backfill"


def deployments(settings: Settings, *, cron: str = NIGHTLY_CRON) -> list:
    """The two deployments `serve` runs: nightly on its cron, backfill on demand."""
    from prefect.schedules import Cron

    from returnwatch.flows.backfill import backfill
    from returnwatch.flows.nightly import nightly

    return [
        nightly.to_deployment(
            name=NIGHTLY_DEPLOYMENT,
            schedules=[Cron(cron, timezone=settings.timezone)],
            # a second scheduled run queues behind the first (the shop lock also guards)
            concurrency_limit=1,
            tags=["returnwatch"],
            description="Import, detect and alert every night (docs/orchestration.md).",
        ),
        backfill.to_deployment(
            name=BACKFILL_DEPLOYMENT,
            tags=["returnwatch"],
            description="Recompute rates and anomalies for a date range; sends nothing.",
        ),
    ]


class NoPrefectServer(RuntimeError):
    """`serve` without PREFECT_API_URL: nothing would ever be scheduled."""


def serve(settings: Settings, *, cron: str = NIGHTLY_CRON, limit: int | None = None) -> None:
    """Serve the nightly and backfill deployments until interrupted (Ctrl-C).

    Raises NoPrefectServer when no Prefect API is configured (see the module docstring).
    """
    from prefect import serve as prefect_serve
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise NoPrefectServer(
            "returnwatch serve needs a Prefect server to schedule the nightly run: start one "
            "with `prefect server start` (or use Prefect Cloud) and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api. To run a night once without one, "
            "use `returnwatch run`."
        )
    prefect_serve(*deployments(settings, cron=cron), limit=limit)
