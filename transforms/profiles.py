"""Export formats as data: one profile per format maps its header names to canonical fields.

Everything returnwatch knows about a platform's export lives here, so supporting a new
platform (or a new 抖店 export version) means adding or extending a profile, not code.
Profiles are matched on header names, never on column positions or file names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

FieldKind = Literal["id", "text", "int", "money", "timestamp", "enum", "carrier", "secret_id"]
TableKind = Literal["orders", "refunds"]

REFUND_TYPES = ("return_refund", "refund_only", "exchange", "other")
REFUND_STATUSES = ("requested", "in_progress", "completed", "rejected", "cancelled", "closed")


@dataclass(frozen=True)
class Field:
    """How one canonical field is read from a format's columns.

    `headers` lists the names the column has carried across export versions; the first
    one present in a file wins. `value_map` translates platform labels to canonical
    values; `fallback` maps labels by substring when no exact entry exists, and
    `otherwise` is the value for labels nothing matched (None: keep the label, so the
    validation rule for the field reports it as unknown).
    """

    name: str
    headers: tuple[str, ...]
    kind: FieldKind = "text"
    required: bool = False
    value_map: Mapping[str, str] = field(default_factory=dict)
    fallback: tuple[tuple[str, str], ...] = ()
    otherwise: str | None = None


@dataclass(frozen=True)
class Profile:
    """One export format: how to recognise it and how to read each canonical field."""

    name: str
    label: str
    kind: TableKind
    signature: tuple[str, ...]
    fields: tuple[Field, ...]
    # Columns never read, not even into staging: buyer names, phones, addresses and
    # free-text notes that carry them. A `secret_id` field may read one to hash it.
    personal_columns: tuple[str, ...] = ()

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


# --- canonical CSV ---------------------------------------------------------------------

_CANONICAL_REFUND_TYPES = {value: value for value in REFUND_TYPES}
_CANONICAL_STATUSES = {value: value for value in REFUND_STATUSES}

CANONICAL_ORDERS = Profile(
    name="canonical_orders",
    label="canonical orders CSV",
    kind="orders",
    signature=("order_id", "line_id", "paid_at"),
    fields=(
        Field("shop_id", ("shop_id",), "id"),
        Field("order_id", ("order_id",), "id", required=True),
        Field("line_id", ("line_id",), "id", required=True),
        Field("sku_id", ("sku_id",), "id", required=True),
        Field("product_name", ("product_name",)),
        Field("quantity", ("quantity",), "int"),
        Field("unit_price", ("unit_price",), "money"),
        Field("amount", ("amount",), "money"),
        Field("paid_at", ("paid_at",), "timestamp", required=True),
        Field("province", ("province",)),
        Field("city", ("city",)),
        Field("carrier", ("carrier",)),
        Field("customer_id", ("customer_id",), "secret_id"),
        Field("order_status", ("order_status",)),
        # Optional (issue 17): the SKU's product, and its category.
        Field("product_id", ("product_id",), "id"),
        Field("category", ("category",)),
    ),
)

CANONICAL_REFUNDS = Profile(
    name="canonical_refunds",
    label="canonical refunds CSV",
    kind="refunds",
    signature=("refund_id", "requested_at"),
    fields=(
        Field("shop_id", ("shop_id",), "id"),
        Field("refund_id", ("refund_id",), "id", required=True),
        Field("order_id", ("order_id",), "id", required=True),
        Field("line_id", ("line_id",), "id"),
        Field("sku_id", ("sku_id",), "id", required=True),
        Field("product_name", ("product_name",)),
        Field(
            "refund_type",
            ("refund_type",),
            "enum",
            required=True,
            value_map=_CANONICAL_REFUND_TYPES,
        ),
        Field("reason", ("reason",)),
        Field("reason_detail", ("reason_detail",)),
        Field("status", ("status",), "enum", value_map=_CANONICAL_STATUSES),
        Field("requested_at", ("requested_at",), "timestamp", required=True),
        Field("approved_at", ("approved_at",), "timestamp"),
        Field("completed_at", ("completed_at",), "timestamp"),
        Field("refund_amount", ("refund_amount",), "money"),
        Field("quantity", ("quantity",), "int"),
        Field("province", ("province",)),
        Field("carrier", ("carrier",)),
        Field("return_carrier", ("return_carrier",)),
        Field("arbitration_status", ("arbitration_status",)),
        # Optional (issue 17): the SKU's product.
        Field("product_id", ("product_id",), "id"),
    ),
)

# --- 抖店 backend exports ----------------------------------------------------------------

DOUDIAN_REFUND_TYPE_MAP = {
    "退货退款": "return_refund",
    "已发货仅退款": "refund_only",
    "未发货仅退款": "refund_only",
    "仅退款": "refund_only",
    "换货": "exchange",
}

DOUDIAN_STATUS_MAP = {
    "待商家同意": "requested",
    "待商家处理": "requested",
    "待买家退货": "in_progress",
    "待商家收货": "in_progress",
    "待商家发货": "in_progress",
    "待商家二次同意": "in_progress",
    "待买家收货": "in_progress",
    "同意退款，退款成功": "completed",
    "同意退款,退款成功": "completed",
    "退款成功": "completed",
    "售后成功": "completed",
    "换货成功": "completed",
    "售后关闭": "closed",
    "商家拒绝": "rejected",
    "商家一次拒绝": "rejected",
    "商家二次拒绝": "rejected",
    "售后失败": "rejected",
    "买家取消": "cancelled",
    "售后撤销": "cancelled",
    "已撤销": "cancelled",
}

# Label fragments that decide a status the map has not seen yet (order matters).
DOUDIAN_STATUS_KEYWORDS = (
    ("成功", "completed"),
    ("关闭", "closed"),
    ("拒绝", "rejected"),
    ("失败", "rejected"),
    ("取消", "cancelled"),
    ("撤销", "cancelled"),
    ("待", "in_progress"),
)

DOUDIAN_ORDERS = Profile(
    name="doudian_orders",
    label="抖店 订单 export",
    kind="orders",
    signature=("子订单编号", "支付完成时间"),
    fields=(
        Field("order_id", ("主订单编号", "订单编号"), "id", required=True),
        Field("line_id", ("子订单编号",), "id", required=True),
        Field("sku_id", ("商品ID", "商品id"), "id", required=True),
        Field("product_name", ("选购商品", "商品名称")),
        Field("quantity", ("商品数量",), "int"),
        Field("unit_price", ("商品金额",), "money"),
        Field("amount", ("订单应付金额",), "money"),
        Field("paid_at", ("支付完成时间",), "timestamp", required=True),
        Field("province", ("省", "收货省份")),
        Field("city", ("市", "收货城市")),
        Field("carrier", ("快递信息",), "carrier"),
        Field("customer_id", ("收件人手机号",), "secret_id"),
        Field("order_status", ("订单状态",)),
    ),
    personal_columns=("收件人", "收件人手机号", "详细地址", "街道", "买家留言", "商家备注"),
)

DOUDIAN_REFUNDS = Profile(
    name="doudian_refunds",
    label="抖店 售后 export",
    kind="refunds",
    signature=("售后单号", "售后申请时间"),
    fields=(
        Field("refund_id", ("售后单号",), "id", required=True),
        Field("order_id", ("订单号", "主订单编号"), "id", required=True),
        Field("line_id", ("商品单号", "子订单编号"), "id"),
        Field("sku_id", ("商品ID", "商品id"), "id", required=True),
        Field("product_name", ("商品名称",)),
        Field(
            "refund_type",
            ("售后类型",),
            "enum",
            required=True,
            value_map=DOUDIAN_REFUND_TYPE_MAP,
            otherwise="other",
        ),
        Field(
            "status",
            ("售后状态",),
            "enum",
            value_map=DOUDIAN_STATUS_MAP,
            fallback=DOUDIAN_STATUS_KEYWORDS,
        ),
        Field("requested_at", ("售后申请时间",), "timestamp", required=True),
        Field("approved_at", ("同意售后申请时间",), "timestamp"),
        Field("completed_at", ("售后完结时间",), "timestamp"),
        Field("refund_amount", ("退商品金额（元）", "退商品金额"), "money"),
        Field("quantity", ("售后数量", "退货数量"), "int"),
        Field("reason", ("售后原因",)),
        Field("reason_detail", ("用户售后说明",)),
        Field("return_carrier", ("退货物流公司",)),
        Field("arbitration_status", ("仲裁状态",)),
    ),
    personal_columns=(
        "商家退货联系人姓名",
        "商家退货联系人电话",
        "商家退货地址",
        "协商记录",
        "收件人",
        "收件人手机号",
        "详细地址",
    ),
)

PROFILES: tuple[Profile, ...] = (
    CANONICAL_ORDERS,
    CANONICAL_REFUNDS,
    DOUDIAN_ORDERS,
    DOUDIAN_REFUNDS,
)

CANONICAL: dict[str, Profile] = {"orders": CANONICAL_ORDERS, "refunds": CANONICAL_REFUNDS}

# Canonical field lists of each warehouse table, in the order the loader writes them.
TABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": tuple(f.name for f in CANONICAL_ORDERS.fields),
    "refunds": tuple(f.name for f in CANONICAL_REFUNDS.fields),
}
# What the loader writes: the canonical fields plus each enum's label as the file had it.
LOADED_FIELDS: dict[str, tuple[str, ...]] = {
    kind: fields + tuple(f"{f.name}_raw" for f in CANONICAL[kind].fields if f.kind == "enum")
    for kind, fields in TABLE_FIELDS.items()
}
TABLE_KEYS: dict[str, str] = {"orders": "line_id", "refunds": "refund_id"}


def canonical_kind(table: TableKind, name: str) -> FieldKind:
    """How a canonical field is typed in the warehouse, whatever format it came from."""
    f = CANONICAL[table].field(name)
    return f.kind if f is not None else "text"


def normalize_header(name: str) -> str:
    """Header names as compared: no BOM, tabs or padding; ASCII parentheses; lower case.

    Export versions differ in exactly these ways (`退商品金额(元)` vs `退商品金额（元）`).
    """
    name = name.replace("\ufeff", "").replace("\t", "").strip()
    name = name.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", " ", name).lower()


@dataclass(frozen=True)
class ProfileMatch:
    """A profile resolved against one file's header: which column feeds which field."""

    profile: Profile
    columns: Mapping[str, str]  # canonical field -> the file's header name
    missing_required: tuple[str, ...]  # header names (first alias) of required fields absent

    @property
    def complete(self) -> bool:
        return not self.missing_required


