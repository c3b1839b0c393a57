"""API JSON → canonical rows, and personal data removed at the edge.

The API source hands the importer canonical CSV rows (the fields of
`transforms.profiles.CANONICAL_ORDERS` / `CANONICAL_REFUNDS`), so an API row goes through
exactly the validation, quarantine and upsert a file row does. This module decides what
each canonical field is read from; docs/api-source.md has the table.

- Money arrives in cents (分) and leaves in 元 with two decimals, computed exactly.
- Times arrive as epoch seconds and leave as shop-local "YYYY-MM-DD HH:MM:SS", the form
  every export uses; 0 or a missing time stays empty.
- Ids are kept as text (ints parse exactly in Python; `product_id_str` is preferred).
- Enum codes become the words the 抖店 exports use and then the canonical values through
  the 售后 export profile's own maps, so a refund means the same whichever way it came.
- Personal data: names, phones, addresses and buyer/merchant free text are never copied.
  `customer_id` is the keyed hash (HMAC-SHA256 with the warehouse's pii key) of the same
  buyer key the 订单 export uses — the full mobile number — or, when the API only gives a
  masked or encrypted number, of `doudian_open_id`. The importer hashes the column once
  more, so the CSV on disk holds no raw value and the warehouse value is stable.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from returnwatch.sources.doudian_api import constants as c
from returnwatch.sources.doudian_api.values import as_int, as_text
from returnwatch.transforms.profiles import DOUDIAN_REFUNDS, TABLE_FIELDS, classify
from returnwatch.transforms.staging import hmac_hex

ORDER_FIELDS = TABLE_FIELDS["orders"]
REFUND_FIELDS = TABLE_FIELDS["refunds"]
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")
_PHONE_NOISE = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class Mapped:
    """One canonical row: its key (line_id / refund_id) and the record's update time, so
    the newest copy wins when a record is seen twice in one pull."""

    key: str
    updated: int
    row: dict[str, str | None]


# --- values ------------------------------------------------------------------------------


def local_time(epoch: Any, tz: ZoneInfo) -> str | None:
    """Epoch seconds → shop-local "YYYY-MM-DD HH:MM:SS"; 0/empty → None."""
    seconds = as_int(epoch)
    if not seconds:
        return None
    return dt.datetime.fromtimestamp(seconds, tz).strftime("%Y-%m-%d %H:%M:%S")


def yuan(cents: Any) -> str | None:
    """Cents → 元 with two decimals, exactly (no float on the way)."""
    value = as_int(cents)
    if value is None:
        return None
    return f"{Decimal(value) / 100:.2f}"


def id_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # The digits of a 19-digit id are gone in a float; the text says so and the
        # importer's rounded-id rule quarantines the row rather than guess.
        return repr(value)
    return str(value).strip() or None


def _name(region: Any) -> str | None:
    """post_addr.province / city: {"id": …, "name": …} (or a bare name)."""
    if isinstance(region, Mapping):
        return as_text(region.get("name"))
    return as_text(region)


# --- orders ------------------------------------------------------------------------------


def buyer_key(shop_order: Mapping[str, Any]) -> str | None:
    """The value `customer_id` hashes: the full mobile number, as the 订单 export has it
    (spaces, dashes and a +86 prefix removed, as the importer normalises it), else the
    platform's stable buyer id. A masked number ("138****5678") is no key at all."""
    phone = _PHONE_NOISE.sub("", str(shop_order.get("post_tel") or ""))
    phone = re.sub(r"^\+?86(1[0-9]{10})$", r"\1", phone)
    if _PHONE.match(phone):
        return phone
    open_id = as_text(shop_order.get("doudian_open_id"))
    return f"doudian_open_id:{open_id}" if open_id else None


def _line_carriers(shop_order: Mapping[str, Any]) -> dict[str, str]:
    """sku order id → carrier name, from logistics_info[].product_info[]."""
    parcels = [p for p in shop_order.get("logistics_info") or [] if isinstance(p, Mapping)]
    carriers: dict[str, str] = {}
    for parcel in parcels:
        name = as_text(parcel.get("company_name"))
        if not name:
            continue
        for product in parcel.get("product_info") or []:
            line = id_text(product.get("sku_order_id")) if isinstance(product, Mapping) else None
            if line:
                carriers.setdefault(line, name)
    if len(parcels) == 1 and not carriers and as_text(parcels[0].get("company_name")):
        carriers["*"] = str(parcels[0]["company_name"]).strip()  # one parcel, whole order
    return carriers


