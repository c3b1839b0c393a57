"""A local fake of the 抖店 Open Platform: a real HTTP server on 127.0.0.1.

It serves `/order/searchList` and `/afterSale/List` from a SyntheticShop, built from the
shop's own 抖店 export files (so the API and the files hold the same facts), and behaves
like the real platform where the client must cope with it:

- it checks every request exactly: app_key, `method` = the path with `/` → `.`, v=2,
  sign_method, a timestamp within 10 minutes, the HMAC-SHA256 signature recomputed with
  the app secret over the body as sent, the access token, and a body that is compact JSON
  with sorted keys; a violation gets the error envelope (HTTP 200, code ≠ 10000);
- it pages: `page` from 0, `size` 1..100, `total` (and `has_more` for afterSale), records
  in a stable (time, id) order, windows of at most `max_window_seconds`;
- it fails on request: `add_fault(path, kind, page=…, times=…)` with HTTP 500/502, a
  dropped connection, "service unavailable" (20000), "internal timeout" (20001),
  throttling (60000), an expired token; `on_page` lets a test change records between
  pages (a status changing mid-pull);
- it issues tokens as the platform does: `/token/refresh` spends a single-use refresh
  token and issues a new pair (the old access token is then refused as expired),
  `/token/create` with grant_type authorization_self and the shop id serves self-use
  apps; `expire_token_after(n)` expires the live access token after n more data pages,
  so a pull meets the expiry in the middle.

Its error codes are its own literals, written from what the platform is known to send,
not imported from the client's constants: the tests check the client against them.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import hmac
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from returnwatch.demo.exports import write_doudian_exports
from returnwatch.demo.shop import SyntheticShop

APP_KEY = "7000000000000000001"
APP_SECRET = "fake-app-secret-0123456789"
ACCESS_TOKEN = "fake-access-token-abcdef-123456"

ORDERS_PATH = "/order/searchList"
REFUNDS_PATH = "/afterSale/List"

REFRESH_TOKEN = "fake-refresh-token-initial-7890"
SELF_USE_SHOP_ID = "88001"

# The platform's error envelopes as the fake sends them, written from the platform's base
# error table (平台基础错误码汇总) as the public SDKs carry it (see docs/api-source.md).
THROTTLED = {
    "code": 60000,
    "msg": "触发限流，请稍后重试",
    "sub_code": "isv.traffic-limited",
    "sub_msg": "请求太频繁，请稍后重试",
}
THROTTLED_WORDS_ONLY = {
    "code": 50002,
    "msg": "业务处理失败",
    "sub_code": "",
    "sub_msg": "接口调用频率超限",
}
TIMEOUT = {"code": 20001, "msg": "内部服务超时", "sub_code": "", "sub_msg": ""}
TOKEN_EXPIRED = {
    "code": 40003,
    "msg": "非法的参数",
    "sub_code": "isv.access-token-expired",
    "sub_msg": "access_token已过期",
}
TOKEN_UNKNOWN = {
    "code": 40003,
    "msg": "非法的参数",
    "sub_code": "isv.access-token-no-existed",
    "sub_msg": "access_token不存在，请使用最新的access_token访问",
}
SIGN_INVALID = {
    "code": 40003,
    "msg": "非法的参数",
    "sub_code": "isv.signature-invalid",
    "sub_msg": "签名校验失败",
}
SIGN_MISSING = {
    "code": 40001,
    "msg": "缺少必选参数",
    "sub_code": "isv.signature-missing",
    "sub_msg": "获取签名失败，请根据文档确保参数拼装正确",
}
REFRESH_REFUSED = {
    "code": 50001,
    "msg": "平台处理失败",
    "sub_code": "dop.token-generate-failed:token-invalid",
    "sub_msg": "生成token失败，token不存在",
}
NOT_AUTHORISED = {
    "code": 50001,
    "msg": "平台处理失败",
    "sub_code": "dop.token-generate-failed:no-authorization",
    "sub_msg": "生成token失败，店铺授权已失效，请重新引导商家完成店铺授权",
}
UNAVAILABLE = {"code": 20000, "msg": "服务不可用", "sub_code": "isp.service-error", "sub_msg": ""}
TOKEN_PATHS = ("/token/create", "/token/refresh")
ACCESS_SECONDS = 7 * 86_400


def bad_param(detail: str) -> dict[str, Any]:
    return {
        "code": 40000,
        "msg": "业务参数错误",
        "sub_code": "isv.invalid-parameter",
        "sub_msg": detail,
    }


# 售后类型 / 售后状态 / 仲裁状态 / 订单状态 text of the exports → the API's codes.
AFTERSALE_TYPE_CODE = {"退货退款": 0, "已发货仅退款": 1, "未发货仅退款": 2, "换货": 3, "补寄": 7}
AFTERSALE_STATUS_CODE = {
    "待商家同意": 6,
    "待买家退货": 7,
    "待商家发货": 8,
    "待商家收货": 11,
    "同意退款，退款成功": 12,
    "售后成功": 12,
    "换货成功": 14,
    "售后关闭": 28,
}
ARBITRATE_CODE = {"": 0, "仲裁中": 1, "仲裁完成": 255}
ORDER_STATUS_CODE = {"待发货": 2, "已发货": 3, "已完成": 5, "已关闭": 4}


@dataclass
class Fault:
    """A scripted failure: `kind` on requests to `path` (for `page`, or any page), for the
    next `times` matching requests (None: every one)."""

    path: str
    # http_500 | http_502 | disconnect | unavailable | timeout | throttle | throttle_words |
    # token_expired | sign_missing
    kind: str
    page: int | None = None
    times: int | None = 1
    hits: int = 0


@dataclass
class Seen:
    """One request as received (tests look at what went over the wire)."""

    path: str
    query: dict[str, str]
    body: str
    params: dict[str, Any]
    answer: str  # "ok", a fault kind, or the error's sub_code
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Dataset:
    """What the platform knows: API records plus the times it filters and sorts on."""

    orders: dict[str, dict[str, Any]]
    refunds: dict[str, dict[str, Any]]
    order_times: dict[str, tuple[int, int]] = field(default_factory=dict)  # (create, update)
    refund_times: dict[str, tuple[int, int]] = field(default_factory=dict)  # (apply, update)


# --- the data ----------------------------------------------------------------------------


def build_dataset(
    shop: SyntheticShop, tz: str = "Asia/Shanghai", open_ids: bool = False
) -> Dataset:
    """The shop as the API serves it, read from its own 抖店 export files."""
    zone = ZoneInfo(tz)
    with tempfile.TemporaryDirectory() as tmp:
        order_file, refund_file = write_doudian_exports(shop, Path(tmp), by="all", tab_ids=False)
        order_rows = _read(order_file)
        refund_rows = _read(refund_file)
    quantity = dict(
        zip(shop.refunds["refund_id"], shop.refunds["quantity"].astype(int), strict=True)
    )

    def epoch(text: str) -> int:
        if not text:
            return 0
        return int(dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).timestamp())

    refunds: dict[str, dict[str, Any]] = {}
    refund_times: dict[str, tuple[int, int]] = {}
    line_qty = {r["子订单编号"]: int(r["商品数量"]) for r in order_rows}
    updated_by_line: dict[str, int] = {}
    for r in refund_rows:
        applied = epoch(r["售后申请时间"])
        final = epoch(r["售后完结时间"])
        updated = max(
            applied,
            *(
                epoch(r[k])
                for k in ("同意售后申请时间", "退货发货时间", "商家退款时间", "售后关闭时间")
            ),
            final,
        )
        refund_id = r["售后单号"]
        freight = _cents(r["退运费金额（元）"]) or (600 if len(refunds) % 3 == 0 else 0)
        refunds[refund_id] = {
            "aftersale_info": {
                "aftersale_id": refund_id,
                "aftersale_order_type": 1,
                "aftersale_type": AFTERSALE_TYPE_CODE[r["售后类型"]],
                "aftersale_status": AFTERSALE_STATUS_CODE[r["售后状态"]],
                "related_id": r["商品单号"],
                "apply_time": applied,
                "create_time": applied + 1,
                "update_time": updated,
                "aftersale_status_to_final_time": final,
                # 申请退款的金额（含运费）: the platform's total includes the freight part.
                # The synthetic exports refund no freight, so every third refund gets some
                # here (both in the total and in refund_post_amount): the goods part, the
                # export's 退商品金额, must still come out the same.
                "refund_amount": _cents(r["退商品金额（元）"]) + freight,
                "refund_post_amount": freight,
                "aftersale_num": int(quantity[refund_id]),
                "arbitrate_status": ARBITRATE_CODE[r["仲裁状态"]],
                "return_logistics_company_name": r["退货物流公司"],
                "return_logistics_code": r["退货物流单号"],
                "remark": "买家电话13800138000，已联系",  # merchant notes can carry PII
                "reason_second_labels": [r["售后原因标签"]],
            },
            "order_info": {
                "shop_order_id": r["订单号"],
                "related_order_info": [
                    {
                        "sku_order_id": r["商品单号"],
                        "product_id": int(r["商品ID"]),
                        "sku_id": _sku_number(r["商家编码"]),
                        "product_name": r["商品名称"],
                        "item_num": line_qty.get(r["商品单号"], 1),
                        "pay_amount": _cents(r["应付金额（元）"]),
                        "aftersale_item_num": int(quantity[refund_id]),
                    }
                ],
            },
            "text_part": {
                "reason_text": r["售后原因"],
                "aftersale_status_text": r["售后状态"],
                "aftersale_type_text": r["售后类型"],
            },
        }
        refund_times[refund_id] = (applied, updated)
        line = r["商品单号"]
        updated_by_line[line] = max(updated_by_line.get(line, 0), updated)

    orders: dict[str, dict[str, Any]] = {}
    order_times: dict[str, tuple[int, int]] = {}
    for r in order_rows:
        order_id, line_id = r["主订单编号"], r["子订单编号"]
        created, paid = epoch(r["订单提交时间"]), epoch(r["支付完成时间"])
        shipped, finished = epoch(r["发货时间"]), epoch(r["订单完成时间"])
        updated = max(created, paid, shipped, finished, updated_by_line.get(line_id, 0))
        status = r["订单状态"]
        order = orders.get(order_id)
        if order is None:
            phone = r["收件人手机号"]
            order = orders[order_id] = {
                "order_id": order_id,
                "shop_id": 88001,
                "create_time": created,
                "pay_time": paid,
                "update_time": updated,
                "finish_time": finished,
                "order_status": ORDER_STATUS_CODE.get(status, 2),
                "order_status_desc": status,
                "pay_amount": 0,
                "post_tel": phone,
                "encrypt_post_tel": f"${phone[-4:]}$ENCRYPTED$==",
                "mask_post_tel": phone[:3] + "****" + phone[-4:],
                "post_receiver": r["收件人"],
                "encrypt_post_receiver": "~ENCRYPTED~NAME~",
                "mask_post_receiver": r["收件人"][:1] + "*",
                "post_addr": {
                    "province": {"id": "44", "name": r["省"]},
                    "city": {"id": "4401", "name": r["市"]},
                    "town": {"id": "440106", "name": r["区"]},
                    "street": {"id": "440106001", "name": r["街道"]},
                    "detail": r["详细地址"],
                    "encrypt_detail": "#ENCRYPTED#ADDRESS#",
                },
                "buyer_words": r["买家留言"],
                "seller_words": "",
                "logistics_info": [],
                "sku_order_list": [],
            }
            if open_ids:
                order["doudian_open_id"] = "1@#" + hashlib.sha1(phone.encode()).hexdigest()
        order["update_time"] = max(order["update_time"], updated)
        order["pay_amount"] += _cents(r["订单应付金额"])
        order["sku_order_list"].append(
            {
                "order_id": line_id,
                "parent_order_id": order_id,
                "product_id": int(r["商品ID"]),
                "product_id_str": r["商品ID"],
                "sku_id": _sku_number(r["商家编码"]),
                "code": r["商家编码"],
                "product_name": r["选购商品"],
                "item_num": int(r["商品数量"]),
                "origin_amount": _cents(r["商品金额"]),
                "sum_amount": _cents(r["商品金额"]) * int(r["商品数量"]),
                "pay_amount": _cents(r["订单应付金额"]),
                "pay_time": paid,
                "create_time": created,
                "update_time": updated,
                "order_status": ORDER_STATUS_CODE.get(status, 2),
                "order_status_desc": status,
                "post_tel": r["收件人手机号"],
                "post_receiver": r["收件人"],
            }
        )
        if r["快递信息"]:
            tracking, carrier = r["快递信息"].split(",", 1)[0].rsplit("-", 1)
            order["logistics_info"].append(
                {
                    "tracking_no": tracking,
                    "company": "code-" + str(len(carrier)),
                    "company_name": carrier,
                    "ship_time": shipped,
                    "product_info": [
                        {
                            "sku_order_id": line_id,
                            "product_id": int(r["商品ID"]),
                            "product_name": r["选购商品"],
                            "product_count": int(r["商品数量"]),
                        }
                    ],
                }
            )
        previous = order_times.get(order_id)
        order_times[order_id] = (
            min(previous[0], created) if previous else created,
            max(previous[1], order["update_time"]) if previous else order["update_time"],
        )
    for order_id, order in orders.items():
        order_times[order_id] = (order_times[order_id][0], order["update_time"])
    return Dataset(orders, refunds, order_times, refund_times)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _sku_number(code: str) -> int:
    """The platform's sku_id for a demo row: the demo writes its SKU id as 商家编码 (0, the
    API's "no SKU", for a code that is not a number)."""
    return int(code) if code.isdigit() else 0