def match_profile(header: Iterable[str], profiles: Iterable[Profile] = PROFILES) -> ProfileMatch:
    """The profile whose signature the header carries, resolved to the file's columns.

    Raises UnknownFormat when no signature matches, naming the closest profile and the
    columns it lacks, so the user learns what the file would need.
    """
    header = list(header)
    by_norm = {normalize_header(h): h for h in header}
    best: tuple[int, Profile] | None = None
    for profile in profiles:
        present = sum(normalize_header(s) in by_norm for s in profile.signature)
        if present == len(profile.signature):
            return _resolve(profile, by_norm)
        if best is None or present > best[0]:
            best = (present, profile)
    closest = best[1] if best else None
    raise UnknownFormat(header, closest, by_norm)


def _resolve(profile: Profile, by_norm: Mapping[str, str]) -> ProfileMatch:
    columns: dict[str, str] = {}
    missing: list[str] = []
    for f in profile.fields:
        found = next((by_norm[n] for n in map(normalize_header, f.headers) if n in by_norm), None)
        if found is not None:
            columns[f.name] = found
        elif f.required:
            missing.append(f.headers[0])
    return ProfileMatch(profile, columns, tuple(missing))


class UnknownFormat(ValueError):
    """A header no profile recognises."""

    def __init__(self, header: list[str], closest: Profile | None, by_norm: Mapping[str, str]):
        self.header = header
        self.closest = closest
        if closest is not None:
            lacking = [s for s in closest.signature if normalize_header(s) not in by_norm]
            hint = (
                f"closest format: {closest.label} ({closest.name}), which needs columns {lacking}"
            )
        else:
            hint = "no known format is close"
        known = ", ".join(f"{p.label} ({'/'.join(p.signature)})" for p in PROFILES)
        super().__init__(f"header matches no known export format; {hint}. Known formats: {known}")