def _order_status(record: Mapping[str, Any]) -> str | None:
    text = as_text(record.get("order_status_desc"))
    if text:
        return text
    return c.ORDER_STATUS_TEXT.get(as_int(record.get("order_status")) or -1)


def map_order(
    shop_order: Mapping[str, Any], *, shop_id: str, tz: ZoneInfo, pii_key: bytes
) -> tuple[list[Mapped], int]:
    """One shop order → its order lines; also how many lines were skipped as unpaid.

    An order line is a sale once paid: lines without a pay time (orders waiting for
    payment, or cancelled before it) are not written, and counted instead.
    """
    order_id = id_text(shop_order.get("order_id"))
    addr = shop_order.get("post_addr") or shop_order.get("mask_post_addr") or {}
    masked = shop_order.get("mask_post_addr") or {}
    province = _name(addr.get("province")) or _name(masked.get("province"))
    city = _name(addr.get("city")) or _name(masked.get("city"))
    key = buyer_key(shop_order)
    customer = hmac_hex(pii_key, key) if key else None
    carriers = _line_carriers(shop_order)
    order_updated = as_int(shop_order.get("update_time")) or 0
    rows: list[Mapped] = []
    unpaid = 0
    for line in shop_order.get("sku_order_list") or []:
        if not isinstance(line, Mapping):
            continue
        line_id = id_text(line.get("order_id"))
        paid_at = local_time(line.get("pay_time") or shop_order.get("pay_time"), tz)
        if paid_at is None:
            unpaid += 1
            continue
        quantity = as_int(line.get("item_num"))
        row = {
            "shop_id": shop_id,
            "order_id": id_text(line.get("parent_order_id")) or order_id,
            "line_id": line_id,
            "sku_id": _sku_id(line),
            "product_name": as_text(line.get("product_name")),
            "quantity": None if quantity is None else str(quantity),
            "unit_price": yuan(line.get("origin_amount")),
            "amount": yuan(line.get("pay_amount")),
            "paid_at": paid_at,
            "province": province,
            "city": city,
            "carrier": carriers.get(line_id or "") or carriers.get("*"),
            "customer_id": customer,
            "order_status": _order_status(line) or _order_status(shop_order),
            "product_id": _product_id(line),
            "category": None,
        }
        updated = max(order_updated, as_int(line.get("update_time")) or 0)
        rows.append(Mapped(line_id or "", updated, _complete(row, ORDER_FIELDS)))
    return rows, unpaid


# --- refunds -----------------------------------------------------------------------------


_TYPE_FIELD = DOUDIAN_REFUNDS.field("refund_type")
_STATUS_FIELD = DOUDIAN_REFUNDS.field("status")


def _status_from_text(text: str | None) -> str | None:
    """A status label read exactly as the 售后 export's 售后状态 is (profiles.classify)."""
    assert _STATUS_FIELD is not None
    return classify(_STATUS_FIELD, text)[0] if text else None


def refund_status(info: Mapping[str, Any], text_part: Mapping[str, Any]) -> str | None:
    """The canonical status: from the platform's own wording (text_part, the words of the
    售后 export) when it is known, else from the aftersale_status code."""
    status = _status_from_text(as_text(text_part.get("aftersale_status_text")))
    if status:
        return status
    code = as_int(info.get("aftersale_status"))
    return _status_from_text(c.AFTERSALE_STATUS_TEXT.get(code if code is not None else -1))


def refund_type(info: Mapping[str, Any], text_part: Mapping[str, Any]) -> str:
    code = as_int(info.get("aftersale_type"))
    label = c.AFTERSALE_TYPE_TEXT.get(code if code is not None else -1) or as_text(
        text_part.get("aftersale_type_text")
    )
    assert _TYPE_FIELD is not None
    return classify(_TYPE_FIELD, label)[0] or "other"


def goods_refund_cents(info: Mapping[str, Any]) -> int | None:
    """The goods part of a refund, in cents: what the 售后 export calls 退商品金额.

    The platform documents `refund_amount` as the amount refunded *including* freight
    (申请退款的金额（含运费）) and `refund_post_amount` as the freight part (申请退的运费金额);
    the export keeps them apart (退商品金额 / 退运费金额). returnwatch's `refund_amount` is
    the goods part on both paths, so an API row and an export row of the same refund agree.
    A freight part larger than the total (never documented) leaves the total as it is.
    """
    total = as_int(info.get("refund_amount"))
    freight = as_int(info.get("refund_post_amount")) or 0
    if total is None:
        return None
    return total - freight if 0 <= freight <= total else total


