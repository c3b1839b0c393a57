"""API JSON → canonical rows: money, times, enums, ids, and personal data left behind."""

from __future__ import annotations

import copy
import json

import pytest

from returnwatch.sources.doudian_api.constants import AFTERSALE_STATUS_TEXT
from returnwatch.sources.doudian_api.mapping import (
    buyer_key,
    goods_refund_cents,
    id_text,
    local_time,
    map_order,
    map_refund,
    scrub_pii,
    yuan,
)
from returnwatch.transforms.profiles import DOUDIAN_REFUNDS, DOUDIAN_STATUS_MAP, classify
from returnwatch.transforms.staging import hmac_hex

from .conftest import TZ

KEY = b"test-pii-secret"


def an_order(dataset, with_lines=2):
    order = next(o for o in dataset.orders.values() if len(o["sku_order_list"]) >= with_lines)
    return copy.deepcopy(order)


def test_cents_become_yuan_exactly():
    assert [yuan(v) for v in (1999, 5, 0, "12345", None, "")] == [
        "19.99", "0.05", "0.00", "123.45", None, None
    ]  # fmt: skip
    assert yuan(10**17 + 1) == "1000000000000000.01"


def test_epoch_seconds_become_shop_local_times():
    assert local_time(1782835200, TZ) == "2026-07-01 00:00:00"  # 2026-06-30 16:00 UTC
    assert local_time(0, TZ) is None and local_time(None, TZ) is None


def test_ids_stay_exact_text_and_a_float_id_is_left_for_the_rounded_id_rule():
    assert id_text(6920000000000000123) == "6920000000000000123"
    assert id_text(" 42 ") == "42"
    assert id_text(6.92e18) == "6.92e+18"


def test_an_order_maps_to_one_row_per_line_without_personal_data(dataset):
    order = an_order(dataset)
    rows, unpaid = map_order(order, shop_id="s", tz=TZ, pii_key=KEY)

    assert unpaid == 0
    assert [r.key for r in rows] == [line["order_id"] for line in order["sku_order_list"]]
    line, row = order["sku_order_list"][0], rows[0].row
    assert row["order_id"] == order["order_id"]
    # issue 17: the product is 商品ID, the SKU the platform's own sku_id (one per spec)
    assert row["product_id"] == line["product_id_str"] and row["sku_id"] == str(line["sku_id"])
    assert row["sku_id"] != row["product_id"]
    assert row["quantity"] == str(line["item_num"])
    assert row["unit_price"] == yuan(line["origin_amount"]) and row["amount"] == yuan(
        line["pay_amount"]
    )
    assert row["paid_at"] == local_time(order["pay_time"], TZ)
    assert row["province"] == order["post_addr"]["province"]["name"]
    assert row["city"] == order["post_addr"]["city"]["name"]
    # the same keyed hash the 订单 export's 收件人手机号 gets (the importer hashes it again)
    assert row["customer_id"] == hmac_hex(KEY, order["post_tel"])
    text = json.dumps([r.row for r in rows], ensure_ascii=False)
    for personal in (
        order["post_tel"],
        order["post_receiver"],
        order["post_addr"]["detail"],
        order["post_addr"]["street"]["name"],
    ):
        assert personal not in text


def test_a_line_carrier_comes_from_the_parcel_that_holds_it(dataset):
    order = an_order(dataset)
    order["logistics_info"] = [
        {
            "company_name": "顺丰速运",
            "product_info": [{"sku_order_id": order["sku_order_list"][0]["order_id"]}],
        },
        {
            "company_name": "中通快递",
            "product_info": [{"sku_order_id": order["sku_order_list"][1]["order_id"]}],
        },
    ]
    rows, _ = map_order(order, shop_id="s", tz=TZ, pii_key=KEY)
    assert [r.row["carrier"] for r in rows[:2]] == ["顺丰速运", "中通快递"]

    order["logistics_info"] = []
    rows, _ = map_order(order, shop_id="s", tz=TZ, pii_key=KEY)
    assert rows[0].row["carrier"] is None


