"""Writers: a synthetic shop as 抖店 export files (CSV/XLSX, by month or in one file), as
canonical CSV, or inserted straight into the warehouse for tests and benchmarks.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from returnwatch.demo.reference import (
    _DAY,
    _FIXED_ZIP_TIME,
    _MINUTE,
    _MONEY_TYPES_RAW,
    _NAT_NS,
    AD_SHARE,
    APP_CHANNELS,
    BUYER_NOTES,
    CANONICAL_MISSING_PROVINCE_SHARE,
    CANONICAL_ORDER_COLUMNS,
    CANONICAL_REFUND_COLUMNS,
    CARRIERS,
    CREATOR_SHARE,
    CREATORS,
    CS_AGENTS,
    DOUDIAN_COUNT_COLUMNS,
    DOUDIAN_ID_COLUMNS,
    DOUDIAN_ORDER_COLUMNS,
    DOUDIAN_ORDER_CONSTANTS,
    DOUDIAN_ORDER_MONEY_COLUMNS,
    DOUDIAN_REFUND_COLUMNS,
    DOUDIAN_REFUND_CONSTANTS,
    DOUDIAN_REFUND_MONEY_COLUMNS,
    IN_PROGRESS_RECEIVING_TEXT,
    MERCHANT_RETURN_ADDRESS,
    MERCHANT_RETURN_CONTACT,
    PAYMENT_METHODS,
    REASON_TAGS,
    REFUND_REASONS,
    TRAFFIC_SOURCES,
    WAREHOUSE_ORDER_COLUMNS,
    WAREHOUSE_REFUND_COLUMNS,
)
from returnwatch.demo.shop import SyntheticShop, _pick, _shares

# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------

_FORMATS = ("csv", "xlsx")
_CSV_ENCODINGS = ("utf-8-sig", "gb18030", "gbk")
_SPLITS = ("month", "all")


def write_doudian_exports(
    shop: SyntheticShop,
    out_dir: Path,
    *,
    fmt: str = "csv",
    encoding: str = "utf-8-sig",
    by: str = "month",
    tab_ids: bool = True,
) -> list[Path]:
    """Write the shop as 抖店 订单 and 售后 export files; returns the 订单 files, then the 售后 ones.

    One row per 子订单 (73 columns) and per 售后单 (50 columns), Chinese headers, buyer
    personal data in the order export only. `by="month"` splits orders by 支付完成时间 month
    and refunds by 售后申请时间 month (订单导出_2026-07.csv …), as shops download them;
    `by="all"` writes one file of each. `tab_ids` prefixes ids with a tab, as the platform
    does to stop Excel from rounding them (in XLSX too: the cells are text either way).
    """
    if fmt not in _FORMATS or by not in _SPLITS:
        raise ValueError(f"fmt must be one of {_FORMATS} and by one of {_SPLITS}")
    if fmt == "csv" and encoding.lower() not in _CSV_ENCODINGS:
        raise ValueError(f"CSV encoding must be one of {_CSV_ENCODINGS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = (
        (
            "订单导出",
            _doudian_orders(shop),
            shop.order_lines["paid_at"],
            DOUDIAN_ORDER_MONEY_COLUMNS,
        ),
        (
            "售后导出",
            _doudian_refunds(shop),
            shop.refunds["requested_at"],
            DOUDIAN_REFUND_MONEY_COLUMNS,
        ),
    )
    paths = []
    for stem, table, times, money in kinds:
        if tab_ids:
            table = _tab_ids(table)
        for label, part in _split_by_period(table, times, by, shop):
            path = out_dir / f"{stem}_{label}.{fmt}"
            if fmt == "csv":
                _write_csv(_as_text(part, money), path, encoding)
            else:
                _write_xlsx(part, path, money)
            paths.append(path)
    return paths


def write_canonical_csv(shop: SyntheticShop, out_dir: Path) -> list[Path]:
    """Write orders.csv and refunds.csv in returnwatch's own format (UTF-8, no BOM).

    ~30% of refund rows have no province, so importers must resolve the region from the
    order line, as they must for 抖店 files. The only buyer field is the raw customer_id.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    orders = shop.order_lines.loc[:, list(CANONICAL_ORDER_COLUMNS)].copy()
    refunds = shop.refunds.loc[:, list(CANONICAL_REFUND_COLUMNS)].copy()
    rng = np.random.default_rng([shop.seed, 3])
    refunds.loc[rng.random(len(refunds)) < CANONICAL_MISSING_PROVINCE_SHARE, "province"] = None
    paths = [out_dir / "orders.csv", out_dir / "refunds.csv"]
    _write_csv(_as_text(orders, ("amount",)), paths[0], "utf-8")
    _write_csv(_as_text(refunds, ("refund_amount",)), paths[1], "utf-8")
    return paths


