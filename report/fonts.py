"""A CJK font for the report that travels with the package, and the small subset each report embeds.

Why: a report must show Chinese on a machine with no CJK font installed (CI, a fresh
server, a headless browser), so neither matplotlib nor the HTML may rely on system fonts.
The font comes from PyPI: `notojp-matplotlib` ships Noto Sans CJK (SIL Open Font License)
as one 16 MB OTF. That file is the Japanese-default build, which draws shared code points
such as 直, 真, 述 with Japanese glyph shapes; it also carries the simplified-Chinese glyphs
behind its `locl` feature for the ZHS language. matplotlib applies no OpenType features, so
`subset` re-points the character map to those glyphs and keeps only the characters one
report uses: ~1–2 s and ~100–300 KB, made once per report and used both by matplotlib
(the PNGs) and by the HTML (`@font-face`, embedded as base64 WOFF).

The subset is a modified version under the OFL, so it gets its own family name (the
license's Reserved Font Name is "Source", which it never uses).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SOURCE_PACKAGE = "notojp_matplotlib"
SOURCE_FILE = ("fonts", "NotoSansCJKjp-Regular.otf")
FAMILY_PREFIX = "RW Noto Sans SC"
# Always in the subset: digits, Latin letters and the punctuation numbers are written with.
BASE_CHARACTERS = (
    "".join(chr(c) for c in range(0x20, 0x7F)) + "·…–—→←≥≤±×÷%‰（）：，。、；！？“”‘’《》【】￥¥"
)


class FontMissing(RuntimeError):
    """The packaged CJK font is not installed."""


@dataclass(frozen=True)
class SubsetFont:
    """A report's font: its unique family name, an OTF file for matplotlib, WOFF for HTML."""

    family: str
    path: Path
    woff: bytes
    characters: int


def source_font() -> Path:
    """The packaged Noto Sans CJK OTF (found without importing the package, whose import
    would change matplotlib's global font settings)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontMissing(
            f"the report's CJK font comes from the {SOURCE_PACKAGE.replace('_', '-')} package, "
            "which is not installed: run `make install` (or pip install notojp-matplotlib)"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*SOURCE_FILE)
    if not path.exists():
        raise FontMissing(f"{path} is missing: reinstall notojp-matplotlib")
    return path


@cache
def _zhs_substitutions(path: Path) -> dict[str, str]:
    """glyph → simplified-Chinese glyph, from the font's `locl` lookups for language ZHS."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    gsub = font["GSUB"].table
    features = set()
    for script in gsub.ScriptList.ScriptRecord:
        for lang in script.Script.LangSysRecord:
            if lang.LangSysTag.strip() == "ZHS":
                features.update(
                    i
                    for i in lang.LangSys.FeatureIndex
                    if gsub.FeatureList.FeatureRecord[i].FeatureTag == "locl"
                )
    mapping: dict[str, str] = {}
    for index in sorted(features):
        for lookup_index in gsub.FeatureList.FeatureRecord[index].Feature.LookupListIndex:
            lookup = gsub.LookupList.Lookup[lookup_index]
            for table in lookup.SubTable:
                if lookup.LookupType == 7:  # extension: the real subtable is inside
                    table = table.ExtSubTable
                mapping.update(getattr(table, "mapping", None) or {})
    font.close()
    return mapping


def subset(text: str, out_dir: Path, *, source: Path | None = None) -> SubsetFont:
    """A font with every character of `text` (plus digits, Latin and punctuation) in
    simplified-Chinese shapes, written to `out_dir` as an OTF for matplotlib."""
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    source = source or source_font()
    characters = sorted(set(text) | set(BASE_CHARACTERS))
    wanted = "".join(c for c in characters if c.isprintable())
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
    family = f"{FAMILY_PREFIX} {digest}"

    # recalcBBoxes=False: the glyphs keep their stored bounds; recomputing them for every
    # CFF glyph on save would double the time of a subset for no visible change.
    font = TTFont(str(source), lazy=True, recalcBBoxes=False)
    substitutions = _zhs_substitutions(source)
    for table in font["cmap"].tables:
        if table.isUnicode():
            for code in [ord(c) for c in wanted]:
                glyph = table.cmap.get(code)
                if glyph in substitutions:
                    table.cmap[code] = substitutions[glyph]
    options = ft_subset.Options()
    options.layout_features = ["kern", "palt", "vert"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(text=wanted)
    subsetter.subset(font)
    _rename(font, family)

    otf = io.BytesIO()
    font.save(otf)
    font.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{family.replace(' ', '')}.otf"
    path.write_bytes(otf.getvalue())
    return SubsetFont(family=family, path=path, woff=_woff(otf.getvalue()), characters=len(wanted))


def _woff(otf: bytes) -> bytes:
    """The same font as WOFF: its tables copied as they are, each zlib-compressed."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(otf), lazy=True, recalcBBoxes=False)
    font.flavor = "woff"
    buffer = io.BytesIO()
    font.save(buffer, reorderTables=False)
    return buffer.getvalue()


def _rename(font, family: str) -> None:
    """Give the subset its own names, so it never passes for the full font."""
    postscript = family.replace(" ", "")
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = postscript
        elif record.nameID == 3:
            record.string = f"{postscript};returnwatch-subset"
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        for key in ("FullName", "FamilyName"):
            if hasattr(top, key):
                setattr(top, key, family)