def test_a_masked_phone_is_no_buyer_key_the_open_id_is(dataset):
    order = an_order(dataset)
    order["post_tel"] = "138****5678"
    assert buyer_key(order) is None
    order["doudian_open_id"] = "1@#abc"
    assert buyer_key(order) == "doudian_open_id:1@#abc"
    order["post_tel"] = "+86 138-0013-8000"
    assert buyer_key(order) == "13800138000"  # normalised as the importer normalises phones


def test_unpaid_lines_are_skipped_and_counted(dataset):
    order = an_order(dataset)
    order["pay_time"] = 0
    for line in order["sku_order_list"]:
        line["pay_time"] = 0
    rows, unpaid = map_order(order, shop_id="s", tz=TZ, pii_key=KEY)
    assert rows == [] and unpaid == len(order["sku_order_list"])


def a_refund(dataset):
    return copy.deepcopy(next(iter(dataset.refunds.values())))


def test_a_refund_maps_its_fields(dataset):
    item = a_refund(dataset)
    info, line = item["aftersale_info"], item["order_info"]["related_order_info"][0]
    row = map_refund(item, shop_id="s", tz=TZ).row

    assert row["refund_id"] == info["aftersale_id"]
    assert row["order_id"] == item["order_info"]["shop_order_id"]
    assert row["line_id"] == line["sku_order_id"]
    assert row["product_id"] == str(line["product_id"]) and row["sku_id"] == str(line["sku_id"])
    assert row["requested_at"] == local_time(info["apply_time"], TZ)
    # the goods part, as the export's 退商品金额: the API's total includes the freight
    assert row["refund_amount"] == yuan(info["refund_amount"] - info["refund_post_amount"])
    assert row["quantity"] == str(info["aftersale_num"])
    assert row["reason"] == item["text_part"]["reason_text"]
    assert row["approved_at"] is None and row["reason_detail"] is None
    assert "13800138000" not in json.dumps(row, ensure_ascii=False)  # the merchant remark


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (6, "待商家同意", "requested"),
        (7, "待买家退货", "in_progress"),
        (12, "同意退款，退款成功", "completed"),
        (28, "售后关闭", "closed"),
        (27, None, "rejected"),  # no text: the code decides
        # 28 售后失败: the label the 售后 export writes, so both sources map it alike
        (28, None, DOUDIAN_STATUS_MAP["售后失败"]),
        (28, "售后失败", DOUDIAN_STATUS_MAP["售后失败"]),
        # 3 (answer) / 13 (filter): 换货/补寄/维修待买家收货, still under way
        (3, None, "in_progress"),
        (13, None, "in_progress"),
        (14, "", "completed"),
        (12, "某种新写法的售后成功", "completed"),  # unknown words: the export profile's keywords
        (13, "换货补寄维修待买家收货", "in_progress"),
        (14, None, "completed"),
        (8, "待商家审核", "requested"),
    ],
)
def test_refund_status_comes_from_the_platforms_words_else_its_code(dataset, code, text, expected):
    item = a_refund(dataset)
    item["aftersale_info"]["aftersale_status"] = code
    item["text_part"]["aftersale_status_text"] = text
    assert map_refund(item, shop_id="s", tz=TZ).row["status"] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, "return_refund"),
        (1, "refund_only"),
        (2, "refund_only"),
        (3, "exchange"),
        (6, "other"),
        (7, "other"),
        (8, "other"),
        (99, "other"),
    ],
)
def test_refund_type_codes(dataset, code, expected):
    item = a_refund(dataset)
    item["aftersale_info"]["aftersale_type"] = code
    item["text_part"].pop("aftersale_type_text")
    assert map_refund(item, shop_id="s", tz=TZ).row["refund_type"] == expected


