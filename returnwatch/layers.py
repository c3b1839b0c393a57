"""The one import rule, written down once: layers, bottom to top.

A module may import from its own layer and from the layers below it, never from a layer
above; and no two modules may import each other, directly or round a circle (a deferred
import inside a function counts: it hides a circle, it does not break it).

    core        returnwatch/ (settings.py and the small shared helpers beside it:
                sql.py, errors.py, slices.py, redact.py), everything may use it
    transforms  PURE: SQL text and functions over data handed to them; never opens a
                connection or writes a table
    warehouse   all DuckDB I/O: connect, migrations, load, publish
    sources     pulling data in: export files, the inbox, the 抖店 API, importing a file
                into the warehouse (sources/ingest.py)
    alerts      anomalies -> digests -> chat channels, through the outbox
    report      the monthly report (its digest attachment is an alerts type)
    flows       Prefect flows and the steps they wire
    demo        the demo run and the seeded synthetic shop
    cli         returnwatch/cli.py, the `returnwatch` command, on top of everything

Imports always name the installed package, `returnwatch.<layer>...`: the folders sit at
the repository root (flows/, warehouse/, ...) but `import flows` or `from alerts import x`
would only work by accident of the working directory.

tests/test_layers.py reads every module's imports (with `ast`) and fails, naming the
file and line, on an upward import, a circle, or a bare top-level name.
docs/architecture.md explains the layers for people.
"""

from __future__ import annotations

# Bottom to top. The folder of each layer is its name, except core (returnwatch/) and
# cli (returnwatch/cli.py).
LAYERS: tuple[str, ...] = (
    "core",
    "transforms",
    "warehouse",
    "sources",
    "alerts",
    "report",
    "flows",
    "demo",
    "cli",
)

PACKAGE = "returnwatch"

# Layers that are a package folder at the repository root, installed as returnwatch.<name>.
FOLDER_LAYERS: tuple[str, ...] = tuple(name for name in LAYERS if name not in ("core", "cli"))

# The module that is the cli layer; every other module directly in returnwatch/ is core.
CLI_MODULE = f"{PACKAGE}.cli"


def layer_of(module: str) -> str | None:
    """The layer of a `returnwatch...` module name; None for a name outside the package."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if module == CLI_MODULE or module.startswith(CLI_MODULE + "."):
        return "cli"
    if len(parts) > 1 and parts[1] in FOLDER_LAYERS:
        return parts[1]
    return "core"


def rank(layer: str) -> int:
    """0 for the bottom layer (core), growing upwards."""
    return LAYERS.index(layer)
