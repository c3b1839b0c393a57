"""SQL that turns a file's raw text columns into checked, canonical rows.

Two statements, both generated from a profile match and the table's rules:

1. `source_sql`: reads only the columns a profile maps (never a personal column; a
   buyer id or phone is hashed in the same expression that reads it), numbering rows as a
   spreadsheet shows them (the header is row 1).
2. `checked_sql`: drops exact duplicate rows, normalises text, types values and evaluates
   every rule, leaving one row per distinct source row with the list of rules it breaks.

Everything here is pure string building, so it is tested without any file.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Literal

from returnwatch.sql import lit, q
from returnwatch.transforms.profiles import (
    NO_VALUE,
    PLACEHOLDERS,
    SKU_SEPARATOR,
    TABLE_FIELDS,
    TABLE_KEYS,
    Field,
    Profile,
    ProfileMatch,
    canonical_kind,
)
from returnwatch.transforms.rules import (
    INTEGER_REGEX,
    NUMBER_REGEX,
    RULES,
    TIMESTAMP_FORMAT,
    re2,
    rule_columns,
    unique_count_column,
)

SOURCE_PREFIX = "src__"
PHONE_REGEX = r"1[3-9][0-9]{9}"


# A pseudonym is the first 16 hex digits (64 bits) of HMAC-SHA256: two of a shop's buyers
# share one with odds of 1 in 3.7e7 even at a million buyers, and the column costs a
# quarter of the full 64 digits to store (random hex does not compress; writing it was
# 1.3 s of a 10M-line import).
PSEUDONYM_HEX_DIGITS = 16


def hmac_macro_sql(key: bytes, name: str = "rw_hmac") -> str:
    """A DuckDB macro computing a pseudonym, hex(HMAC-SHA256(key, value)) cut to
    `PSEUDONYM_HEX_DIGITS`, in SQL.

    HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)); the padded keys are constants, so the
    whole hash runs vectorised inside DuckDB instead of a Python call per row.
    """
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    return (
        f"CREATE OR REPLACE TEMP MACRO {name}(v) AS "
        f"left(sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(v)))), "
        f"{PSEUDONYM_HEX_DIGITS})"
    )


def hmac_hex(key: bytes, value: str) -> str:
    """The same pseudonym in Python, for tests and for the API source."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


# --- 1. reading ------------------------------------------------------------------------


def secret_hashes_sql(match: ProfileMatch, relation: str) -> str | None:
    """Each distinct normalised secret id of `relation` with its keyed hash (`_secret`,
    `_hash`), for `source_sql(..., hashes=)`; None when the file has no secret column.

    Run as its own statement, reading only that column: inside `source_sql` the rows
    would be read once for the distinct values and again for the join, which makes
    DuckDB keep every row of the file in memory in between.
    """
    for f in match.profile.fields:
        header = match.columns.get(f.name)
        if header is not None and f.kind == "secret_id":
            return (
                "SELECT _secret, rw_hmac(_secret) AS _hash FROM "
                f"(SELECT DISTINCT {_secret_normalized(q(header))} AS _secret FROM {relation})"
            )
    return None


SecretMode = Literal["distinct", "normalized"]


def source_sql(
    match: ProfileMatch,
    relation: str,
    hashes: str | None = None,
    *,
    numbered: bool = True,
    secret_mode: SecretMode = "distinct",
) -> str:
    """Select the mapped columns of `relation` (a read_csv(...) call) as src__<field>.

    A secret id (buyer id, phone) is hashed once per distinct value and joined back
    (`hashes`: a table of them, made by `secret_hashes_sql` or from the checking pass,
    else a CTE), so the warehouse never holds the raw value. "normalized" reads it
    normalised but unhashed, for the checking pass to collect the distinct values from:
    hashing 10M values where 1.25M are distinct cost 3.5 s of CPU per million rows.

    Rows are numbered as a spreadsheet shows them (the header is row 1) unless
    `numbered` is false: numbering makes DuckDB read the file on one thread.
    """
    columns = ["row_number() OVER () + 1 AS _row" if numbered else "NULL::BIGINT AS _row"]
    secret: str | None = None
    for f in match.profile.fields:
        header = match.columns.get(f.name)
        if header is None:
            continue
        if f.kind != "secret_id":
            columns.append(f"{q(header)} AS {q(SOURCE_PREFIX + f.name)}")
        elif secret_mode == "normalized":
            columns.append(f"{_secret_normalized(q(header))} AS {q(SOURCE_PREFIX + f.name)}")
        else:
            secret = SOURCE_PREFIX + f.name
            columns.append(f"{_secret_normalized(q(header))} AS _secret")
    rows = f"SELECT {', '.join(columns)} FROM {relation}"
    if secret is None:
        return rows
    if hashes is not None:
        return f"""
SELECT rows.* EXCLUDE (_secret), hashed._hash AS {q(secret)}
FROM ({rows}) AS rows LEFT JOIN {hashes} AS hashed ON hashed._secret = rows._secret
"""
    return f"""
WITH rows AS ({rows}),
hashed AS (
    SELECT _secret, rw_hmac(_secret) AS _hash FROM (SELECT DISTINCT _secret FROM rows)
)
SELECT rows.* EXCLUDE (_secret), hashed._hash AS {q(secret)}
FROM rows LEFT JOIN hashed ON hashed._secret = rows._secret
"""


