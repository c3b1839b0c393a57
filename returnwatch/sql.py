"""Writing SQL text safely, and reading the SQL files shipped with the package.

DuckDB takes parameters for values in most places, but not for identifiers (a 抖店 export's
headers are Chinese, with parentheses and spaces) nor in ATTACH/COPY options: those are
spliced into the text, quoted here, the one place that knows how.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


def q(name: str) -> str:
    """A quoted SQL identifier: a double quote inside the name is doubled."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """`str(value)` as a quoted SQL string literal: a single quote inside it is doubled."""
    return "'" + str(value).replace("'", "''") + "'"


@cache
@cache
def read_sql(package: str, name: str) -> str:
    """The text of `sql/<name>.sql` in `package` (e.g. "returnwatch.report"), shipped as
    package data (pyproject.toml, `[tool.setuptools.package-data]`)."""
    return (resources.files(package) / "sql" / f"{name}.sql").read_text(encoding="utf-8")
