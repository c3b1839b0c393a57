"""Prefect flows: thin orchestration of the pure functions of the other packages.

- `nightly.py`  — the nightly run (inbox and API → load → rates → detect → alerts →
  publish), for one shop or mapped over every configured shop, with catch-up of missed
  nights, a per-shop lock and a failure notice;
- `backfill.py` — recompute rates and anomalies over a date range, without chat messages;
- `serve.py`    — both flows served on their schedules by one long-running process.

The plain steps live in `steps.py` (no Prefect: unit-testable, reusable by the CLI) and
are wrapped as tasks in `tasks.py`. Importing this package does not import Prefect.
See docs/orchestration.md.
"""