def secret_fields(match: ProfileMatch) -> set[str]:
    """The mapped fields holding a buyer id or phone (read only to be hashed)."""
    return {
        f.name for f in match.profile.fields if f.kind == "secret_id" and f.name in match.columns
    }


def _secret_normalized_full(value: str) -> str:
    # Phones differ in spacing, dashes and a +86 prefix; the same buyer must hash alike.
    cleaned = f"nullif(regexp_replace({value}, '[\\s\\-\\x{{a0}}\\x{{3000}}]', '', 'g'), '')"
    return f"regexp_replace({cleaned}, '^(\\+?86)(1[0-9]{{10}})$', '\\2')"


def _secret_normalized(value: str) -> str:
    # Nearly every id needs none of that: nothing to strip, no +86/86 prefix to drop.
    clean = (
        f"NOT regexp_matches({value}, '[\\s\\-+\\x{{a0}}\\x{{3000}}]') "
        f"AND NOT (length({value}) = 13 AND prefix({value}, '86'))"
    )
    return f"CASE WHEN {clean} THEN nullif({value}, '') ELSE {_secret_normalized_full(value)} END"


# --- 2. normalising, typing, checking ----------------------------------------------------


# Each cleaner first tests, cheaply, whether a value is already clean (as nearly every value
# of a big export is) and only then builds a new string: sending every value through
# trim/replace/regexp_replace cost ~1 s per column per 10M rows. So each has a fast path
# (the value as it is) and the full cleaning (`_clean_*_full`, the definition of clean).
# The tests are exact: a value that passes comes out of the full cleaning unchanged;
# tests/transforms/test_staging_values.py::test_shortcuts_clean_exactly_as_the_full_cleaning
# runs both on the same tricky values.
_PLAIN_NUMBER = r"[+-]?[0-9]+(\.[0-9]+)?"
_PLAIN_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"

# Whitespace as the rules (and GX, in Python) understand it: every character Python's
# str.isspace() accepts, newlines, CR, NBSP and the full-width U+3000 among them. Excel
# cells typed with Alt+Enter end in a newline; Chinese text is padded with U+3000.
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_WIDE_WHITESPACE = tuple(ord(c) for c in WHITESPACE if ord(c) > 32)
# Placeholders start with `-`, `/` (ASCII punctuation, which `_edges` sends to the full
# cleaning anyway) or 无.
_WU = ord("无")
assert all(ord(p[0]) <= 47 or ord(p[0]) == _WU for p in PLACEHOLDERS)
assert all(ord(c) <= 32 or ord(c) in (133, 160, 5760, 12288) or 8192 <= ord(c) <= 8287
           for c in WHITESPACE)  # fmt: skip


def trim_sql(src: str) -> str:
    """trim() of every whitespace character, not only spaces (on the full path only)."""
    return f"trim({src}, {lit(WHITESPACE)})"


_trim = trim_sql


def _placeholder(value: str) -> str:
    return f"{value} IN ({', '.join(lit(p) for p in PLACEHOLDERS)})"


def _no_placeholder(value: str) -> str:
    """NULL for an empty value or a placeholder (`-`, `--`, `/`, `无`), else the value."""
    return f"CASE WHEN {_placeholder(value)} THEN NULL ELSE nullif({value}, '') END"


def _edges(src: str) -> str:
    """True when a value may need trimming or be a placeholder: its first character is
    whitespace, ASCII punctuation (`-`, `/`, Excel's `'` and `=`) or 无, or its last one is
    whitespace. Never for an empty value (ord('') is -1), which the fast path leaves NULL.

    One ord() per end, tested against ranges and short lists: a prefix/suffix test per
    whitespace character cost twice the old test per value, a regex four times, and each
    further look at the last character (s[-1] decodes UTF-8) as much again.
    """
    first = f"ord({src})"
    wide = ", ".join(str(c) for c in _WIDE_WHITESPACE if not 8192 <= c <= 8287)
    return (
        f"({first} BETWEEN 0 AND 47 OR {first} IN (61, {wide}, {_WU}) "
        f"OR {first} BETWEEN 8192 AND 8287 "
        f"OR ord(({src})[-1]) IN ({', '.join(str(ord(c)) for c in WHITESPACE)}))"
    )


