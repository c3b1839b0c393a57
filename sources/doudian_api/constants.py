"""Everything returnwatch knows about the 抖店 Open Platform, as data.

Paths, request constants, the envelope codes the client reacts to, the enum tables that
turn API codes into the words the 抖店 exports use, and the keys that carry personal
data. Kept in one place so a change on the platform's side is a change here, not a hunt
through the client. Sources: the platform's published SDKs and API pages, summarised in
/work/shared/formats/doudian.md; where the platform publishes no list (throttling and
token errors), matching is by sub_code *and* by keywords in the message, so a reworded
error still lands in the right class.
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

# code 20000 is the platform's "服务不可用" (service unavailable): retried like HTTP 5xx.
# sub_codes starting "isp." are the platform's own failures (as opposed to "isv.", the
# caller's), also retried.
RETRYABLE_CODES = frozenset({20000})
RETRYABLE_SUB_CODE_PREFIX = "isp."
# Throttling: the platform answers HTTP 200 with an error envelope.
THROTTLE_SUB_CODES = frozenset({"isv.frequency-limited", "isv.api-frequency-limited"})
THROTTLE_WORDS = ("频率", "限流", "频繁", "frequency", "rate limit", "too many requests")
# An expired, revoked or unknown access token: retrying cannot help, a person must act.
TOKEN_SUB_CODES = frozenset(
    {"isv.access-token-expired", "isv.access-token-no-exist", "isv.access-token-invalid"}
)
TOKEN_WORDS = ("access_token", "access token", "accesstoken")
# A refused signature: the app_key/app_secret pair is wrong.
SIGN_SUB_CODES = frozenset({"isv.sign-invalid", "isv.signature-invalid"})
SIGN_WORDS = ("签名", "signature")

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
# aftersale_status, used when text_part.aftersale_status_text is missing or unknown; the
# words are the SDK's (zsmhub/doudian-sdk api/afterSale_List, the standard_aftersale_status
# filter of afterSale/List, Lesible/retrofit-doudian-sdk AfterSaleInfo.java). 13 and 14
# cover 换货, 补寄 and 维修 alike. 28 售后失败 is a refund that ended without success
# (withdrawn by the buyer, timed out, refused for good; the 售后 export shows 售后关闭):
# both map to closed through the export profile's status table.
AFTERSALE_STATUS_TEXT = {
    3: "换货待买家收货",
    6: "待商家同意",
    7: "待买家退货",
    8: "待商家发货",
    11: "待商家二次同意",
    12: "售后成功",
    13: "换货补寄维修待买家收货",
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
