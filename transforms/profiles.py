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
# What real exports write where a value is absent (an amount, a time, an arbitration):
# read as empty, so a nullable column loads NULL and a required one names the placeholder.
PLACEHOLDERS = ("-", "--", "/", "无")


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
    fallback_known: bool = False
    known: tuple[str, ...] = ()

    @property
    def watched(self) -> bool:
        """Whether the labels of this field are checked against what returnwatch knows."""
        if self.kind == "enum":
            return bool(self.value_map or self.fallback)
        return bool(self.known)


# `Field.otherwise` for "load NULL" (the label itself stays in the field's `_raw` column).
NO_VALUE = ""


def classify(f: Field, label: str | None) -> tuple[str | None, bool]:
    """A cleaned label's canonical value and whether it is recognised, as staging maps it.

    The API source maps its labels through this too, so a refund means the same whichever
    way it arrived.
    """
    if label is None:
        return None, True
    if label in f.value_map:
        return f.value_map[label], True
    if f.kind != "enum":
        return label, not f.known or label in f.known
    for word, value in f.fallback:
        if word in label:
            return value, f.fallback_known
    if f.otherwise is None:
        return label, False
    return f.otherwise or None, False


@dataclass(frozen=True)
class SkuRule:
    """How a format without a SKU id column names a line's SKU (issue 17).

    The SKU is the merchant's code (`code`, 商家编码) when the row has one; else the
    product id (the field mapped as `sku_id`, 商品ID) joined by `SKU_SEPARATOR` to the
    spec part of the item text (`title`, 选购商品 / 商品名称: see `transforms.staging.spec_sql`
    for the rule); else, with no spec to tell, the product id alone (product = SKU).
    """

    code: str
    title: str


SKU_SEPARATOR = "|"


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
    # Formats without a SKU id column compose `sku_id` from other fields (SkuRule).
    sku_rule: SkuRule | None = None

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

# 售后类型: the labels seen in 售后 exports (the 售后工作台 export among them writes 已发货退款 /
# 未发货退款), the API's aftersale_type texts and the 售后 messages' wording (售后退货退款,
# 售后仅退款, 发货前退款). Sources in docs/formats.md.
DOUDIAN_REFUND_TYPE_MAP = {
    "退货退款": "return_refund",
    "售后退货退款": "return_refund",
    "退货": "return_refund",
    "已发货仅退款": "refund_only",
    "未发货仅退款": "refund_only",
    "已发货退款": "refund_only",
    "未发货退款": "refund_only",
    "仅退款": "refund_only",
    "售后仅退款": "refund_only",
    "发货前退款": "refund_only",
    "退款": "refund_only",
    "换货": "exchange",
    "补寄": "other",
    "维修": "other",
    "价保": "other",
}

# A 售后类型 not listed above is read by meaning, first match wins: a return of goods is
# return_refund, unless the label says the goods stay with the buyer (仅退款 / 不退货 /
# 无需退货) or come back in exchange (换货); a resend, repair or price protection is
# other; what is left of a refund is refund_only.
DOUDIAN_REFUND_TYPE_WORDS = (
    ("仅退款", "refund_only"),
    ("不退货", "refund_only"),
    ("无需退货", "refund_only"),
    ("换货", "exchange"),
    ("退货", "return_refund"),
    ("补寄", "other"),
    ("维修", "other"),
    ("价保", "other"),
    ("退款", "refund_only"),
)

# 售后状态: every label seen in exports and the API's aftersale_status texts, each mapped
# explicitly. 售后失败 (aftersale_status 28) is a refund that ended without success, as
# 售后关闭 is: closed, from a file and from the API alike.
DOUDIAN_STATUS_MAP = {
    "待商家同意": "requested",
    "待商家审核": "requested",
    "待商家处理": "requested",
    "待买家退货": "in_progress",
    "待商家收货": "in_progress",
    "待商家发货": "in_progress",
    "待商家二次同意": "in_progress",
    "待商家二次审核": "in_progress",
    "待商家退款": "in_progress",
    "待退款": "in_progress",
    "退款中": "in_progress",
    "待买家收货": "in_progress",
    "换货待买家收货": "in_progress",
    "补寄待买家收货": "in_progress",
    "维修待买家收货": "in_progress",
    "换货补寄维修待买家收货": "in_progress",
    "待买家处理": "in_progress",
    "待平台处理": "in_progress",
    "平台处理中": "in_progress",
    "同意退款，退款成功": "completed",
    "同意退款,退款成功": "completed",
    "退款成功": "completed",
    "售后成功": "completed",
    "换货成功": "completed",
    "补寄成功": "completed",
    "维修成功": "completed",
    "换货补寄维修成功": "completed",
    "售后关闭": "closed",
    "售后失败": "closed",
    "退款关闭": "closed",
    "商家拒绝": "rejected",
    "商家一次拒绝": "rejected",
    "商家二次拒绝": "rejected",
    "商家拒绝退款": "rejected",
    "拒绝售后": "rejected",
    "买家取消": "cancelled",
    "买家撤销": "cancelled",
    "售后撤销": "cancelled",
    "售后取消": "cancelled",
    "已撤销": "cancelled",
}