def _untrimmed(src: str) -> str:
    # A tab anywhere (it becomes a space), whitespace at either end, or what may be a
    # placeholder: the full cleaning decides.
    return f"(contains({src}, chr(9)) OR {_edges(src)})"


def _clean_text_full(src: str) -> str:
    return _no_placeholder(_trim(f"replace({src}, chr(9), ' ')"))


def _cleaner(test: str, full: str, fast: str, plain: bool, dirty: str | None) -> str:
    """The shape of every cleaner: `full` where `test` says the value needs cleaning, the
    value as it is (`fast`) elsewhere. `plain`: the column is known to need no cleaning,
    so skip it; `dirty`: a column already holding `test`, so it is computed once."""
    if plain:
        return fast
    return f"CASE WHEN {dirty or test} THEN {full} ELSE {fast} END"


def _clean_text(src: str, plain: bool = False, dirty: str | None = None) -> str:
    return _cleaner(_untrimmed(src), _clean_text_full(src), f"nullif({src}, '')", plain, dirty)


def _clean_id_full(src: str) -> str:
    # Leading tabs (抖店's guard against Excel), then the rarer apostrophe and ="…" wrappers,
    # behind a cheap first-character test: a regex on every id cost 0.5 s per million.
    v = _trim(f"replace({src}, chr(9), '')")
    wrapped = f"left({v}, 1) IN ('=', '''')"
    unwrapped = f"regexp_replace({v}, '^=?\"?''?|\"$', '', 'g')"
    return _no_placeholder(_trim(f"CASE WHEN {wrapped} THEN {unwrapped} ELSE {v} END"))


def _dirty_id(src: str) -> str:
    return _untrimmed(src)


def _clean_id(src: str, plain: bool = False, dirty: str | None = None) -> str:
    return _cleaner(_dirty_id(src), _clean_id_full(src), f"nullif({src}, '')", plain, dirty)


def _clean_number_full(src: str) -> str:
    # Currency signs, thousands separators, 元 and whitespace go wherever they are; what is
    # left of a placeholder is NULL.
    stripped = f"regexp_replace({_trim(src)}, '[¥￥,，\\s\\x{{a0}}\\x{{3000}}元]', '', 'g')"
    return _no_placeholder(stripped)


def _dirty_number(src: str) -> str:
    return f"NOT regexp_full_match({src}, {lit(_PLAIN_NUMBER)})"


def _clean_number(src: str, plain: bool = False, dirty: str | None = None) -> str:
    return _cleaner(_dirty_number(src), _clean_number_full(src), src, plain, dirty)


def _dirty_timestamp(src: str) -> str:
    return f"NOT regexp_full_match({src}, {lit(_PLAIN_TIMESTAMP)})"


def _clean_timestamp(src: str, plain: bool = False, dirty: str | None = None) -> str:
    return _cleaner(_dirty_timestamp(src), _clean_timestamp_full(src), src, plain, dirty)


def _clean_timestamp_full(src: str) -> str:
    trimmed = _trim(src)
    t = f"regexp_replace(replace(replace({trimmed}, '/', '-'), 'T', ' '), '(\\.[0-9]+)?Z?$', '')"
    return (
        f"CASE WHEN {t} = '' OR {_placeholder(trimmed)} THEN NULL "
        f"WHEN regexp_matches({t}, '^[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}$') THEN {t} || ' 00:00:00' "
        f"WHEN regexp_matches({t}, ' [0-9]{{1,2}}:[0-9]{{2}}$') THEN {t} || ':00' "
        f"ELSE {t} END"
    )


Cleaning = Literal["id", "timestamp", "number", "text"]


def _cleaning(f: Field) -> Cleaning | None:
    """Which cleaner a field's values go through (None: a secret, normalised as it is read)."""
    if f.kind == "secret_id":
        return None
    if f.kind == "id":
        return "id"
    if f.kind == "timestamp":
        return "timestamp"
    if f.kind in ("int", "money"):
        return "number"
    return "text"  # text, enum and carrier fields, reasons


_DIRTY_TESTS: dict[Cleaning, Callable[[str], str]] = {
    "id": _dirty_id,
    "text": _untrimmed,
    "number": _dirty_number,
    "timestamp": _dirty_timestamp,
}


def _dirty_sql(cleaning: Cleaning, src: str) -> str:
    """True for a value its cleaner's fast path does not return as it is: the cleaner's
    own test (false, not null, for a null value, which both paths leave null)."""
    return f"coalesce({_DIRTY_TESTS[cleaning](src)}, false)"