def _doudian_orders(shop: SyntheticShop) -> pd.DataFrame:
    """The 73-column 抖店 订单 export of every order line, in payment order.

    Columns no metric reads (payment method, creator, traffic source…) are drawn from a
    child stream of the shop's seed, so the same shop always gives the same file.
    """
    rng = np.random.default_rng([shop.seed, 1])
    ol = shop.order_lines
    per_order = pd.factorize(ol["order_id"])[0]
    values = {
        **_order_items(ol),
        **_order_times(ol, rng, per_order),
        **_order_states(shop, rng),
        **_order_money(ol, rng),
        **_order_buyer(ol, rng, per_order),
        **_order_shipping(ol),
        **_order_channels(rng, per_order),
    }
    return _export_frame(values, DOUDIAN_ORDER_COLUMNS, DOUDIAN_ORDER_CONSTANTS, len(ol))


def _order_items(ol: pd.DataFrame) -> dict[str, np.ndarray]:
    sku = _text(ol["sku_id"])
    # 商品ID is the product; the merchant's SKU code (商家编码) is the generator's SKU id, so
    # the loaded sku slices carry the keys the demo's truth names (issue 17).
    return {
        "主订单编号": _text(ol["order_id"]),
        "子订单编号": _text(ol["line_id"]),
        "选购商品": _text(ol["product_name"]),
        "货号": _merchant_codes(sku, "HH"),
        "商品ID": _text(ol["product_id"]),
        "商家编码": sku,
        "商品数量": ol["quantity"].to_numpy(),
        "商品金额": ol["unit_price"].to_numpy(),
    }


def _order_times(
    ol: pd.DataFrame, rng: np.random.Generator, per_order: np.ndarray
) -> dict[str, np.ndarray]:
    """Submitted a few minutes before payment; shipping promised within 48 h."""
    paid = ol["paid_at"].to_numpy()
    n_orders = _count(per_order)
    submit_lead = rng.integers(3, 600, n_orders)[per_order].astype("timedelta64[s]")
    return {
        "订单提交时间": _fmt_times(paid - submit_lead),
        "支付完成时间": _fmt_times(paid),
        "承诺发货时间": _fmt_times(paid + np.timedelta64(48, "h")),
    }