def _cents(text: str) -> int:
    return int(Decimal(text or "0") * 100)


# --- the server --------------------------------------------------------------------------


class FakeDoudian:
    """The fake platform; use as a context manager (or start()/close())."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        access_token: str = ACCESS_TOKEN,
        max_window_seconds: int = 7 * 86_400,
    ):
        self.data = copy.deepcopy(dataset)
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        self.max_window_seconds = max_window_seconds
        self.token_expired = False
        # Tokens: the live access token (above), the refresh tokens still unspent (each is
        # single use), access tokens the platform has replaced, and what was issued.
        self.refresh_tokens: set[str] = {REFRESH_TOKEN}
        self.retired_tokens: set[str] = set()
        self.issued: list[dict[str, Any]] = []
        self.self_use_shop_id = SELF_USE_SHOP_ID
        # expire_token_after(n): the access token expires after n more data pages.
        self._pages_until_expiry: int | None = None
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.on_page: Callable[[str, dict[str, Any]], None] | None = None
        self._log_ids = 0
        self._lock = threading.RLock()
        self._server = HTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeDoudian:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeDoudian:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting --

    def add_fault(
        self, path: str, kind: str, *, page: int | None = None, times: int | None = 1
    ) -> Fault:
        fault = Fault(path, kind, page, times)
        self.faults.append(fault)
        return fault

    def expire_token_after(self, pages: int) -> None:
        """The live access token expires after `pages` more data pages are served."""
        self._pages_until_expiry = pages

    def issue(self) -> dict[str, Any]:
        """A new token pair (what token.create / token.refresh answer); the old access
        token is retired."""
        n = len(self.issued) + 1
        pair = {
            "access_token": f"fake-access-token-issued-{n:03d}",
            "expires_in": ACCESS_SECONDS,
            "refresh_token": f"fake-refresh-token-issued-{n:03d}",
            "scope": "SCOPE",
            "shop_id": self.self_use_shop_id,
            "shop_name": "测试店铺",
            "authority_id": "",
            "auth_subject_type": "",
        }
        self.retired_tokens.add(self.access_token)
        self.access_token = pair["access_token"]
        self.token_expired = False
        self.refresh_tokens.add(pair["refresh_token"])
        self.issued.append(pair)
        return pair

    def clear_faults(self) -> None:
        self.faults.clear()

    def data_requests(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if path is None or s.path == path]

    # -- what the platform holds --

    def matching(self, path: str, by: str, start: int, end: int) -> list[str]:
        """Ids of the records a window selects, in the order pages serve them."""
        times = self.data.order_times if path == ORDERS_PATH else self.data.refund_times
        index = 0 if by == "create" else 1
        hits = [(t[index], rid) for rid, t in times.items() if start <= t[index] <= end]
        return [rid for _, rid in sorted(hits)]

    def update_refund(self, refund_id: str, *, updated: int, **info: Any) -> None:
        """A refund moving on: new aftersale_info values, text and update time."""
        record = self.data.refunds[refund_id]
        text = info.pop("status_text", None)
        record["aftersale_info"].update(info, update_time=updated)
        if text is not None:
            record["text_part"]["aftersale_status_text"] = text
        applied, _ = self.data.refund_times[refund_id]
        self.data.refund_times[refund_id] = (applied, updated)

    def update_order(self, order_id: str, *, updated: int, status_text: str | None = None) -> None:
        record = self.data.orders[order_id]
        record["update_time"] = updated
        for line in record["sku_order_list"]:
            line["update_time"] = updated
            if status_text:
                line["order_status_desc"] = status_text
        created, _ = self.data.order_times[order_id]
        self.data.order_times[order_id] = (created, updated)

    # -- one request --

    def answer(
        self, path: str, query: dict[str, str], body: str
    ) -> tuple[int, dict[str, Any] | None, str]:
        """(HTTP status, envelope or None for a dropped connection, what happened)."""
        params: dict[str, Any] = {}
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            return 200, self._envelope(bad_param("param_json is not JSON")), "bad_json"
        problem = self._check(path, query, body, params)
        if problem is not None:
            return 200, self._envelope(problem), problem["sub_code"]
        fault = self._fault(path, params)
        if fault is not None:
            return self._faulted(fault)
        if path in TOKEN_PATHS:
            return self._token(path, params)
        if path not in (ORDERS_PATH, REFUNDS_PATH):
            return 404, None, "not_found"
        result = self._search(path, params)
        if "code" in result:
            return 200, self._envelope(result), result["sub_code"]
        if self.on_page is not None:
            self.on_page(path, params)
        with self._lock:
            if self._pages_until_expiry is not None:
                self._pages_until_expiry -= 1
                if self._pages_until_expiry <= 0:
                    self.token_expired = True
                    self._pages_until_expiry = None
        return 200, self._envelope({"code": 10000, "msg": "success"}, result), "ok"

    def _token(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        """token.refresh spends its refresh token and issues a new pair; token.create
        (self-use apps: grant_type authorization_self and the shop id) issues one."""
        with self._lock:
            if path == "/token/refresh":
                given = params.get("refresh_token")
                if params.get("grant_type") != "refresh_token":
                    refused = bad_param("grant_type must be refresh_token")
                elif given not in self.refresh_tokens:
                    refused = REFRESH_REFUSED
                else:
                    self.refresh_tokens.discard(given)
                    refused = None
            elif (
                params.get("grant_type") != "authorization_self"
                or str(params.get("shop_id")) != self.self_use_shop_id
            ):
                refused = NOT_AUTHORISED
            else:
                refused = None
            if refused is not None:
                return 200, self._envelope(refused), refused["sub_code"]
            pair = self.issue()
        return 200, self._envelope({"code": 10000, "msg": "success"}, pair), "ok"

    def _check(
        self, path: str, query: dict[str, str], body: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        if not query.get("sign"):
            return SIGN_MISSING
        required = ("app_key", "method", "timestamp", "v", "sign_method")
        if path not in TOKEN_PATHS:
            required += ("access_token",)
        missing = [k for k in required if not query.get(k)]
        if missing:
            return bad_param(f"missing query parameter(s) {missing}")
        if query["app_key"] != self.app_key:
            return {
                "code": 30001,
                "msg": "app_key不存在",
                "sub_code": "isv.app-key-invalid",
                "sub_msg": "",
            }
        if query["method"] != path.strip("/").replace("/", "."):
            return bad_param(f"method {query['method']} does not match {path}")
        if query["v"] != "2" or query["sign_method"] != "hmac-sha256":
            return bad_param("v must be 2 and sign_method hmac-sha256")
        if abs(int(query["timestamp"]) - time.time()) > 600:
            return bad_param("timestamp too far from the server time")
        expected = _sign(self.app_key, self.app_secret, query["method"], body, query["timestamp"])
        if not hmac.compare_digest(expected, query["sign"]):
            return SIGN_INVALID
        canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if canonical != body:
            return bad_param("param_json must be compact JSON with sorted keys")
        if path in TOKEN_PATHS:
            return None
        token = query["access_token"]
        if token in self.retired_tokens or (token == self.access_token and self.token_expired):
            return TOKEN_EXPIRED
        if token != self.access_token:
            return TOKEN_UNKNOWN
        return None

    def _fault(self, path: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path != path or (
                    fault.page is not None and fault.page != params.get("page")
                ):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault
        return None

    def _faulted(self, fault: Fault) -> tuple[int, dict[str, Any] | None, str]:
        kind = fault.kind
        if kind in ("http_500", "http_502"):
            return int(kind[-3:]), {"message": "upstream error"}, kind
        if kind == "disconnect":
            return 0, None, kind
        envelope = {
            "unavailable": UNAVAILABLE,
            "timeout": TIMEOUT,
            "sign_missing": SIGN_MISSING,
            "throttle": THROTTLED,
            "throttle_words": THROTTLED_WORDS_ONLY,
            "token_expired": TOKEN_EXPIRED,
        }[kind]
        return 200, self._envelope(envelope), kind

    def _search(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        windows = (
            {
                "create": ("create_time_start", "create_time_end"),
                "update": ("update_time_start", "update_time_end"),
            }
            if path == ORDERS_PATH
            else {
                "create": ("start_time", "end_time"),
                "update": ("update_start_time", "update_end_time"),
            }
        )
        used = [by for by, (a, b) in windows.items() if a in params or b in params]
        if len(used) != 1:
            return bad_param("give exactly one time window")
        first, last = windows[used[0]]
        if not isinstance(params.get(first), int) or not isinstance(params.get(last), int):
            return bad_param(f"{first} and {last} must be epoch seconds")
        start, end = params[first], params[last]
        if end < start or end - start > self.max_window_seconds:
            return bad_param("查询时间跨度不能超过7天")
        page, size = params.get("page"), params.get("size")
        if (
            not isinstance(page, int)
            or page < 0
            or not isinstance(size, int)
            or not 1 <= size <= 100
        ):
            return bad_param("page must be ≥ 0 and size 1..100")
        ids = self.matching(path, used[0], start, end)
        chunk = ids[page * size : (page + 1) * size]
        if path == ORDERS_PATH:
            return {
                "shop_order_list": [copy.deepcopy(self.data.orders[i]) for i in chunk],
                "total": len(ids),
                "page": page,
                "size": size,
            }
        return {
            "items": [copy.deepcopy(self.data.refunds[i]) for i in chunk],
            "total": len(ids),
            "has_more": (page + 1) * size < len(ids),
            "page": page,
            "size": size,
        }

    def _envelope(self, head: dict[str, Any], data: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            self._log_ids += 1
            log_id = f"20261120{self._log_ids:012d}"
        return {"sub_code": "", "sub_msg": "", **head, "log_id": log_id, "data": data or {}}


def _sign(app_key: str, secret: str, method: str, body: str, timestamp: str) -> str:
    text = f"{secret}app_key{app_key}method{method}param_json{body}timestamp{timestamp}v2{secret}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _handler(fake: FakeDoudian) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            status, envelope, what = fake.answer(parts.path, query, body)
            try:
                params = json.loads(body)
            except ValueError:
                params = {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.seen.append(Seen(parts.path, query, body, params, what, headers))
            if envelope is None and status == 0:
                self.close_connection = True
                self.connection.shutdown(2)  # drop it: the client sees a connection error
                return
            payload = json.dumps(envelope or {}, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