def plain_candidates(match: ProfileMatch) -> list[str]:
    """The fields of a file `dirty_mask_sql` tests, in bit order: those a rule looks at.

    The checking pass cleans those anyway, so telling whether they needed it is nearly
    free; testing the other columns too cost as much as the load then saved.
    """
    checked = {c.removesuffix("__text") for c in rule_columns(match.profile.kind)}
    return [
        f.name
        for f in match.profile.fields
        if f.name in match.columns and f.name in checked and _cleaning(f) is not None
    ]


DIRTY_PREFIX = "_d_"


def dirty_tests_sql(match: ProfileMatch) -> list[str]:
    """Each of `plain_candidates`' `_dirty_sql` test as `_d_<field>`, computed once for
    both its cleaner (`normalized_columns(..., tested=)`) and `dirty_mask_sql`."""
    return [
        f"{_dirty_sql(_cleaning(match.profile.field(name)), q(SOURCE_PREFIX + name))} "  # type: ignore[arg-type, union-attr]
        f"AS {q(DIRTY_PREFIX + name)}"
        for name in plain_candidates(match)
    ]


def dirty_mask_sql(match: ProfileMatch) -> str:
    """A UBIGINT per source row, bit i set when the value of `plain_candidates(match)[i]`
    needs more than its cleaner's fast path; over a relation with `dirty_tests_sql`.

    A column whose bit no valid row sets is *plain*: the load then reads it without its
    cleaner (`normalized_columns(..., plain=)`), which gives the same values for less: a
    big export's columns are nearly always plain, and cleaning them all again as the rows
    are written cost 3.6 CPU seconds per 10M lines.
    """
    fields = plain_candidates(match)
    if len(fields) > 64:
        raise ValueError(f"{match.profile.name}: more than 64 cleaned columns for the mask")
    bits = [f"({q(DIRTY_PREFIX + name)}::UBIGINT << {i})" for i, name in enumerate(fields)]
    return " | ".join(bits) if bits else "0::UBIGINT"


def _carrier(src: str, plain: bool = False, dirty: str | None = None) -> str:
    # 快递信息: "YT1234567890-圆通速递,商品名…": the carrier follows the tracking number.
    first = f"split_part({_clean_text(src, plain, dirty)}, ',', 1)"
    return f"nullif(trim(CASE WHEN contains({first}, '-') THEN regexp_extract({first}, '-([^-]+)$', 1) ELSE {first} END), '')"


def _enum(f: Field, src: str, plain: bool = False, dirty: str | None = None) -> str:
    text = _clean_text(src, plain, dirty)
    whens = [f"WHEN {lit(k)} THEN {lit(v)}" for k, v in f.value_map.items()]
    fallback = [f"WHEN contains({text}, {lit(k)}) THEN {lit(v)}" for k, v in f.fallback]
    if f.otherwise is None:
        otherwise = text
    else:
        otherwise = lit(f.otherwise) if f.otherwise != NO_VALUE else "NULL::VARCHAR"
    inner = f"CASE {' '.join(fallback)} ELSE {otherwise} END" if fallback else otherwise
    mapped = f"CASE {text} {' '.join(whens)} ELSE {inner} END" if whens else inner
    return f"CASE WHEN {text} IS NULL THEN NULL ELSE {mapped} END"


UNKNOWN_PREFIX = "_unknown__"


def label_column(profile: Profile, name: str) -> str:
    """The staged column holding field `name`'s cleaned label as the file wrote it."""
    return name + "_raw" if canonical_kind(profile.kind, name) == "enum" else name


def unknown_label_sql(f: Field, label: str) -> str:
    """The label in `label` (a cleaned label column) when returnwatch does not recognise
    it, else NULL; the same decision as `profiles.classify`."""
    known = [f"{label} IN ({', '.join(lit(k) for k in f.value_map)})"] if f.value_map else []
    if f.kind == "enum" and f.fallback_known:
        known += [f"contains({label}, {lit(word)})" for word, _ in f.fallback]
    if f.kind != "enum" and f.known:
        known.append(f"{label} IN ({', '.join(lit(k) for k in f.known)})")
    return f"CASE WHEN {' OR '.join([f'{label} IS NULL', *known])} THEN NULL ELSE {label} END"


def unknown_columns(match: ProfileMatch) -> list[str]:
    """`_unknown__<field>` for each watched field of the file (`Field.watched`): NULL where
    the label is recognised, so counting the others is a cheap scan of mostly NULLs."""
    profile = match.profile
    return [
        f"{unknown_label_sql(f, q(label_column(profile, f.name)))} AS {q(UNKNOWN_PREFIX + f.name)}"
        for f in profile.fields
        if f.watched and f.name in match.columns
    ]