def test_arbitration_and_final_time(dataset):
    item = a_refund(dataset)
    info = item["aftersale_info"]
    info.update(arbitrate_status=1, aftersale_status_to_final_time=0)
    row = map_refund(item, shop_id="s", tz=TZ).row
    assert (row["arbitration_status"], row["completed_at"]) == ("仲裁中", None)
    info.update(arbitrate_status=0)
    assert map_refund(item, shop_id="s", tz=TZ).row["arbitration_status"] is None


def test_scrub_pii_removes_personal_data_at_every_depth(dataset):
    order = an_order(dataset)
    order["doudian_open_id"] = "1@#abc"
    order["user_id_info"] = {"id_card_no": "110101199001011234"}
    scrubbed = scrub_pii({"data": {"shop_order_list": [order]}})
    text = json.dumps(scrubbed, ensure_ascii=False)

    for personal in (
        order["post_tel"], order["post_receiver"], order["post_addr"]["detail"],
        order["post_addr"]["street"]["name"], "ENCRYPTED", "1@#abc", "110101199001011234",
        order["mask_post_tel"],
    ):  # fmt: skip
        assert personal not in text
    kept = scrubbed["data"]["shop_order_list"][0]
    assert set(kept["post_addr"]) == {"province", "city", "town"}
    assert "post_tel" not in kept["sku_order_list"][0]
    assert kept["sku_order_list"][0]["product_name"]  # business data stays


@pytest.mark.parametrize("code", sorted(AFTERSALE_STATUS_TEXT))
def test_every_status_code_means_what_its_words_mean_in_an_export(dataset, code):
    """A refund reads the same from the API (a code, no text) and from a 售后 export."""
    item = a_refund(dataset)
    item["aftersale_info"]["aftersale_status"] = code
    item["text_part"]["aftersale_status_text"] = None
    label = AFTERSALE_STATUS_TEXT[code]
    from_file, recognised = classify(DOUDIAN_REFUNDS.field("status"), label)
    assert recognised, label
    assert map_refund(item, shop_id="s", tz=TZ).row["status"] == from_file


@pytest.mark.parametrize(
    ("text", "expected"),
    [("已发货退款", "refund_only"), ("未发货退款", "refund_only"), ("退货退款", "return_refund"),
     ("特殊售后", "other")],
)  # fmt: skip
def test_refund_type_from_text_when_the_code_is_unknown(dataset, text, expected):
    item = a_refund(dataset)
    item["aftersale_info"]["aftersale_type"] = 99
    item["text_part"]["aftersale_type_text"] = text
    assert map_refund(item, shop_id="s", tz=TZ).row["refund_type"] == expected


@pytest.mark.parametrize(
    ("total", "freight", "goods"),
    [
        (8891, 0, 8891),
        (10_000, 1_000, 9_000),  # 申请退款的金额（含运费） minus 申请退的运费金额
        (1_000, 1_000, 0),  # a freight-only refund (退运费)
        (500, 800, 500),  # freight above the total: never documented, the total is kept
        (None, 100, None),
    ],
)
def test_refund_amount_is_the_goods_part_like_the_exports_column(total, freight, goods):
    info = {"refund_amount": total, "refund_post_amount": freight}
    assert goods_refund_cents(info) == goods


def test_an_item_without_sku_id_counts_under_its_product(dataset):
    """Older items (or 0, the platform's "no SKU") name only the product: the SKU is then
    the product, never empty (sku_id is required)."""
    order = an_order(dataset)
    line = order["sku_order_list"][0]
    del line["sku_id"]
    order["sku_order_list"][1:] = []
    item = a_refund(dataset)
    item["order_info"]["related_order_info"][0]["sku_id"] = 0

    row = map_order(order, shop_id="s", tz=TZ, pii_key=KEY)[0][0].row
    refund = map_refund(item, shop_id="s", tz=TZ).row

    assert row["sku_id"] == row["product_id"] == line["product_id_str"]
    assert refund["sku_id"] == refund["product_id"]
    assert refund["sku_id"] == str(item["order_info"]["related_order_info"][0]["product_id"])
