"""Export files as DuckDB can read them: checksum, encoding, XLSX, header.

Whatever arrives (UTF-8, UTF-8 with BOM, GB18030/GBK, XLSX) leaves here as a UTF-8 CSV
path plus its header row, so everything downstream reads one kind of input. Files are
streamed in chunks: a month of a big shop never sits in Python memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
SUPPORTED_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
# Integers beyond this cannot be exact in an Excel cell (a float64): the id is lost.
_EXACT_FLOAT_LIMIT = 2**53


class RefusedFile(Exception):
    """A whole file returnwatch will not load; the message names the file and the fix."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path.name}: refused: {reason}")


@dataclass(frozen=True)
class SourceFile:
    """A file ready for DuckDB: `csv_path` is UTF-8 CSV, maybe a temporary conversion."""

    path: Path
    checksum: str
    encoding: str
    csv_path: Path
    header: list[str]
    size: int


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


SNIFF_BYTES = 4 * CHUNK


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8 or gb18030 (a superset of GBK), decided on the file's first 4 MB.

    A GBK export shows itself in its Chinese header. The rest of a file is not decoded
    here (that cost ~3 s per GB): DuckDB checks every value it reads is UTF-8, and a file
    it finds is not is imported again as GBK (`ingest.import_file`).
    """
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head[:3] == codecs.BOM_UTF8:
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise RefusedFile(path, "UTF-16 text; save it as UTF-8 or GBK CSV")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut character may end it
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _transcode(path: Path, encoding: str, dest: Path) -> None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, dest.open("w", encoding="utf-8", newline="") as out:
        try:
            while chunk := src.read(CHUNK):
                out.write(decoder.decode(chunk))
            out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            raise RefusedFile(path, f"neither UTF-8 nor {encoding} text ({exc.reason})") from exc


def _cell_text(value: object) -> str:
    """An XLSX cell as the text the CSV export would have had."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT:
            return str(int(value))
        if value.is_integer():
            return f"{value:.6E}"  # the digits are gone; the rounded-id rule refuses it
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    return str(value)


def _xlsx_to_csv(path: Path, dest: Path) -> None:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own error types per format problem
        raise RefusedFile(path, f"not a readable XLSX workbook ({exc})") from exc
    with dest.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([_cell_text(v) for v in row])


def _read_header(csv_path: Path, original: Path) -> list[str]:
    """The column names, one per column: blanks named, repeats numbered.

    DuckDB is given exactly these columns (no sniffing): its sniffer, when a file is
    ragged, can settle on reading nothing at all instead of failing.
    """
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            raw = next(csv.reader(fh))
        except StopIteration:
            raise RefusedFile(original, "the file is empty") from None
    if not any(h.strip() for h in raw):
        raise RefusedFile(original, "the first row is empty; it must hold the column names")
    header: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(raw, start=1):
        name = name.replace("\t", "").strip() or f"_unnamed_{i}"
        seen[name] = seen.get(name, 0) + 1
        header.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return header


@contextmanager
def open_source(path: Path, encoding: str | None = None) -> Iterator[SourceFile]:
    """Yield the file as a SourceFile; temporary conversions are removed afterwards.

    `encoding` overrides the detected one (a CSV found not to be UTF-8 after all).
    """
    path = Path(path)
    if not path.is_file():
        raise RefusedFile(path, "no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise RefusedFile(path, f"unsupported file type {suffix or '(none)'}; use CSV or XLSX")
    checksum = file_checksum(path)
    with tempfile.TemporaryDirectory(prefix="returnwatch-") as tmp:
        if suffix in (".xlsx", ".xlsm"):
            encoding = "xlsx"
            csv_path = Path(tmp) / "sheet.csv"
            _xlsx_to_csv(path, csv_path)
        else:
            encoding = encoding or detect_encoding(path)
            csv_path = path
            if encoding == "gb18030":
                csv_path = Path(tmp) / "utf8.csv"
                _transcode(path, encoding, csv_path)
        header = _read_header(csv_path, path)
        yield SourceFile(path, checksum, encoding, csv_path, header, path.stat().st_size)


def read_csv_sql(source: SourceFile) -> str:
    """The read_csv call for a prepared file: these columns, every value as text.

    strict_mode makes a ragged row fail the read, naming its line, rather than shift values.
    """
    escaped = str(source.csv_path).replace("'", "''")
    columns = ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in source.header)
    return (
        f"read_csv('{escaped}', header = true, auto_detect = false, columns = {{{columns}}}, "
        "delim = ',', quote = '\"', escape = '\"', null_padding = false, strict_mode = true)"
    )


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, plus the supported files inside folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in SUPPORTED_SUFFIXES
                    and not p.name.startswith((".", "~$"))
                )
            )
        else:
            found.append(path)
    return found