def _scrub_phones(expr: str) -> str:
    # A buyer's own words sometimes include a phone number; it must not land.
    return f"regexp_replace({expr}, '{PHONE_REGEX}', '***********', 'g')"


def normalized_columns(
    profile: Profile,
    present: set[str],
    plain: frozenset[str] = frozenset(),
    tested: frozenset[str] = frozenset(),
) -> list[str]:
    """The columns the rules see: normalised text, plus typed numbers for int/money.

    Fields in `plain` are known to need no cleaning (`dirty_mask_sql`) and skip it.
    Fields in `tested` have their `_dirty_sql` test in the relation, as `_d_<field>`.
    """
    exprs = []
    for name in TABLE_FIELDS[profile.kind]:
        f = profile.field(name)
        src = q(SOURCE_PREFIX + name)
        p = name in plain
        d = q(DIRTY_PREFIX + name) if name in tested else None
        if f is None or name not in present:
            # Numbers get their typed column from typed_columns(), NULL from NULL text.
            absent = name + "__text" if _numeric(name, profile) else name
            exprs.append(f"NULL::VARCHAR AS {q(absent)}")
            if canonical_kind(profile.kind, name) == "enum":
                exprs.append(f"NULL::VARCHAR AS {q(name + '_raw')}")
            continue
        if name == "sku_id" and profile.sku_rule is not None:
            exprs.append(f"{_composed_sku(profile, present, _clean_id(src, p, d))} AS {q(name)}")
        elif f.kind in ("id",):
            exprs.append(f"{_clean_id(src, p, d)} AS {q(name)}")
        elif f.kind == "secret_id":
            exprs.append(f"{src} AS {q(name)}")
        elif f.kind == "timestamp":
            exprs.append(f"{_clean_timestamp(src, p, d)} AS {q(name)}")
        elif f.kind == "enum":
            exprs.append(f"{_enum(f, src, p, d)} AS {q(name)}")
            exprs.append(f"{_clean_text(src, p, d)} AS {q(name + '_raw')}")
        elif f.kind == "carrier":
            exprs.append(f"{_carrier(src, p, d)} AS {q(name)}")
        elif f.kind in ("int", "money"):
            exprs.append(f"{_clean_number(src, p, d)} AS {q(name + '__text')}")
        elif name in ("reason", "reason_detail"):
            exprs.append(f"{_scrub_phones(_clean_text(src, p, d))} AS {q(name)}")
        else:
            exprs.append(f"{_clean_text(src, p, d)} AS {q(name)}")
    return exprs


# The spec part of an item text (选购商品), in order of trust: the contents of a trailing
# bracket (`…【白色 L】`, `…(白色;L)`), else everything after the first whitespace run
# (`纯棉短袖T恤 白色 L` → `白色 L`), else nothing. See docs/formats.md ("SKU of an export").
_SPEC_SPACES = " \u3000\u00a0\t\n\r\f"
_CLOSERS = "】])）}"
_TRAILING_BRACKET = r"[【\[(（{]([^】\])）}]+)[】\])）}]$"
_AFTER_FIRST_SPACE = r"^[^\s\x{3000}\x{a0}]+[\s\x{3000}\x{a0}]+((?s).+)$"


def spec_full_sql(title: str) -> str:
    """The spec rule as regular expressions: its definition, and the path of titles
    ending in a closing bracket."""
    bracket = f"regexp_extract({title}, {lit(_TRAILING_BRACKET)}, 1)"
    spaced = f"regexp_extract({title}, {lit(_AFTER_FIRST_SPACE)}, 1)"
    return f"nullif(trim(coalesce(nullif({bracket}, ''), {spaced}), {lit(_SPEC_SPACES)}), '')"


def spec_sql(title: str) -> str:
    """The spec part of a cleaned item text `title`, NULL when it has none.

    Titles without a closing bracket at the end (nearly all) take the text after the
    first whitespace character by strpos: the regular expressions cost ~1 s per million
    titles, this a fifth of it. tests/transforms/test_staging_values.py checks both
    paths give `spec_full_sql`'s answer.
    """
    first_space = (
        "least(" + ", ".join(f"nullif(strpos({title}, {lit(c)}), 0)" for c in _SPEC_SPACES) + ")"
    )
    spaced = f"nullif(trim(substr({title}, {first_space} + 1), {lit(_SPEC_SPACES)}), '')"
    closers = ", ".join(lit(c) for c in _CLOSERS)
    return (
        f"CASE WHEN right({title}, 1) IN ({closers}) THEN {spec_full_sql(title)} ELSE {spaced} END"
    )