def _order_states(shop: SyntheticShop, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """订单状态 at export time: closed when refunded, else pending, shipped or confirmed."""
    ol = shop.order_lines
    refund = shop.refunds.set_index("line_id").reindex(ol["line_id"])
    type_raw = _text(refund["refund_type_raw"])
    shipped_at = ol["shipped_at"].to_numpy()
    is_shipped = ~np.isnat(shipped_at)
    confirmed_at = shipped_at + rng.integers(4 * _DAY, 9 * _DAY, len(ol)).astype("timedelta64[s]")
    money_back = (_text(refund["status"]) == "completed") & np.isin(type_raw, _MONEY_TYPES_RAW)
    confirmed = is_shipped & (confirmed_at <= np.datetime64(shop.end, "ns")) & ~money_back
    status = np.select(
        [money_back, ~is_shipped, confirmed], ["已关闭", "待发货", "已完成"], default="已发货"
    )
    finished_at = np.where(confirmed, confirmed_at, refund["completed_at"].to_numpy())
    cancelled = money_back & (type_raw == "未发货仅退款")
    return {
        "订单状态": status.astype(object),
        "订单完成时间": _fmt_times(np.where(confirmed | money_back, finished_at, _NAT_NS)),
        "取消原因": np.where(cancelled, _text(refund["reason"]), "").astype(object),
        "售后状态": _text(refund["status_raw"]),
    }


def _order_money(ol: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Amount paid, and the discount from list price split between platform and merchant."""
    amount = ol["amount"].to_numpy()
    list_price = ol["unit_price"].to_numpy() * ol["quantity"].to_numpy()
    discount = np.maximum(np.round(list_price - amount, 2), 0.0)
    platform = np.round(discount * rng.uniform(0, 0.5, len(ol)), 2)
    merchant = np.round(discount - platform, 2)
    borne = "平台:" + _fmt_money(platform) + ";商家:" + _fmt_money(merchant) + ";达人:0.00"
    return {
        "订单应付金额": amount,
        "优惠总金额": discount,
        "平台优惠": platform,
        "商家优惠": merchant,
        "平台/商家/达人实际承担优惠金额": borne,
    }


def _order_buyer(
    ol: pd.DataFrame, rng: np.random.Generator, per_order: np.ndarray
) -> dict[str, np.ndarray]:
    """The receiver: personal data (收件人, phone, street, address) plus the region."""
    n_orders = _count(per_order)
    return {
        "收件人": _text(ol["buyer_name"]),
        "收件人手机号": _text(ol["buyer_phone"]),
        "省": _text(ol["province"]),
        "市": _text(ol["city"]),
        "区": _text(ol["district"]),
        "街道": _text(ol["street"]),
        "详细地址": _text(ol["address"]),
        "是否修改过地址": _yes_no(rng.random(n_orders) < 0.03)[per_order],
        "买家留言": _sometimes(rng, BUYER_NOTES, n_orders, 0.05)[per_order],
    }


def _order_shipping(ol: pd.DataFrame) -> dict[str, np.ndarray]:
    """快递信息 as `<tracking>-<carrier>,<product>`, empty until the parcel leaves."""
    shipped_at = ol["shipped_at"].to_numpy()
    carrier = _text(ol["carrier"])
    tracking = _tracking_numbers(carrier, _text(ol["line_id"]))
    parcel = tracking + "-" + carrier + "," + _text(ol["product_name"])
    return {
        "发货时间": _fmt_times(shipped_at),
        "快递信息": np.where(carrier != "", parcel, "").astype(object),
        "预计送达时间": _fmt_times(shipped_at + np.timedelta64(3, "D")),
    }


def _order_channels(rng: np.random.Generator, per_order: np.ndarray) -> dict[str, np.ndarray]:
    """Where each order came from: payment, app, creator (达人) and traffic source."""
    n_orders = _count(per_order)
    creator = rng.integers(0, len(CREATORS), n_orders)
    via_creator = rng.random(n_orders) < CREATOR_SHARE
    source = np.array([s[0] for s in TRAFFIC_SOURCES], dtype=object)
    genre = np.array([s[1] for s in TRAFFIC_SOURCES], dtype=object)
    creator_sources = [i for i, s in enumerate(TRAFFIC_SOURCES) if s[2]]
    own_sources = [i for i, s in enumerate(TRAFFIC_SOURCES) if not s[2]]
    traffic = np.where(
        via_creator, rng.choice(creator_sources, n_orders), rng.choice(own_sources, n_orders)
    )
    ads = rng.random(n_orders) < AD_SHARE
    per_order_values = {
        "支付方式": _pick(rng, [m[0] for m in PAYMENT_METHODS], n_orders, _shares(PAYMENT_METHODS)),
        "APP渠道": _pick(rng, [c[0] for c in APP_CHANNELS], n_orders, _shares(APP_CHANNELS)),
        "达人ID": np.where(via_creator, np.array([c[0] for c in CREATORS])[creator], ""),
        "达人昵称": np.where(via_creator, np.array([c[1] for c in CREATORS])[creator], ""),
        "流量来源": source[traffic],
        "流量体裁": genre[traffic],
        "广告渠道": np.where(ads, "巨量千川", ""),
        "流量类型": np.where(ads, "广告流量", "自然流量"),
        "是否安心购": _yes_no(rng.random(n_orders) < 0.3),
    }
    return {k: v.astype(object)[per_order] for k, v in per_order_values.items()}


def _doudian_refunds(shop: SyntheticShop) -> pd.DataFrame:
    """The 50-column 抖店 售后 export of every refund, in request order (no province: join)."""
    rng = np.random.default_rng([shop.seed, 2])
    rf = shop.refunds
    line = shop.order_lines.set_index("line_id").reindex(rf["line_id"])
    values = {
        **_refund_items(rf, line),
        **_refund_case(rf, rng),
        **_refund_times(rf, rng),
        **_refund_logistics(rf, line),
    }
    return _export_frame(values, DOUDIAN_REFUND_COLUMNS, DOUDIAN_REFUND_CONSTANTS, len(rf))


def _refund_items(rf: pd.DataFrame, line: pd.DataFrame) -> dict[str, np.ndarray]:
    """What is refunded: ids, the line's amount paid, the type and the money asked back."""
    type_raw = _text(rf["refund_type_raw"])
    amount = rf["refund_amount"].to_numpy()
    return {
        "售后单号": _text(rf["refund_id"]),
        "订单号": _text(rf["order_id"]),
        "商品单号": _text(rf["line_id"]),
        "商品名称": _text(rf["product_name"]),
        "商品ID": _text(rf["product_id"]),
        "商家编码": _text(rf["sku_id"]),
        "应付金额（元）": line["amount"].to_numpy(),
        "商品发货状态": np.where(type_raw == "未发货仅退款", "未发货", "已发货").astype(object),
        "售后类型": type_raw,
        "退商品金额（元）": amount,
        "退款方式": np.where(amount > 0, "原路退回", "").astype(object),
    }


def _refund_case(rf: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Status, reasons, disputes and who handled the case."""
    n = len(rf)
    type_raw = _text(rf["refund_type_raw"])
    arbitration = _text(rf["arbitration_status"])
    small_refund_only = np.isin(type_raw, ("已发货仅退款", "未发货仅退款")) & (
        rf["refund_amount"].to_numpy() < 100
    )
    tags = dict(zip(REFUND_REASONS, REASON_TAGS, strict=True))
    liable = _pick(rng, ("商家", "买家"), n, np.array([0.4, 0.6]))
    exchange_for = _text(rf["product_name"]) + "（换其他规格）"
    return {
        "售后状态": _text(rf["status_raw"]),
        "售后原因": _text(rf["reason"]),
        "售后原因标签": rf["reason"].map(tags).to_numpy(dtype=object),
        "用户售后说明": _text(rf["reason_detail"]),
        "仲裁状态": arbitration,
        "纠纷责任方": np.where(arbitration == "仲裁完成", liable, "").astype(object),
        "是否极速退款": _yes_no(small_refund_only & (rng.random(n) < 0.6)),
        "操作人": np.where(rf["completed_at"].notna(), _pick(rng, CS_AGENTS, n), "").astype(object),
        "换货商品信息": np.where(type_raw == "换货", exchange_for, "").astype(object),
    }


def _refund_times(rf: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The case's clock: applied, approved, refunded, closed, finished, next deadline."""
    status = _text(rf["status"])
    status_raw = _text(rf["status_raw"])
    requested = rf["requested_at"].to_numpy()
    approved = rf["approved_at"].to_numpy()
    completed = rf["completed_at"].to_numpy()
    refunded = np.where(
        (status == "completed") & (rf["refund_amount"].to_numpy() > 0), completed, _NAT_NS
    )
    deadline = np.select(
        [status == "requested", status_raw == "待买家退货", status_raw == IN_PROGRESS_RECEIVING_TEXT],
        [requested + np.timedelta64(48, "h"), approved + np.timedelta64(7, "D"),
         rf["return_shipped_at"].to_numpy() + np.timedelta64(10, "D")],
        default=_NAT_NS,
    )  # fmt: skip
    to_account = rng.integers(0, 10 * _MINUTE, len(rf)).astype("timedelta64[s]")
    failed = np.isin(status, ("rejected", "cancelled", "closed"))
    return {
        "售后申请时间": _fmt_times(requested),
        "自动处理截止时间": _fmt_times(deadline),
        "同意售后申请时间": _fmt_times(approved),
        "商家退款时间": _fmt_times(refunded),
        "用户到账时间": _fmt_times(refunded + to_account),
        "售后关闭时间": _fmt_times(np.where(failed, completed, _NAT_NS)),
        "售后完结时间": _fmt_times(completed),
    }


def _refund_logistics(rf: pd.DataFrame, line: pd.DataFrame) -> dict[str, np.ndarray]:
    """Parcels: the original shipment, the return parcel and an exchange's replacement."""
    type_raw = _text(rf["refund_type_raw"])
    status = _text(rf["status"])
    refund_ids = _text(rf["refund_id"])
    carrier = _text(rf["carrier"])
    return_carrier = _text(rf["return_carrier"])
    goes_back = np.isin(type_raw, ("退货退款", "换货")) & rf["approved_at"].notna().to_numpy()
    line_shipped = line["shipped_at"].to_numpy()
    delivered = rf["requested_at"].to_numpy() >= line_shipped + np.timedelta64(2, "D")
    exchange_done = (type_raw == "换货") & (status == "completed")
    return_state = np.select(
        [
            goes_back & (status == "completed"),
            _text(rf["status_raw"]) == IN_PROGRESS_RECEIVING_TEXT,
        ],
        ["已签收", "运输中"],
        default="",
    )
    return {
        "退货物流单号": _tracking_numbers(return_carrier, refund_ids),
        "退货发货时间": _fmt_times(rf["return_shipped_at"].to_numpy()),
        "退货物流公司": return_carrier,
        "退货物流状态": return_state.astype(object),
        "商家退货地址": np.where(goes_back, MERCHANT_RETURN_ADDRESS, "").astype(object),
        "商家退货联系人姓名": np.where(goes_back, MERCHANT_RETURN_CONTACT[0], "").astype(object),
        "商家退货联系人电话": np.where(goes_back, MERCHANT_RETURN_CONTACT[1], "").astype(object),
        "发货物流单号": _tracking_numbers(carrier, _text(rf["line_id"])),
        "发货物流状态": np.select(
            [carrier == "", delivered], ["", "已签收"], default="运输中"
        ).astype(object),
        "换货物流单号": _tracking_numbers(
            np.where(exchange_done, carrier, ""), refund_ids, shift=7
        ),
    }


def _export_frame(
    values: dict[str, np.ndarray],
    header: Sequence[str],
    constants: Sequence[tuple[str, object]],
    n: int,
) -> pd.DataFrame:
    """An export in header order: the given columns, the constant ones, "" for the rest."""
    unknown = set(values) - set(header)
    if unknown:
        raise ValueError(f"not export columns: {sorted(unknown)}")
    fixed = dict(constants)
    data = {}
    for column in header:
        if column in values:
            data[column] = values[column]
        elif column in fixed:
            value = fixed[column]
            data[column] = np.full(n, value, dtype=object if isinstance(value, str) else float)
        else:
            data[column] = np.full(n, "", dtype=object)
    return pd.DataFrame(data, columns=list(header))


def _tab_ids(table: pd.DataFrame) -> pd.DataFrame:
    """Prefix id columns with a tab, as the 抖店 export does."""
    table = table.copy()
    for column in DOUDIAN_ID_COLUMNS:
        if column in table.columns:
            table[column] = "\t" + table[column].astype(object)
    return table


def _split_by_period(
    table: pd.DataFrame, times: pd.Series, by: str, shop: SyntheticShop
) -> list[tuple[str, pd.DataFrame]]:
    """(file label, rows) per calendar month of `times`, or one label for the whole period."""
    if by == "all":
        last = shop.end - datetime.timedelta(days=1)
        return [(f"{shop.start.isoformat()}_{last.isoformat()}", table)]
    month = times.to_numpy().astype("datetime64[M]").astype(str)
    return [(label, table[month == label]) for label in sorted(set(month))]


def _as_text(table: pd.DataFrame, money: Sequence[str]) -> pd.DataFrame:
    """Every cell as the text a CSV export holds: money with 2 decimals, times to the second."""
    out = {}
    for column in table.columns:
        values = table[column]
        if column in money:
            out[column] = _fmt_money(values.to_numpy(dtype=float))
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = _fmt_times(values.to_numpy())
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype(str).to_numpy(dtype=object)
        else:
            out[column] = values.astype(object).where(values.notna(), "").to_numpy(dtype=object)
    return pd.DataFrame(out, columns=list(table.columns))


def _write_csv(table: pd.DataFrame, path: Path, encoding: str) -> None:
    """Text cells to CSV; "utf-8-sig" puts the BOM first, as the 抖店 export does."""
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(
            zip(*(table[c].to_numpy(dtype=object) for c in table.columns), strict=True)
        )


def _write_xlsx(table: pd.DataFrame, path: Path, money: Sequence[str]) -> None:
    """An XLSX export: ids, names and times as text, amounts and counts as numbers.

    openpyxl stamps the save time into docProps and the zip entries; both are pinned so a
    seed gives byte-identical files.
    """
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    fixed = datetime.datetime(2000, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(list(table.columns))
    cells = []
    for column in table.columns:
        values = table[column]
        if column in money:
            cells.append(values.to_numpy(dtype=float).round(2).tolist())
        elif column in DOUDIAN_COUNT_COLUMNS:
            cells.append(values.to_numpy(dtype=np.int64).tolist())
        else:
            text = _as_text(table[[column]], ()).iloc[:, 0].to_numpy(dtype=object)
            cells.append(np.where(text == "", None, text).tolist())
    for row in zip(*cells, strict=True):
        sheet.append(row)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    path.write_bytes(_pin_zip_times(buffer.getvalue()))


def _pin_zip_times(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01, so equal content gives equal bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(pinned, source.read(info.filename))
    return out.getvalue()


def _tracking_numbers(carrier: np.ndarray, ids: np.ndarray, shift: int = 0) -> np.ndarray:
    """Tracking numbers in each carrier's style (YT…, SF…, 78…), "" where there is no carrier."""
    out = np.full(len(carrier), "", dtype=object)
    numbers = np.array([int(i) for i in ids], dtype=np.int64) // (10**shift) if len(ids) else ids
    for name, _, prefix, digits in CARRIERS:
        rows = carrier == name
        if rows.any():
            tail = np.char.zfill((numbers[rows] % 10**digits).astype(str), digits).astype(object)
            out[rows] = prefix + tail
    return out


def _merchant_codes(sku_ids: np.ndarray, prefix: str) -> np.ndarray:
    """A short merchant-side code per SKU (货号 / 商家编码), stable for the SKU id."""
    return np.array([f"{prefix}{s[-6:]}" for s in sku_ids], dtype=object)


def _sometimes(rng: np.random.Generator, values: Sequence[str], n: int, share: float) -> np.ndarray:
    """One of `values` for `share` of n rows, "" for the rest (optional free-text fields)."""
    return np.where(rng.random(n) < share, _pick(rng, values, n), "").astype(object)


def _text(values: pd.Series) -> np.ndarray:
    """A text column as an object array with "" for missing values."""
    return values.fillna("").to_numpy(dtype=object)


def _yes_no(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "是", "否").astype(object)


def _count(per_order: np.ndarray) -> int:
    """How many orders a factorized order-code array spans."""
    return int(per_order.max()) + 1 if len(per_order) else 0


def _fmt_times(values: np.ndarray) -> np.ndarray:
    """datetime64 → "YYYY-MM-DD HH:MM:SS", NaT → "" (as the export writes them)."""
    values = np.asarray(values).astype("datetime64[s]")
    text = np.strings.replace(np.datetime_as_string(values, unit="s"), "T", " ").astype(object)
    text[np.isnat(values)] = ""
    return text


def _fmt_money(values: np.ndarray) -> np.ndarray:
    """Amounts → "123.40": exactly two decimals (rounding first makes `.2f` exact)."""
    rounded = np.round(np.asarray(values, dtype=float), 2).tolist()
    return np.array([f"{v:.2f}" for v in rounded], dtype=object)


def insert_frames(
    con: duckdb.DuckDBPyConnection,
    order_lines: pd.DataFrame | None = None,
    refunds: pd.DataFrame | None = None,
) -> None:
    """Insert canonical frames straight into order_lines / refund_records.

    Bypasses the importer (no validation, no hashing), for tests and benchmarks of what
    comes after loading; only the canonical columns a frame has are written.
    """
    for table, frame, columns in (
        ("order_lines", order_lines, WAREHOUSE_ORDER_COLUMNS),
        ("refund_records", refunds, WAREHOUSE_REFUND_COLUMNS),
    ):
        if frame is None or frame.empty:
            continue
        present = ", ".join(c for c in columns if c in frame.columns)
        con.register("_frame", frame)
        try:
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT {present}, 'synthetic' AS source_format, "
                "0 AS load_batch_id, now()::TIMESTAMP AS loaded_at FROM _frame"
            )
        finally:
            con.unregister("_frame")