# Label fragments that place a status the map has not seen (order matters). A status so
# placed is a guess: it is loaded, and named in the load's summary as not recognised.
DOUDIAN_STATUS_KEYWORDS = (
    ("成功", "completed"),
    ("关闭", "closed"),
    ("失败", "closed"),
    ("拒绝", "rejected"),
    ("取消", "cancelled"),
    ("撤销", "cancelled"),
    ("待", "in_progress"),
)

# 仲裁状态: the API's arbitrate_status words (the export writes the same); loaded as written,
# and any other label is named in the load's summary.
DOUDIAN_ARBITRATION_LABELS = (
    "无仲裁记录",
    "仲裁中",
    "客服同意",
    "客服拒绝",
    "待商家举证",
    "协商期",
    "仲裁结束",
    "仲裁完成",
)

DOUDIAN_ORDERS = Profile(
    name="doudian_orders",
    label="抖店 订单 export",
    kind="orders",
    signature=("子订单编号", "支付完成时间"),
    fields=(
        Field("order_id", ("主订单编号", "订单编号", "订单号"), "id", required=True),
        Field("line_id", ("子订单编号", "子订单号"), "id", required=True),
        # 商品ID is the product; the SKU is composed from it (`sku_rule`).
        Field("sku_id", ("商品ID", "商品id", "商品编号"), "id", required=True),
        Field("product_id", ("商品ID", "商品id", "商品编号"), "id"),
        Field("sku_code", ("商家编码",), "id"),
        Field("product_name", ("选购商品", "商品名称", "商品标题")),
        Field("quantity", ("商品数量", "购买数量"), "int"),
        # 商品金额 is the unit price in the 抖店 export; other export versions and tools
        # that re-export it call it 商品单价.
        Field("unit_price", ("商品金额", "商品单价"), "money"),
        Field("amount", ("订单应付金额", "订单实际支付金额", "实付款"), "money"),
        Field("paid_at", ("支付完成时间",), "timestamp", required=True),
        Field("province", ("省", "收货省份", "省份")),
        Field("city", ("市", "收货城市", "城市")),
        Field("carrier", ("快递信息",), "carrier"),
        Field("customer_id", ("收件人手机号",), "secret_id"),
        Field("order_status", ("订单状态",)),
    ),
    personal_columns=("收件人", "收件人手机号", "详细地址", "街道", "买家留言", "商家备注"),
    sku_rule=SkuRule(code="sku_code", title="product_name"),
)

DOUDIAN_REFUNDS = Profile(
    name="doudian_refunds",
    label="抖店 售后 export",
    kind="refunds",
    signature=("售后单号", "售后申请时间"),
    fields=(
        Field("refund_id", ("售后单号",), "id", required=True),
        Field("order_id", ("订单号", "主订单编号", "订单编号"), "id", required=True),
        Field("line_id", ("商品单号", "子订单编号", "子订单号"), "id"),
        # As in the order export; a refund's SKU is also taken from its order line when
        # the line is loaded (the rates SQL), since 商品名称 often lacks the spec.
        Field("sku_id", ("商品ID", "商品id"), "id", required=True),
        Field("product_id", ("商品ID", "商品id"), "id"),
        Field("sku_code", ("商家编码",), "id"),
        Field("product_name", ("商品名称",)),
        Field(
            "refund_type",
            ("售后类型",),
            "enum",
            required=True,
            value_map=DOUDIAN_REFUND_TYPE_MAP,
            fallback=DOUDIAN_REFUND_TYPE_WORDS,
            fallback_known=True,
            otherwise="other",
        ),
        Field(
            "status",
            ("售后状态",),
            "enum",
            value_map=DOUDIAN_STATUS_MAP,
            fallback=DOUDIAN_STATUS_KEYWORDS,
            otherwise=NO_VALUE,
        ),
        Field("requested_at", ("售后申请时间",), "timestamp", required=True),
        Field("approved_at", ("同意售后申请时间",), "timestamp"),
        Field("completed_at", ("售后完结时间",), "timestamp"),
        # 退商品金额 is the goods part of a refund (freight is 退运费金额); pages that export
        # no split write the whole as 退款金额, read only when the split is absent.
        Field(
            "refund_amount",
            ("退商品金额（元）", "退商品金额", "退款金额（元）", "退款金额"),
            "money",
        ),
        Field("quantity", ("售后数量", "退货数量"), "int"),
        Field("reason", ("售后原因",)),
        Field("reason_detail", ("用户售后说明",)),
        Field("return_carrier", ("退货物流公司",)),
        Field("arbitration_status", ("仲裁状态",), known=DOUDIAN_ARBITRATION_LABELS),
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
    sku_rule=SkuRule(code="sku_code", title="product_name"),
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