def _composed_sku(profile: Profile, present: set[str], product: str) -> str:
    """`sku_id` of a format without a SKU id (`Profile.sku_rule`): the merchant code, else
    product id + separator + spec, else the product id; set-based, one expression."""
    rule = profile.sku_rule
    assert rule is not None
    parts = []
    if rule.code in present:
        parts.append(_clean_id(q(SOURCE_PREFIX + rule.code)))
    if rule.title in present:
        spec = spec_sql(_clean_text(q(SOURCE_PREFIX + rule.title)))
        parts.append(f"{product} || {lit(SKU_SEPARATOR)} || {spec}")
    return f"coalesce({', '.join([*parts, product])})"


def _numeric(name: str, profile: Profile) -> bool:
    return canonical_kind(profile.kind, name) in ("int", "money")


def typed_columns(profile: Profile) -> list[str]:
    """Numbers from their checked text; NULL where the text is not a number (a rule says so)."""
    exprs = []
    for name in TABLE_FIELDS[profile.kind]:
        if not _numeric(name, profile):
            continue
        text = q(name + "__text")
        if name == "quantity":
            exprs.append(
                f"CASE WHEN regexp_matches({text}, {lit(re2(INTEGER_REGEX))}) "
                f"THEN try_cast(try_cast({text} AS DOUBLE) AS BIGINT) END AS {q(name)}"
            )
        else:
            exprs.append(
                f"CASE WHEN regexp_matches({text}, {lit(re2(NUMBER_REGEX))}) "
                f"THEN try_cast({text} AS DECIMAL(18, 2)) END AS {q(name)}"
            )
    return exprs


def unique_key(match: ProfileMatch) -> str | None:
    """The table's one uniqueness column when the file has it as an id, else None."""
    unique = [r.column for r in RULES[match.profile.kind] if r.expectation.endswith("_be_unique")]
    if len(unique) != 1 or unique[0] not in match.columns:
        return None
    f = match.profile.field(unique[0])
    return unique[0] if f is not None and f.kind == "id" else None


def repeated_keys_sql(match: ProfileMatch, source_table: str) -> str | None:
    """The normalised ids occurring more than once in the staged rows (`_null`, `_k`), for
    `checked_sql(..., repeated_keys=)`; None when the file has no uniqueness id."""
    key = unique_key(match)
    if key is None:
        return None
    clean = _clean_id(q(SOURCE_PREFIX + key))
    return f"""
SELECT _key IS NULL AS _null, coalesce(_key, '') AS _k
FROM (SELECT {clean} AS _key FROM {source_table})
GROUP BY ALL HAVING count(*) > 1
"""


def checked_sql(
    match: ProfileMatch,
    source_table: str,
    default_shop: str,
    *,
    repeated_keys: str | None = None,
    any_repeated: bool = True,
    read_secret: bool = True,
    dirty_mask: bool = False,
) -> str:
    """One row per distinct source row: canonical values, `_violations`, `_copies`, and
    for rows breaking a rule `_raw_row`, their source values.

    `any_repeated=False` says the caller knows no id repeats: every row is then distinct
    as it is and the statement streams. `read_secret=False` for a source without its
    secret column (the quarantine JSON, which never holds it). `dirty_mask` adds
    `_dirty`, which of the row's values needed cleaning (`dirty_mask_sql`).
    """
    profile = match.profile
    present = set(match.columns)
    if not read_secret:
        present -= secret_fields(match)
    src_cols = [q(SOURCE_PREFIX + f.name) for f in profile.fields if f.name in present]
    rules = RULES[profile.kind]
    unique_cols = [r.column for r in rules if r.expectation == "expect_column_values_to_be_unique"]
    violations = ", ".join(
        f"CASE WHEN {rule.violation_sql()} THEN {lit(rule.name)} END" for rule in rules
    )
    # A plain OR of the predicates decides; the list is only built for the rows breaking
    # one (building and filtering a list on every row cost ~0.5 s per million).
    any_broken = " OR ".join(f"coalesce({rule.violation_sql()}, false)" for rule in rules)
    key = unique_key(match)
    if key is not None:
        distinct = _distinct_by_key_sql(
            src_cols, key, _clean_id(q(SOURCE_PREFIX + key)), repeated_keys, any_repeated
        )
        repeated: list[str] = []
        repeat_counts = [q(unique_count_column(key))]
        carried = f"normalized.* EXCLUDE ({q(unique_count_column(key))})"
        counted = f", {q(unique_count_column(key))}"
    else:
        distinct = f"""distinct_rows AS (
    SELECT min(_row) AS _row, count(*) AS _copies, {", ".join(src_cols)}
    FROM source
    GROUP BY ALL
)"""
        repeated = [
            f"""LEFT JOIN (
    SELECT {q(c)} AS _value, count(*) AS {q(unique_count_column(c))}
    FROM normalized GROUP BY {q(c)} HAVING count(*) > 1
) AS {q("_dup_" + c)} ON {q("_dup_" + c)}._value = normalized.{q(c)}"""
            for c in unique_cols
        ]
        repeat_counts = [
            f"coalesce({q(unique_count_column(c))}, 1) AS {q(unique_count_column(c))}"
            for c in unique_cols
        ]
        carried = "normalized.*"
        counted = ""
    dirty = f", {dirty_mask_sql(match)} AS _dirty" if dirty_mask else ""
    unknowns = "".join(f",\n        {c}" for c in unknown_columns(match))
    tests = dirty_tests_sql(match) if dirty_mask else []
    tested_fields = frozenset(plain_candidates(match) if dirty_mask else [])
    tested = f"tested AS (SELECT *, {', '.join(tests)} FROM distinct_rows),\n" if tests else ""
    return f"""
WITH source AS (
    SELECT * FROM {source_table}
),
{distinct},
{tested}normalized AS (
    SELECT _row, _copies, {", ".join(src_cols)}, {", ".join(normalized_columns(profile, present, tested=tested_fields))}{counted}{dirty}
    FROM {"tested" if tests else "distinct_rows"}
),
typed AS (
    SELECT {carried}, {", ".join(typed_columns(profile) + repeat_counts)}
    FROM normalized
    {" ".join(repeated)}
),
final AS (
    SELECT
        * REPLACE (coalesce({q("shop_id")}, {lit(default_shop)}) AS {q("shop_id")}),
        CASE WHEN {any_broken}
             THEN list_filter([{violations}], lambda x: x IS NOT NULL)
             ELSE []::VARCHAR[] END AS _violations{unknowns}
    FROM typed
)
SELECT * EXCLUDE ({", ".join(src_cols)}),
       CASE WHEN len(_violations) > 0 THEN {raw_row_sql(match)} END AS _raw_row
FROM final
"""


