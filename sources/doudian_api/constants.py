"""Everything returnwatch knows about the 抖店 Open Platform, as data.

Paths, request constants, the envelope codes the client reacts to, the enum tables that
turn API codes into the words the 抖店 exports use, and the keys that carry personal
data. Kept in one place so a change on the platform's side is a change here, not a hunt
through the client. Sources: the platform's published SDKs and API pages, summarised in
/work/shared/formats/doudian.md; error codes follow the platform's base error
table (平台基础错误码汇总) by code and sub_code, with keywords in the message as a last
resort, so a reworded error still lands in the right class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --- request -----------------------------------------------------------------------------

API_VERSION = "2"
SIGN_METHOD = "hmac-sha256"
SUCCESS_CODE = 10000
MAX_PAGE_SIZE = 100
# A setting value of this form is read from a Prefect Secret block of that name.
PREFECT_SECRET_PREFIX = "prefect-secret:"
# The env variables a user sets, named in error messages (never their values).
ENV_APP_KEY = "RETURNWATCH_SOURCE__API__APP_KEY"
ENV_APP_SECRET = "RETURNWATCH_SOURCE__API__APP_SECRET"
ENV_ACCESS_TOKEN = "RETURNWATCH_SOURCE__API__ACCESS_TOKEN"

SOURCE = "api"  # load_batches.source and source_watermarks.source
# Rows per canonical CSV handed to the importer; a pull bigger than this is several files.
MAX_ROWS_PER_FILE = 500_000
# A chunk that still reports more rows than `max_rows_per_chunk` is halved, but never
# below this many seconds (one busy minute cannot be split further usefully).
MIN_CHUNK_SECONDS = 60
# A chunk is paged again (at most this many passes) when its total moved while paging:
# a record updated mid-pull leaves the window and shifts every later record one place, so
# a single pass could skip one.
MAX_CHUNK_PASSES = 3

StreamName = Literal["orders", "refunds"]


@dataclass(frozen=True)
class Stream:
    """One API list endpoint and how returnwatch pages it."""

    name: StreamName
    path: str  # the method path, e.g. "/order/searchList"
    items_key: str  # where the records are in `data`
    update_window: tuple[str, str]  # filter params for "updated between"
    create_window: tuple[str, str]  # filter params for "created (applied) between"


ORDERS = Stream(
    name="orders",
    path="/order/searchList",
    items_key="shop_order_list",
    update_window=("update_time_start", "update_time_end"),
    create_window=("create_time_start", "create_time_end"),
)
REFUNDS = Stream(
    name="refunds",
    path="/afterSale/List",
    items_key="items",
    update_window=("update_start_time", "update_end_time"),
    create_window=("start_time", "end_time"),
)
STREAMS: dict[str, Stream] = {s.name: s for s in (ORDERS, REFUNDS)}

# --- envelope codes ----------------------------------------------------------------------

# The platform's base error table (平台基础错误码汇总, op.jinritemai.com/docs/guide-docs/212/
# 1427), as the public SDKs carry it (docs/api-source.md cites them). The client decides by
# `code` first, then by `sub_code`, and only then by words in the message, so a reworded
# message still lands in the right class and a new sub_code of a known code does too.
CODE_SERVICE_UNAVAILABLE = 20000  # 服务不可用
CODE_SERVICE_TIMEOUT = 20001  # 内部服务超时
CODE_NO_PERMISSION = 30001  # 操作权限不足 (dop.authorization-no-existed: shop not authorised)
CODE_MISSING_PARAMETER = 40001  # 缺少必选参数（平台校验）: isv.signature-missing, …
CODE_INVALID_PARAMETER = 40003  # 非法的参数（平台校验）: token and signature sub_codes
CODE_TOKEN_GENERATION = 50001  # 平台处理失败: dop.token-generate-failed:* (create / refresh)
CODE_THROTTLED = 60000  # 触发限流，请稍后重试
CODE_API_OFFLINE = 70000  # 接口服务已下线 (isp.api-service-off): not worth a retry
# Retried like HTTP 5xx: the platform's own failures. sub_codes starting "isp." are the
# platform's (as opposed to "isv.", the caller's), also retried.
RETRYABLE_CODES = frozenset({CODE_SERVICE_UNAVAILABLE, CODE_SERVICE_TIMEOUT})
RETRYABLE_SUB_CODE_PREFIX = "isp."
# Throttling: HTTP 200 with code 60000 (sub_code isv.traffic-limited). Older answers and
# other gateways used the other sub_codes; the words are the last resort.
THROTTLE_CODES = frozenset({CODE_THROTTLED})
THROTTLE_SUB_CODES = frozenset(
    {"isv.traffic-limited", "isv.frequency-limited", "isv.api-frequency-limited"}
)
THROTTLE_WORDS = ("频率", "限流", "频繁", "frequency", "rate limit", "too many requests")
# An access token the platform does not accept (code 40003, or 40001 when it is missing).
# The first two are what the official SDKs refresh on; "invalid" means the token belongs
# to another app (app_key and access_token do not match): refreshing cannot help.
TOKEN_REFRESHABLE_SUB_CODES = frozenset({"isv.access-token-expired", "isv.access-token-no-existed"})
# The shop's authorisation itself gone (30001): only authorising again helps.
AUTHORISATION_SUB_CODES = frozenset({"dop.authorization-no-existed", "dop.authorization-closed"})
TOKEN_SUB_CODES = (
    TOKEN_REFRESHABLE_SUB_CODES
    | AUTHORISATION_SUB_CODES
    | {"isv.access-token-invalid", "isv.access-token-missing"}
)
TOKEN_WORDS = ("access_token", "access token", "accesstoken")
# A refused or missing signature: the app_key/app_secret pair is wrong.
SIGN_SUB_CODES = frozenset({"isv.signature-invalid", "isv.signature-missing"})
SIGN_WORDS = ("签名", "signature")
# Headers the official SDKs send with every call: `x-open-no-old-err-code: 1` asks for
# the current error codes above (not the legacy ones), `from: sdk` marks an SDK-style
# client. sdk-type / sdk-version are not sent: returnwatch is not one of the SDKs.
REQUEST_HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "from": "sdk",
    "x-open-no-old-err-code": "1",
}

# --- tokens ------------------------------------------------------------------------------

# token.create / token.refresh (the SDKs' token/create and token/refresh request paths);
# signed like every call, sent without an access token.
TOKEN_CREATE_PATH = "/token/create"
TOKEN_REFRESH_PATH = "/token/refresh"
# Lifetimes the platform documents: access 7 days (the answer's expires_in says so too),
# refresh token 14 days, single use (refreshing returns a new one and spends the old).
ACCESS_TOKEN_DAYS = 7
REFRESH_TOKEN_DAYS = 14
# The chat is told this many days before the refresh token expires.
REFRESH_WARN_DAYS = 3
# An access token this close to its expiry is renewed before the pull starts.
RENEW_MARGIN_SECONDS = 600
ENV_REFRESH_TOKEN = "RETURNWATCH_SOURCE__API__REFRESH_TOKEN"
WHAT_TO_DO_AUTHORISE = (
    "authorise the app again in the 抖店 backend (抖店开放平台 / 服务市场 → 授权管理), then set "
    f"the new token in {ENV_REFRESH_TOKEN} (or [source.api] refresh_token); a self-use app "
    "with [source.api] self_use_shop_id only needs its authorisation renewed"
)

# --- enums: API codes -> the words of the 抖店 exports ----------------------------------

# aftersale_type; the canonical refund_type follows the 售后 export profile's reading of
# these words (profiles.classify), so a refund reads the same whichever way it arrived.
AFTERSALE_TYPE_TEXT = {
    0: "退货退款",
    1: "已发货仅退款",
    2: "未发货仅退款",
    3: "换货",
    6: "价保",
    7: "补寄",
    8: "维修",
}
# aftersale_status, used when text_part.aftersale_status_text is missing or unknown.
# 28 is written with the platform's own word 售后失败, so it goes through the same label
# map as the 售后 export's 售后失败 and the two sources agree. 3 (the answer's code) and 13
# (the request filter's code) are both 换货/补寄/维修待买家收货: the goods are on their way
# back to the buyer, so the after-sale is still in progress (待买家收货). Sources: the SDK's
# afterSale/List answer (zsmhub/doudian-sdk) and Lesible/retrofit-doudian-sdk's
# AfterSaleInfo.java; see docs/formats.md.
AFTERSALE_STATUS_TEXT = {
    3: "待买家收货",
    6: "待商家同意",
    7: "待买家退货",
    8: "待商家发货",
    11: "待商家二次同意",
    12: "售后成功",
    13: "待买家收货",
    14: "换货成功",
    27: "商家一次拒绝",
    28: "售后失败",
    29: "商家二次拒绝",
}
# arbitrate_status; 0 (无仲裁记录) leaves the column empty, as the export does.
ARBITRATE_STATUS_TEXT = {
    1: "仲裁中",
    2: "客服同意",
    3: "客服拒绝",
    4: "待商家举证",
    5: "协商期",
    255: "仲裁完成",  # the SDK calls 255 仲裁结束; the demo export writes 仲裁完成
}
# shop/sku order_status, used when order_status_desc is missing.
ORDER_STATUS_TEXT = {
    1: "待支付",
    105: "已支付",
    2: "备货中",
    101: "部分发货",
    3: "已发货",
    4: "已取消",
    5: "已完成",
}

# --- personal data -----------------------------------------------------------------------

# Keys dropped (with everything under them) from raw responses kept for audit. The
# mapping never reads them except the buyer key, which it hashes in memory.
PII_KEYS = frozenset(
    {
        "post_receiver",
        "post_tel",
        "buyer_words",
        "seller_words",
        "user_id_info",
        "user_coordinate",
        "doudian_open_id",
        "open_id",
        "contract_info",
        "account_list",
        "receiver_info",
        "remark",
    }
)
PII_KEY_PREFIXES = ("encrypt_", "mask_")
# Inside an address only the region survives: street and detail identify a household.
ADDRESS_KEYS = frozenset({"post_addr"})
ADDRESS_KEEP = frozenset({"province", "city", "town"})