def _product_id(line: Mapping[str, Any]) -> str | None:
    """The line's product (商品ID): `product_id_str` when given, else `product_id`."""
    return id_text(line.get("product_id_str")) or id_text(line.get("product_id"))


def _sku_id(line: Mapping[str, Any]) -> str | None:
    """The line's SKU: the platform's `sku_id` (unique within its product; one per spec),
    else the product id when the item names no SKU (product = SKU, as before issue 17).
    A refund whose related_order_info lacks sku_id still counts under its order line's
    SKU: the rates SQL takes a return's SKU from its line when the line is loaded."""
    sku = id_text(line.get("sku_id"))
    return sku if sku and sku != "0" else _product_id(line)


def _related_line(item: Mapping[str, Any], info: Mapping[str, Any]) -> Mapping[str, Any]:
    """The order line a refund is about: related_order_info[] entry whose sku_order_id is
    the refund's related_id, else the first (a shop-order refund names several)."""
    order_info = item.get("order_info") or {}
    related = [r for r in order_info.get("related_order_info") or [] if isinstance(r, Mapping)]
    wanted = id_text(info.get("related_id"))
    for entry in related:
        if wanted and id_text(entry.get("sku_order_id")) == wanted:
            return entry
    return related[0] if related else {}


def map_refund(item: Mapping[str, Any], *, shop_id: str, tz: ZoneInfo) -> Mapped:
    """One afterSale/List item → one canonical refund row."""
    info = item.get("aftersale_info") or {}
    text_part = item.get("text_part") or {}
    order_info = item.get("order_info") or {}
    line = _related_line(item, info)
    refund_id = id_text(info.get("aftersale_id"))
    quantity = as_int(info.get("aftersale_num"))
    arbitration = as_int(info.get("arbitrate_status"))
    row = {
        "shop_id": shop_id,
        "refund_id": refund_id,
        "order_id": id_text(order_info.get("shop_order_id")),
        "line_id": id_text(line.get("sku_order_id")) or id_text(info.get("related_id")),
        "sku_id": _sku_id(line),
        "product_name": as_text(line.get("product_name")),
        "refund_type": refund_type(info, text_part),
        "reason": as_text(text_part.get("reason_text")),
        "reason_detail": None,  # the buyer's own words are not in afterSale/List
        "status": refund_status(info, text_part),
        "requested_at": local_time(info.get("apply_time"), tz),
        "approved_at": None,  # afterSale/List carries no approval time
        "completed_at": local_time(info.get("aftersale_status_to_final_time"), tz),
        "refund_amount": yuan(goods_refund_cents(info)),
        "quantity": None if quantity is None else str(quantity),
        "province": None,  # resolved from the order line by the `refunds` view
        "carrier": None,  # likewise
        "return_carrier": as_text(info.get("return_logistics_company_name")),
        "arbitration_status": c.ARBITRATE_STATUS_TEXT.get(arbitration or 0),
        "product_id": _product_id(line),
    }
    return Mapped(
        refund_id or "", as_int(info.get("update_time")) or 0, _complete(row, REFUND_FIELDS)
    )


def _complete(row: dict[str, str | None], fields: tuple[str, ...]) -> dict[str, str | None]:
    missing = set(fields) - set(row)
    if missing:  # a canonical field added later must be mapped here (or left empty on purpose)
        raise KeyError(f"mapping lacks canonical field(s) {sorted(missing)}")
    return {name: row[name] for name in fields}


# --- personal data in raw responses ------------------------------------------------------


def scrub_pii(value: Any) -> Any:
    """A copy of an API answer with personal data removed at every depth: names, phones,
    street and detail of addresses, encrypted and masked copies of them, free text."""
    if isinstance(value, Mapping):
        out = {}
        for key, inner in value.items():
            if key in c.PII_KEYS or str(key).startswith(c.PII_KEY_PREFIXES):
                continue
            if key in c.ADDRESS_KEYS and isinstance(inner, Mapping):
                out[key] = {k: scrub_pii(v) for k, v in inner.items() if k in c.ADDRESS_KEEP}
                continue
            out[key] = scrub_pii(inner)
        return out
    if isinstance(value, list):
        return [scrub_pii(v) for v in value]
    return value