def loadable_sql(
    match: ProfileMatch, source_table: str, default_shop: str, plain: frozenset[str]
) -> str:
    """The canonical columns of source rows already checked (`flags_sql`), for the load.

    No rule is evaluated again and the `plain` fields are not cleaned again: the checking
    pass did both, and the load only leaves out the rows it found breaking a rule. Same
    values as `checked_sql`, for ~25% less CPU per row written.
    """
    profile = match.profile
    normalized = normalized_columns(profile, set(match.columns), plain)
    return f"""
SELECT * REPLACE (coalesce({q("shop_id")}, {lit(default_shop)}) AS {q("shop_id")})
FROM (
    SELECT normalized.*, {", ".join(typed_columns(profile))}
    FROM (SELECT {", ".join(normalized)} FROM {source_table}) AS normalized
)
"""


def raw_row_sql(match: ProfileMatch) -> str:
    """A row's mapped source values as JSON keyed by the file's headers (for quarantine).

    Only rows breaking a rule keep it: the staged table then carries the canonical
    columns alone, half the width of carrying every source column beside them.
    """
    secrets = secret_fields(match)
    pairs = ", ".join(
        f"{lit(header)}, {q(SOURCE_PREFIX + name)}"
        for name, header in _one_field_per_header(match).items()
        if name not in secrets  # a hash helps nobody fix a row
    )
    return f"json_object({pairs})"


def _one_field_per_header(match: ProfileMatch) -> dict[str, str]:
    """match.columns with each header once: 商品ID feeds both sku_id and product_id, and a
    JSON object must not name a key twice (reading it back fills both fields)."""
    seen: set[str] = set()
    kept = {}
    for name, header in match.columns.items():
        if header not in seen:
            seen.add(header)
            kept[name] = header
    return kept


def flags_sql(match: ProfileMatch, checked: str, *, keep_key: bool = False) -> str:
    """The checking pass of a file loaded straight from its source: one narrow row per
    source row with a hash of its id (`_kh`), which rule columns are empty (`_nulls`, bit
    i for `rule_columns(kind)[i]`), its normalised buyer id or phone when the file has
    one (`_secret`: the distinct values are hashed from it, then it is dropped), which
    values needed cleaning (`_dirty`) and, only for a row breaking a rule, its source
    values (`_raw`, the JSON the quarantine keeps, from which `raw_source_sql` reads it
    again).

    `checked` is `checked_sql(..., dirty_mask=True)` over an unnumbered source. Created
    as a table, the rows keep the file's order, so `rowid + 2` is the spreadsheet row:
    numbering them in SQL (row_number() OVER ()) made DuckDB check them on one thread.
    The valid rows are not kept: the load reads them from the file again, in parallel,
    as it writes them. `keep_key` also keeps the id itself (`_key`), for the range of
    ids the file holds.
    """
    key = unique_key(match)
    if key is None:
        raise ValueError(f"{match.profile.name}: no id column to check uniqueness on")
    columns = rule_columns(match.profile.kind)
    if len(columns) > 32:
        raise ValueError(f"{match.profile.kind}: more than 32 rule columns for the null mask")
    nulls = " | ".join(f"(({q(c)} IS NULL)::UINTEGER << {i})" for i, c in enumerate(columns))
    secret = [f"{q(name)} AS _secret" for name in sorted(secret_fields(match))]
    unknown = [q(UNKNOWN_PREFIX + f.name) for f in match.profile.fields
               if f.watched and f.name in match.columns]  # fmt: skip
    columns_ = [
        f"hash({q(key)}) AS _kh",
        f"{nulls} AS _nulls",
        "_dirty",
        *secret,
        *unknown,
        "_raw_row AS _raw",
        *([f"{q(key)} AS _key"] if keep_key else []),
    ]
    return f"SELECT {', '.join(columns_)} FROM ({checked})"


def raw_source_sql(match: ProfileMatch, flags: str) -> str:
    """The rows `flags_sql` found breaking a rule, as a source for `checked_sql`: numbered
    by their place in the file, their values read back from their quarantine JSON."""
    secrets = secret_fields(match)
    columns = ["rowid + 2 AS _row"] + [
        f"json_extract_string(_raw, {lit(json_path(header))}) AS {q(SOURCE_PREFIX + name)}"
        for name, header in match.columns.items()
        if name not in secrets
    ]
    return f"SELECT {', '.join(columns)} FROM {flags} WHERE _raw IS NOT NULL"


def json_path(key: str) -> str:
    """A JSON path selecting one object key, whatever characters the header has."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _distinct_by_key_sql(
    src_cols: list[str],
    key: str,
    clean_key: str,
    repeated_keys: str | None = None,
    any_repeated: bool = True,
) -> str:
    """`distinct_rows` (with the key's repeat count) without grouping every row by every column.

    Exact duplicates share their id, and so do rows breaking the uniqueness rule, so only
    rows whose normalised id repeats are grouped by all their columns; the rest (nearly
    all) are distinct as they are, their id occurring once. Grouping 10M rows by a dozen
    text columns spilled to disk under the memory limit and cost most of an import. NULL
    ids group together (as GROUP BY ALL grouped them) but never count as repeats.
    """
    count = q(unique_count_column(key))
    cols = ", ".join(src_cols)
    if not any_repeated:
        # Every id occurs once (`repeated_keys` is empty, or the caller checked): every
        # row is distinct as it is, and the rows stream from the source without a join.
        return f"""distinct_rows AS (
    SELECT _row, 1::BIGINT AS _copies, {cols}, 1::BIGINT AS {count} FROM source
)"""
    if repeated_keys is not None:
        repeated = f"""repeated_keys AS (
    SELECT * FROM {repeated_keys}
)"""
    else:
        repeated = """repeated_keys AS (
    SELECT _key IS NULL AS _null, coalesce(_key, '') AS _k
    FROM keyed GROUP BY ALL HAVING count(*) > 1
)"""
    return f"""keyed AS (
    SELECT *, {clean_key} AS _key FROM source
),
{repeated},
singles AS (
    SELECT _row, 1::BIGINT AS _copies, {cols}, 1::BIGINT AS {count}
    FROM keyed ANTI JOIN repeated_keys AS r
      ON r._null = (keyed._key IS NULL) AND r._k = coalesce(keyed._key, '')
),
repeated_rows AS (
    SELECT min(_row) AS _row, count(*) AS _copies, {cols}, any_value(_key) AS _key
    FROM keyed SEMI JOIN repeated_keys AS r
      ON r._null = (keyed._key IS NULL) AND r._k = coalesce(keyed._key, '')
    GROUP BY ALL
),
distinct_rows AS (
    SELECT * FROM singles
    UNION ALL
    SELECT _row, _copies, {cols},
           CASE WHEN _key IS NULL THEN 1 ELSE count(*) OVER (PARTITION BY _key) END
    FROM repeated_rows
)"""


def key_column(profile: Profile) -> str:
    return TABLE_KEYS[profile.kind]


def load_value_sql(profile: Profile, name: str) -> str:
    """The expression that writes canonical field `name` into its warehouse column."""
    if canonical_kind(profile.kind, name) == "timestamp":
        return f"try_strptime({q(name)}, {lit(TIMESTAMP_FORMAT)})"
    return q(name)
