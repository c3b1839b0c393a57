"""A seeded synthetic 抖店 shop with return spikes whose truth is known.

Why it exists: the demo, the importer tests, the detection benchmark and the performance
benchmarks all need months of realistic order lines and refunds, and the benchmark needs to
know exactly which (day, slice) pairs were made abnormal. Real shop data can't be shipped
with the project (it is personal data) and has no ground truth.

What "realistic" means here is what a spike detector is sensitive to: weekday rhythm and
day-to-day volume noise, promo days, a Zipf-like catalogue (a few hits and a long tail),
skewed province and carrier mixes, refund lags of 0–7 days, statuses that depend on the
refund's age at export time, and a small shop-wide day factor on return probability (so
slices move together, as they do in real shops). Everything is drawn from one
`numpy.random.default_rng(seed)` stream in a fixed order, so a seed gives identical frames
and byte-identical export files.

Times are shop-local naive datetimes. Internally they are int64 seconds since the epoch
with `_NAT` (= numpy's NaT bit pattern) for "no time", which keeps the vectorised maths
simple and converts to `datetime64` for free.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------

# (province as 抖店 writes it, share of orders in %). The usual e-commerce skew: the coastal
# provinces dominate, the far west is tiny.
PROVINCES: tuple[tuple[str, float], ...] = (
    ("广东省", 11.0),
    ("浙江省", 8.0),
    ("江苏省", 8.0),
    ("山东省", 7.0),
    ("河南省", 6.0),
    ("四川省", 5.5),
    ("湖北省", 4.5),
    ("湖南省", 4.5),
    ("河北省", 4.5),
    ("福建省", 4.0),
    ("安徽省", 4.0),
    ("上海市", 3.5),
    ("北京市", 3.0),
    ("江西省", 2.8),
    ("广西壮族自治区", 2.8),
    ("辽宁省", 2.8),
    ("陕西省", 2.5),
    ("重庆市", 2.3),
    ("云南省", 2.2),
    ("山西省", 2.0),
    ("黑龙江省", 1.8),
    ("贵州省", 1.8),
    ("吉林省", 1.3),
    ("天津市", 1.3),
    ("内蒙古自治区", 1.2),
    ("新疆维吾尔自治区", 1.0),
    ("甘肃省", 1.0),
    ("海南省", 0.7),
    ("宁夏回族自治区", 0.4),
    ("青海省", 0.25),
    ("西藏自治区", 0.15),
)
# (province, city, districts): a couple of cities per province is enough for the 省/市/区
# columns; the direct-controlled municipalities have one, named like the province.
CITIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("广东省", "广州市", ("天河区", "白云区")),
    ("广东省", "深圳市", ("南山区", "宝安区")),
    ("广东省", "佛山市", ("南海区", "顺德区")),
    ("浙江省", "杭州市", ("西湖区", "余杭区")),
    ("浙江省", "宁波市", ("鄞州区", "海曙区")),
    ("江苏省", "南京市", ("鼓楼区", "江宁区")),
    ("江苏省", "苏州市", ("姑苏区", "吴中区")),
    ("山东省", "济南市", ("历下区", "槐荫区")),
    ("山东省", "青岛市", ("市南区", "黄岛区")),
    ("河南省", "郑州市", ("金水区", "二七区")),
    ("河南省", "洛阳市", ("洛龙区", "西工区")),
    ("四川省", "成都市", ("武侯区", "锦江区")),
    ("四川省", "绵阳市", ("涪城区", "游仙区")),
    ("湖北省", "武汉市", ("洪山区", "江汉区")),
    ("湖北省", "宜昌市", ("西陵区", "伍家岗区")),
    ("湖南省", "长沙市", ("岳麓区", "雨花区")),
    ("湖南省", "株洲市", ("天元区", "芦淞区")),
    ("河北省", "石家庄市", ("长安区", "裕华区")),
    ("河北省", "保定市", ("竞秀区", "莲池区")),
    ("福建省", "福州市", ("鼓楼区", "仓山区")),
    ("福建省", "厦门市", ("思明区", "湖里区")),
    ("安徽省", "合肥市", ("蜀山区", "包河区")),
    ("安徽省", "芜湖市", ("镜湖区", "弋江区")),
    ("上海市", "上海市", ("浦东新区", "闵行区")),
    ("北京市", "北京市", ("朝阳区", "海淀区")),
    ("江西省", "南昌市", ("东湖区", "红谷滩区")),
    ("江西省", "赣州市", ("章贡区", "南康区")),
    ("广西壮族自治区", "南宁市", ("青秀区", "西乡塘区")),
    ("广西壮族自治区", "柳州市", ("城中区", "柳南区")),
    ("辽宁省", "沈阳市", ("和平区", "浑南区")),
    ("辽宁省", "大连市", ("甘井子区", "沙河口区")),
    ("陕西省", "西安市", ("雁塔区", "未央区")),
    ("陕西省", "宝鸡市", ("渭滨区", "金台区")),
    ("重庆市", "重庆市", ("渝北区", "九龙坡区")),
    ("云南省", "昆明市", ("五华区", "盘龙区")),
    ("云南省", "曲靖市", ("麒麟区", "沾益区")),
    ("山西省", "太原市", ("小店区", "迎泽区")),
    ("山西省", "大同市", ("平城区", "云冈区")),
    ("黑龙江省", "哈尔滨市", ("南岗区", "道里区")),
    ("黑龙江省", "大庆市", ("萨尔图区", "让胡路区")),
    ("贵州省", "贵阳市", ("南明区", "观山湖区")),
    ("贵州省", "遵义市", ("汇川区", "红花岗区")),
    ("吉林省", "长春市", ("朝阳区", "南关区")),
    ("吉林省", "吉林市", ("船营区", "丰满区")),
    ("天津市", "天津市", ("南开区", "滨海新区")),
    ("内蒙古自治区", "呼和浩特市", ("新城区", "赛罕区")),
    ("内蒙古自治区", "包头市", ("昆都仑区", "青山区")),
    ("新疆维吾尔自治区", "乌鲁木齐市", ("天山区", "沙依巴克区")),
    ("新疆维吾尔自治区", "克拉玛依市", ("克拉玛依区", "独山子区")),
    ("甘肃省", "兰州市", ("城关区", "七里河区")),
    ("甘肃省", "天水市", ("秦州区", "麦积区")),
    ("海南省", "海口市", ("龙华区", "美兰区")),
    ("海南省", "三亚市", ("吉阳区", "天涯区")),
    ("宁夏回族自治区", "银川市", ("兴庆区", "金凤区")),
    ("宁夏回族自治区", "石嘴山市", ("大武口区", "惠农区")),
    ("青海省", "西宁市", ("城西区", "城东区")),
    ("青海省", "海东市", ("乐都区", "平安区")),
    ("西藏自治区", "拉萨市", ("城关区", "堆龙德庆区")),
    ("西藏自治区", "日喀则市", ("桑珠孜区",)),
)

# (carrier as 抖店 writes it, share of parcels, tracking-number prefix, digits after it).
CARRIERS: tuple[tuple[str, float, str, int], ...] = (
    ("中通快递", 0.26, "7", 13),
    ("圆通速递", 0.20, "YT", 13),
    ("韵达速递", 0.16, "43", 11),
    ("申通快递", 0.12, "77", 11),
    ("极兔速递", 0.12, "JT", 13),
    ("邮政快递包裹", 0.06, "98", 11),
    ("顺丰速运", 0.06, "SF", 12),
    ("京东快递", 0.02, "JDVA", 11),
)

# (name stem, is clothing-like, price low, price high, return rate low, return rate high).
# Clothing returns far more (size, looks) than consumables.
SKU_CATEGORIES: tuple[tuple[str, bool, float, float, float, float], ...] = (
    ("连衣裙", True, 89, 299, 0.18, 0.30),
    ("短袖T恤", True, 39, 129, 0.15, 0.26),
    ("牛仔裤", True, 79, 199, 0.18, 0.30),
    ("连帽卫衣", True, 89, 229, 0.15, 0.26),
    ("休闲裤", True, 69, 169, 0.15, 0.26),
    ("衬衫", True, 69, 189, 0.15, 0.26),
    ("运动鞋", True, 129, 399, 0.12, 0.24),
    ("针织开衫", True, 99, 259, 0.15, 0.28),
    ("保温杯", False, 49, 139, 0.05, 0.10),
    ("蓝牙耳机", False, 99, 399, 0.07, 0.14),
    ("补水面膜", False, 59, 159, 0.05, 0.09),
    ("洗发水", False, 39, 99, 0.05, 0.08),
    ("坚果礼盒", False, 69, 169, 0.05, 0.08),
    ("收纳盒", False, 29, 79, 0.06, 0.12),
    ("手机壳", False, 19, 59, 0.06, 0.12),
    ("四件套", False, 129, 399, 0.08, 0.16),
    ("电动牙刷", False, 99, 299, 0.06, 0.12),
)
CLOTHING_ADJECTIVES: tuple[str, ...] = (
    "夏季新款",
    "韩版宽松",
    "纯棉",
    "法式复古",
    "高腰显瘦",
    "简约百搭",
)
CLOTHING_VARIANTS: tuple[str, ...] = ("黑色 M", "白色 L", "杏色 S", "蓝色 XL", "灰色 M", "卡其色 L")
GOODS_ADJECTIVES: tuple[str, ...] = ("大容量", "家用", "便携", "高颜值", "加厚", "网红同款")
GOODS_VARIANTS: tuple[str, ...] = ("标准款", "升级款", "礼盒装", "两件装", "旗舰款", "经典款")
SKU_POPULARITY_EXPONENT = 1.3

# 售后原因 labels, in the order every weight row below uses.
REFUND_REASONS: tuple[str, ...] = (
    "质量问题",
    "尺码不合适",
    "商品与描述不符",
    "七天无理由退货",
    "物流破损",
    "不想要了",
    "发错货",
    "其他",
)
SIZE_REASON = "尺码不合适"
# 售后原因标签 (the second-level label of the 售后 export), one per reason above.
REASON_TAGS: tuple[str, ...] = (
    "做工瑕疵",
    "尺码拍错/不合适",
    "实物与描述不符",
    "七天无理由",
    "商品破损/污渍",
    "拍错/多拍/不想要",
    "发错货/少件",
    "其他",
)
# What buyers type into 用户售后说明, per reason.
REASON_DETAILS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "质量问题",
        ("开线了，做工太差", "用了两次就坏了", "有明显瑕疵和污渍", "拉链是坏的，质量不行"),
    ),
    ("尺码不合适", ("偏小一码，穿不上", "按尺码表买的还是太大", "腰围不合适", "鞋码偏小，挤脚")),
    ("商品与描述不符", ("颜色和图片差别很大", "材质跟详情页写的不一样", "跟直播间展示的不一样")),
    ("七天无理由退货", ("不太喜欢", "买多了", "家里已经有了")),
    ("物流破损", ("外包装压坏了，里面也碎了", "收到时箱子是破的", "快递暴力运输，商品变形")),
    ("不想要了", ("拍错了", "不想要了", "降价了，重新拍", "地址填错了")),
    ("发错货", ("发错颜色了", "少发了一件", "发的不是我买的款")),
    ("其他", ("其他原因", "和客服协商退款")),
)

# 售后类型 as 抖店 writes it, and the canonical refund_type it maps to.
REFUND_TYPES: tuple[tuple[str, str], ...] = (
    ("退货退款", "return_refund"),
    ("已发货仅退款", "refund_only"),
    ("未发货仅退款", "refund_only"),
    ("换货", "exchange"),
    ("补寄", "other"),
)
RETURN_REFUND, SHIPPED_REFUND_ONLY, UNSHIPPED_REFUND_ONLY, EXCHANGE, RESEND = range(5)
# Mix of 售后类型 for requests made after the parcel left; requests before shipping are all
# 未发货仅退款. Overall this lands near 60% 退货退款, 30% 仅退款, 7% 换货, 3% 补寄.
SHIPPED_TYPE_MIX: tuple[float, ...] = (0.737, 0.14, 0.0, 0.086, 0.037)
# P(reason | 售后类型), rows in REFUND_TYPES order, columns in REFUND_REASONS order.
REASON_MIX: tuple[tuple[float, ...], ...] = (
    (0.20, 0.25, 0.15, 0.24, 0.03, 0.05, 0.03, 0.05),
    (0.15, 0.00, 0.08, 0.05, 0.22, 0.35, 0.05, 0.10),
    (0.00, 0.00, 0.00, 0.05, 0.00, 0.80, 0.00, 0.15),
    (0.25, 0.60, 0.00, 0.00, 0.00, 0.00, 0.10, 0.05),
    (0.00, 0.00, 0.00, 0.00, 0.50, 0.00, 0.30, 0.20),
)

# Canonical refund statuses, and the 售后状态 text of the 抖店 export. The export says
# 售后关闭 for every refund that ended without success (rejected, withdrawn, timed out).
STATUS_TEXT: tuple[tuple[str, str], ...] = (
    ("requested", "待商家同意"),
    ("in_progress", "待买家退货"),
    ("completed", "同意退款，退款成功"),
    ("rejected", "售后关闭"),
    ("cancelled", "售后关闭"),
    ("closed", "售后关闭"),
)
IN_PROGRESS_RECEIVING_TEXT = "待商家收货"
IN_PROGRESS_RESEND_TEXT = "待商家发货"
EXCHANGE_DONE_TEXT = "换货成功"
RESEND_DONE_TEXT = "售后成功"
# (outcome, share): how refunds end if you wait long enough.
OUTCOMES: tuple[tuple[str, float], ...] = (
    ("completed", 0.82),
    ("cancelled", 0.08),
    ("rejected", 0.05),
    ("closed", 0.05),
)

# Weekday volume factors, Monday first: a Monday dip and a strong weekend.
WEEKDAY_VOLUME: tuple[float, ...] = (0.85, 0.95, 1.0, 1.0, 1.05, 1.3, 1.3)
DAY_VOLUME_SD = 0.15  # lognormal sd of shop-wide day-to-day volume noise
DAY_RETURN_SD = 0.05  # lognormal sd of the shop-wide day factor on return probability
PROMO_DATES: tuple[tuple[int, int], ...] = ((6, 18), (8, 8), (9, 9), (11, 11), (12, 12))
RANDOM_PROMO_RATE = 1 / 40
PROMO_VOLUME = (2.0, 3.0)
ORDER_SIZE_MIX: tuple[float, ...] = (0.82, 0.14, 0.04)  # P(1, 2, 3 lines per order)
QUANTITY_MIX: tuple[float, ...] = (0.85, 0.12, 0.03)  # P(quantity 1, 2, 3)
DISCOUNTS: tuple[tuple[float, float], ...] = ((1.0, 0.55), (0.95, 0.2), (0.9, 0.15), (0.8, 0.1))
REPEAT_BUYER_SD = 1.0  # lognormal sd of buyer activity: some buyers order again and again
PROVINCE_RETURN_RANGE = (0.9, 1.1)

# Share of orders paid in each hour of the day (live-stream evenings peak).
PAID_HOUR_WEIGHTS: tuple[float, ...] = (
    2.0, 1.2, 0.6, 0.3, 0.2, 0.3, 0.8, 1.8, 3.0, 4.0, 4.5, 5.0,
    5.2, 4.5, 4.2, 4.3, 4.5, 4.8, 5.2, 6.5, 8.0, 8.5, 7.5, 4.5,
)  # fmt: skip
# Share of refund requests in each hour of the day.
REQUEST_HOUR_WEIGHTS: tuple[float, ...] = (
    1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 4.0, 5.5, 6.0, 6.0,
    5.5, 5.5, 5.5, 5.5, 5.5, 5.5, 5.5, 6.0, 6.5, 6.0, 4.5, 2.5,
)  # fmt: skip
# P(request day − payment day = 0..7): most buyers ask 1–4 days after paying.
LAG_PMF: tuple[float, ...] = (0.07, 0.20, 0.22, 0.18, 0.12, 0.09, 0.07, 0.05)
MAX_LAG_DAYS = len(LAG_PMF) - 1

# Spikes: first possible day (so detectors have a baseline), multiplier range, the cause
# that dominates each kind, and the 售后类型 mix that cause produces.
MIN_BASELINE_DAYS = 35
RANDOM_SPIKE_MULTIPLIER = (1.8, 4.0)
MIN_SPIKE_RETURNS = 3
MIN_SPIKE_SLICE_RETURNS_PER_DAY = 2.0
SPIKE_CAUSE_SHARE = 0.8
SPIKE_CARRIER_WEIGHT = 12.0
SPIKE_DIMENSIONS: tuple[str, ...] = ("sku", "region", "shop")
SPIKE_DIMENSION_MIX: tuple[float, ...] = (0.45, 0.35, 0.20)
SPIKE_CAUSES: tuple[tuple[str, str, tuple[float, ...]], ...] = (
    ("sku", "质量问题", (0.70, 0.15, 0.0, 0.15, 0.0)),
    ("region", "物流破损", (0.30, 0.55, 0.0, 0.05, 0.10)),
    ("shop", "发错货", (0.45, 0.15, 0.0, 0.30, 0.10)),
)

# Buyer personal data (all fake).
SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
)
GIVEN_NAME_CHARS: tuple[str, ...] = tuple(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红建文辉"
)
PHONE_PREFIXES: tuple[str, ...] = ("138", "139", "135", "136", "150", "152", "158", "159", "177",
                                   "180", "181", "186", "187", "188", "189", "191", "199")  # fmt: skip
STREETS: tuple[str, ...] = (
    "新城街道",
    "城南街道",
    "人民路街道",
    "滨江街道",
    "中山街道",
    "开发区街道",
)
ROADS: tuple[str, ...] = (
    "建设路",
    "解放路",
    "中山路",
    "人民路",
    "文化路",
    "和平路",
    "幸福路",
    "长江路",
)

# Export cosmetics: columns no metric reads, filled so the files look like the real thing.
PAYMENT_METHODS: tuple[tuple[str, float], ...] = (
    ("抖音支付", 0.45), ("微信", 0.25), ("支付宝", 0.20), ("抖音月付", 0.07), ("银行卡", 0.03),
)  # fmt: skip
APP_CHANNELS: tuple[tuple[str, float], ...] = (
    ("抖音", 0.80), ("抖音极速版", 0.12), ("抖音火山版", 0.04), ("今日头条", 0.04),
)  # fmt: skip
CREATORS: tuple[tuple[str, str], ...] = (
    ("1846392017", "小鹿穿搭日记"),
    ("2957301846", "阿杰好物推荐"),
    ("3061827495", "美美的衣橱"),
    ("1720584936", "居家小能手"),
    ("4183920576", "省钱姐妹花"),
)
# (流量来源, 流量体裁, came through a creator (达人)?).
TRAFFIC_SOURCES: tuple[tuple[str, str, bool], ...] = (
    ("商品卡", "商品卡", False),
    ("店铺自播", "直播", False),
    ("橱窗", "其他", False),
    ("达人直播", "直播", True),
    ("达人短视频", "短视频", True),
)
CREATOR_SHARE = 0.45
AD_SHARE = 0.25
BUYER_NOTES: tuple[str, ...] = (
    "请尽快发货",
    "送人的，不要放价格单",
    "麻烦包装好一点",
    "发顺丰可以吗",
)
MERCHANT_RETURN_ADDRESS = "浙江省杭州市余杭区仓前街道文一西路998号 3号仓 售后组"
MERCHANT_RETURN_CONTACT = ("售后组", "0571-86880000")
CS_AGENTS: tuple[str, ...] = ("系统", "客服-小美", "客服-阿强", "客服-小林")

# ---------------------------------------------------------------------------------------
# Output formats
# ---------------------------------------------------------------------------------------

# Warehouse columns insert_frames writes (the canonical fields the frames carry).
WAREHOUSE_ORDER_COLUMNS: tuple[str, ...] = (
    "shop_id", "order_id", "line_id", "sku_id", "product_name", "quantity", "unit_price",
    "amount", "paid_at", "province", "city", "carrier", "customer_id",
)  # fmt: skip
WAREHOUSE_REFUND_COLUMNS: tuple[str, ...] = (
    "shop_id", "refund_id", "order_id", "line_id", "sku_id", "product_name", "refund_type",
    "reason", "status", "requested_at", "approved_at", "completed_at", "refund_amount",
    "quantity", "province", "carrier",
)  # fmt: skip
CANONICAL_ORDER_COLUMNS: tuple[str, ...] = (
    "shop_id", "order_id", "line_id", "sku_id", "product_name", "quantity", "amount",
    "paid_at", "province", "city", "carrier", "customer_id",
)  # fmt: skip
CANONICAL_REFUND_COLUMNS: tuple[str, ...] = (
    "shop_id", "refund_id", "order_id", "line_id", "sku_id", "refund_type", "reason",
    "status", "requested_at", "completed_at", "refund_amount", "quantity", "province",
    "carrier", "approved_at", "arbitration_status", "reason_detail",
)  # fmt: skip
# Share of canonical refund rows written without a province, so region must come from the
# order line (as it must for every 抖店 售后 row).
CANONICAL_MISSING_PROVINCE_SHARE = 0.3

DOUDIAN_ORDER_COLUMNS: tuple[str, ...] = (
    "主订单编号",
    "子订单编号",
    "支付方式",
    "选购商品",
    "货号",
    "商品ID",
    "商家编码",
    "商品数量",
    "商品金额",
    "订单提交时间",
    "支付完成时间",
    "订单完成时间",
    "承诺发货时间",
    "预约发货时间",
    "买家留言",
    "旗帜颜色",
    "商家备注",
    "APP渠道",
    "订单状态",
    "取消原因",
    "售后状态",
    "订单类型",
    "发货时间",
    "车型",
    "是否是以旧换新",
    "换新额外补贴",
    "换新额外补贴发放状态",
    "订单应付金额",
    "运费",
    "优惠总金额",
    "平台优惠",
    "商家优惠",
    "达人优惠",
    "商家改价",
    "支付优惠",
    "手续费",
    "红包抵扣",
    "降价类优惠",
    "平台/商家/达人实际承担优惠金额",
    "收件人",
    "收件人手机号",
    "省",
    "市",
    "区",
    "街道",
    "详细地址",
    "是否修改过地址",
    "快递信息",
    "序列号",
    "达人ID",
    "达人昵称",
    "拼团订单团编号",
    "商品单价是否含税",
    "税费",
    "鲁班落地页ID",
    "所属门店ID",
    "流量来源",
    "仓库ID",
    "仓库名称",
    "是否安心购",
    "广告渠道",
    "流量类型",
    "流量体裁",
    "流量渠道",
    "发货主体",
    "发货主体明细",
    "教育优惠",
    "预计送达时间",
    "是否平台仓自流转",
    "是否是渠道商品",
    "预约送达时间",
    "建议发货时间（起）",
    "建议发货时间（止）",
)
DOUDIAN_REFUND_COLUMNS: tuple[str, ...] = (
    "售后单号",
    "订单号",
    "商品单号",
    "商品名称",
    "商品ID",
    "应付金额（元）",
    "商品运费（元）",
    "支付优惠（元）",
    "商品税费（元）",
    "商品发货状态",
    "售后类型",
    "退商品金额（元）",
    "退运费金额（元）",
    "退支付优惠（元）",
    "退税费金额（元）",
    "售后状态",
    "售后申请时间",
    "退款方式",
    "是否已上传退款凭证",
    "售后原因",
    "售后原因标签",
    "退货物流单号",
    "退货异常",
    "退货发货时间",
    "退货物流公司",
    "自动处理截止时间",
    "同意售后申请时间",
    "商家退款时间",
    "用户到账时间",
    "售后关闭时间",
    "商家退货地址",
    "商家退货联系人姓名",
    "商家退货联系人电话",
    "仲裁状态",
    "纠纷责任方",
    "是否极速退款",
    "是否拒签后退款",
    "发货物流单号",
    "发货物流状态",
    "换货物流单号",
    "退货物流状态",
    "售后完结时间",
    "订单备注",
    "用户售后说明",
    "售后备注",
    "操作人",
    "协商记录",
    "换货商品信息",
    "商家编码",
    "门店名称",
)
# Columns the real export prefixes with a tab so Excel keeps all 19 digits.
DOUDIAN_ID_COLUMNS: tuple[str, ...] = (
    "主订单编号",
    "子订单编号",
    "商品ID",
    "售后单号",
    "订单号",
    "商品单号",
)
# Personal data: present only in the 抖店 order export.
DOUDIAN_PII_COLUMNS: tuple[str, ...] = ("收件人", "收件人手机号", "街道", "详细地址")
DOUDIAN_ORDER_MONEY_COLUMNS: tuple[str, ...] = (
    "商品金额", "订单应付金额", "运费", "优惠总金额", "平台优惠", "商家优惠", "达人优惠", "商家改价",
    "支付优惠", "手续费", "红包抵扣", "降价类优惠", "税费", "教育优惠",
)  # fmt: skip
DOUDIAN_REFUND_MONEY_COLUMNS: tuple[str, ...] = (
    "应付金额（元）", "商品运费（元）", "支付优惠（元）", "商品税费（元）", "退商品金额（元）",
    "退运费金额（元）", "退支付优惠（元）", "退税费金额（元）",
)  # fmt: skip
DOUDIAN_COUNT_COLUMNS: tuple[str, ...] = ("商品数量",)

# Export columns holding the same value on every row of an ordinary small shop.
DOUDIAN_ORDER_CONSTANTS: tuple[tuple[str, object], ...] = (
    ("订单类型", "普通订单"),
    ("是否是以旧换新", "否"),
    ("运费", 0.0),
    ("达人优惠", 0.0),
    ("商家改价", 0.0),
    ("支付优惠", 0.0),
    ("手续费", 0.0),
    ("红包抵扣", 0.0),
    ("降价类优惠", 0.0),
    ("商品单价是否含税", "否"),
    ("税费", 0.0),
    ("流量渠道", "抖音"),
    ("发货主体", "商家"),
    ("发货主体明细", "商家自发货"),
    ("教育优惠", 0.0),
    ("是否平台仓自流转", "否"),
    ("是否是渠道商品", "否"),
)
DOUDIAN_REFUND_CONSTANTS: tuple[tuple[str, object], ...] = (
    ("商品运费（元）", 0.0),
    ("支付优惠（元）", 0.0),
    ("商品税费（元）", 0.0),
    ("退运费金额（元）", 0.0),
    ("退支付优惠（元）", 0.0),
    ("退税费金额（元）", 0.0),
    ("是否已上传退款凭证", "否"),
    ("是否拒签后退款", "否"),
)
# 售后类型 values that pay money back (the others send goods).
_MONEY_TYPES_RAW = ("退货退款", "已发货仅退款", "未发货仅退款")

# 19-digit id ranges, one per kind, so no two kinds can collide.
ORDER_ID_BASE = 6_920_000_000_000_000_000
LINE_ID_BASE = 6_940_000_000_000_000_000
REFUND_ID_BASE = 7_120_000_000_000_000_000
SKU_ID_BASE = 3_580_000_000_000_000_000

_DAY = 86_400
_HOUR = 3_600
_MINUTE = 60
_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64: converts straight to datetime64 NaT
_NAT_NS = np.datetime64("NaT", "ns")
_EPOCH = datetime.date(1970, 1, 1)
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SMALL_NUMBERS = np.array([str(i) for i in range(4_000)], dtype=object)  # int → text by lookup
_PHONE_MULTIPLIERS = (12_345_677, 23_456_789, 34_567_891, 45_678_923, 56_789_017)  # coprime to 10


# ---------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeSpec:
    """A spike a caller wants injected: on `day`, returns in slice (`dimension`, `key`) ≈
    `multiplier` × normal. `key` is "*" for the shop, a province ("广东省") or a sku_id."""

    day: datetime.date
    dimension: str
    key: str
    multiplier: float


@dataclass(frozen=True)
class Spike:
    """An injected spike as it actually came out: the truth a detector is scored against."""

    day: datetime.date  # the refund REQUEST day on which the spike shows
    dimension: str  # "shop" | "region" | "sku"
    key: str  # "*" for shop, a province name like "广东省", or a sku_id
    multiplier: float  # returns that day in that slice ≈ multiplier × normal
    extra_returns: int  # how many extra refunds were actually injected
    expected_returns: float = 0.0  # normal returns expected that day in that slice
    reason: str = ""  # the 售后原因 most extra refunds carry
    carrier: str | None = None  # for region spikes: the carrier most extra refunds used


@dataclass
class SyntheticShop:
    """One generated shop: canonical frames plus the truth about what was injected.

    order_lines and refunds hold the canonical columns (see the module constants) and a few
    extra ones the 抖店 writer needs: order_lines.district/shipped_at and
    refunds.refund_type_raw/status_raw/return_shipped_at. `seed` lets the writers draw the
    export-only cosmetic columns reproducibly.
    """

    shop_id: str
    order_lines: pd.DataFrame
    refunds: pd.DataFrame
    spikes: list[Spike]
    start: datetime.date
    days: int
    promo_days: list[datetime.date] = field(default_factory=list)
    seed: int = 0

    @property
    def end(self) -> datetime.date:
        """The first day after the generated period (exports stop just before it)."""
        return self.start + datetime.timedelta(days=self.days)


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


@dataclass
class _Catalog:
    sku_id: np.ndarray  # int64
    name: np.ndarray  # object (str)
    price: np.ndarray  # float64, list unit price
    return_rate: np.ndarray  # float64
    is_clothing: np.ndarray  # bool
    popularity: np.ndarray  # float64, sums to 1


@dataclass
class _Calendar:
    start_sec: int
    days: int
    orders: np.ndarray  # int64 orders per day
    return_factor: np.ndarray  # float64 shop-wide factor on return probability per day
    promo: np.ndarray  # bool


@dataclass
class _Customers:
    customer_id: np.ndarray  # object
    name: np.ndarray
    phone: np.ndarray
    province: np.ndarray  # int index into PROVINCES
    city: np.ndarray  # object
    district: np.ndarray
    street: np.ndarray
    address: np.ndarray
    activity: np.ndarray  # float64, sums to 1


@dataclass
class _Lines:
    order_id: np.ndarray  # int64
    line_id: np.ndarray  # int64
    customer: np.ndarray  # int index into _Customers
    sku: np.ndarray  # int index into _Catalog
    province: np.ndarray  # int index into PROVINCES
    carrier: np.ndarray  # int index into CARRIERS
    quantity: np.ndarray
    unit_price: np.ndarray
    amount: np.ndarray
    paid_at: np.ndarray  # int64 seconds
    paid_day: np.ndarray  # int day index from start
    shipped_at: np.ndarray  # int64 seconds, _NAT if never shipped
    return_p: np.ndarray  # base return probability (sku × province), before the day factor


@dataclass
class _Requests:
    """Refund requests before ids and lifecycle: which line, when, what, why."""

    line: np.ndarray
    requested_at: np.ndarray
    type_raw: np.ndarray  # int index into REFUND_TYPES
    reason: np.ndarray  # int index into REFUND_REASONS


def generate_shop(
    *,
    seed: int = 7,
    start: datetime.date = datetime.date(2026, 7, 1),
    days: int = 120,
    n_skus: int = 60,
    lines_per_day: int = 800,
    spikes: list[SpikeSpec] | None = None,
    n_random_spikes: int = 6,
    shop_id: str = "demo-shop",
) -> SyntheticShop:
    """Generate a shop's order lines and refunds with return spikes of known truth.

    With `spikes` given, exactly those are injected; otherwise `n_random_spikes` are drawn
    (a mix of sku/region/shop, multipliers 1.8–4, on slices big enough to show, never in the
    first 35 days so detectors have a baseline). The same arguments give identical frames.
    """
    if days < 1 or n_skus < 1 or lines_per_day < 1:
        raise ValueError("days, n_skus and lines_per_day must be positive")
    rng = np.random.default_rng(seed)
    catalog = _make_catalog(rng, n_skus)
    calendar = _make_calendar(rng, start, days, lines_per_day)
    customers = _make_customers(rng, max(50, int(calendar.orders.sum() * 0.75)))
    lines = _make_lines(rng, calendar, catalog, customers)
    taken = np.zeros(len(lines.line_id), dtype=bool)
    natural = _draw_natural_requests(rng, lines, calendar, catalog)
    taken[natural.line] = True
    specs = (
        _draw_spike_specs(rng, n_random_spikes, start, calendar, lines, catalog)
        if spikes is None
        else [_validate_spec(spec, start, days, catalog) for spec in spikes]
    )
    truths, injected = [], [natural]
    for spec in specs:
        truth, requests = _inject_spike(rng, spec, start, lines, calendar, catalog, taken)
        truths.append(truth)
        injected.append(requests)
    requests = _concat_requests(injected)
    _unship_cancelled_lines(lines, requests)
    as_of = calendar.start_sec + days * _DAY
    refunds = _refund_frame(rng, shop_id, requests, lines, catalog, as_of)
    return SyntheticShop(
        shop_id=shop_id,
        order_lines=_order_frame(shop_id, lines, catalog, customers, as_of),
        refunds=refunds,
        spikes=sorted(truths, key=lambda s: (s.day, s.dimension, s.key)),
        start=start,
        days=days,
        promo_days=[
            start + datetime.timedelta(days=int(d)) for d in np.flatnonzero(calendar.promo)
        ],
        seed=seed,
    )


def _make_catalog(rng: np.random.Generator, n_skus: int) -> _Catalog:
    """SKUs with Zipf-like popularity, so a few hits carry the volume over a long tail."""
    names, clothing, categories = _sku_names(rng, n_skus)
    cat = np.array([SKU_CATEGORIES[c] for c in categories], dtype=object)
    lo_price, hi_price = cat[:, 2].astype(float), cat[:, 3].astype(float)
    lo_rate, hi_rate = cat[:, 4].astype(float), cat[:, 5].astype(float)
    price = np.round(rng.uniform(lo_price, hi_price)) - 0.1
    rate = rng.uniform(lo_rate, hi_rate)
    ranks = rng.permutation(n_skus) + 1
    popularity = 1.0 / ranks**SKU_POPULARITY_EXPONENT
    return _Catalog(
        sku_id=_unique_ids(rng, SKU_ID_BASE, n_skus, max_gap=10**9),
        name=names,
        price=price,
        return_rate=rate,
        is_clothing=clothing,
        popularity=popularity / popularity.sum(),
    )


def _sku_names(rng: np.random.Generator, n_skus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct Chinese product names (adjective + category + variant), drawn without repeats."""
    combos = [
        (f"{adjective}{stem} {variant}", clothing, index)
        for index, (stem, clothing, *_) in enumerate(SKU_CATEGORIES)
        for adjective in (CLOTHING_ADJECTIVES if clothing else GOODS_ADJECTIVES)
        for variant in (CLOTHING_VARIANTS if clothing else GOODS_VARIANTS)
    ]
    picks = rng.permutation(len(combos))[: min(n_skus, len(combos))]
    chosen = [combos[i] for i in picks]
    for extra in range(n_skus - len(chosen)):  # more SKUs than names: number the repeats
        name, clothing, index = combos[extra % len(combos)]
        chosen.append((f"{name} 第{extra // len(combos) + 2}款", clothing, index))
    names = np.array([c[0] for c in chosen], dtype=object)
    return names, np.array([c[1] for c in chosen]), np.array([c[2] for c in chosen])


def _make_calendar(
    rng: np.random.Generator, start: datetime.date, days: int, lines_per_day: int
) -> _Calendar:
    """Orders per day (weekday rhythm × lognormal noise × promos) and the day return factor."""
    dates = [start + datetime.timedelta(days=d) for d in range(days)]
    weekday = np.array(WEEKDAY_VOLUME)[[d.weekday() for d in dates]] / np.mean(WEEKDAY_VOLUME)
    noise = rng.lognormal(0.0, DAY_VOLUME_SD, days)
    on_calendar = np.array([(d.month, d.day) in PROMO_DATES for d in dates])
    promo = on_calendar | (rng.random(days) < RANDOM_PROMO_RATE)
    boost = np.where(promo, rng.uniform(*PROMO_VOLUME, days), 1.0)
    mean_order_size = float(np.dot(np.arange(1, len(ORDER_SIZE_MIX) + 1), ORDER_SIZE_MIX))
    orders = rng.poisson(lines_per_day * weekday * noise * boost / mean_order_size)
    return _Calendar(
        start_sec=(start - _EPOCH).days * _DAY,
        days=days,
        orders=orders.astype(np.int64),
        return_factor=rng.lognormal(0.0, DAY_RETURN_SD, days),
        promo=promo,
    )


def _make_customers(rng: np.random.Generator, n: int) -> _Customers:
    """Buyers with one stable phone and address each (抖店 identifies a buyer by phone)."""
    province = rng.choice(len(PROVINCES), size=n, p=_shares(PROVINCES))
    city, district = _pick_cities(rng, province)
    name = _pick(rng, SURNAMES, n) + _pick(rng, GIVEN_NAME_CHARS, n)
    two_chars = rng.random(n) < 0.6
    name[two_chars] = name[two_chars] + _pick(rng, GIVEN_NAME_CHARS, int(two_chars.sum()))
    activity = rng.lognormal(0.0, REPEAT_BUYER_SD, n)
    return _Customers(
        customer_id=_prefixed("u", np.arange(100_001, 100_001 + n)),
        name=name,
        phone=_phones(rng, n),
        province=province,
        city=city,
        district=district,
        street=_pick(rng, STREETS, n),
        address=_addresses(rng, n),
        activity=activity / activity.sum(),
    )


def _pick_cities(rng: np.random.Generator, province: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A city and district of each buyer's province, uniformly among those listed."""
    n = len(province)
    city, district = np.empty(n, dtype=object), np.empty(n, dtype=object)
    u_city, u_district = rng.random(n), rng.random(n)
    for index, (name, _) in enumerate(PROVINCES):
        cities = [(c, d) for p, c, d in CITIES if p == name]
        rows = np.flatnonzero(province == index)
        city_index = (u_city[rows] * len(cities)).astype(int)
        for c, (city_name, districts) in enumerate(cities):
            in_city = rows[city_index == c]
            district_index = (u_district[in_city] * len(districts)).astype(int)
            city[in_city] = city_name
            district[in_city] = np.array(districts, dtype=object)[district_index]
    return city, district


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct 11-digit mobile numbers: a random affine map of 0..n-1 is a bijection mod 10^8."""
    multiplier = int(rng.choice(_PHONE_MULTIPLIERS))
    offset = int(rng.integers(0, 10**8))
    suffix = (np.arange(n, dtype=np.int64) * multiplier + offset) % 10**8
    return _pick(rng, PHONE_PREFIXES, n) + np.char.zfill(suffix.astype(str), 8).astype(object)


def _addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Street-level addresses like 建设路128号5栋2单元603室."""
    number = _SMALL_NUMBERS[rng.integers(1, 400, n)]
    building = _SMALL_NUMBERS[rng.integers(1, 30, n)]
    unit = _SMALL_NUMBERS[rng.integers(1, 6, n)]
    room = _SMALL_NUMBERS[rng.integers(1, 33, n) * 100 + rng.integers(1, 5, n)]
    return _pick(rng, ROADS, n) + number + "号" + building + "栋" + unit + "单元" + room + "室"


def _make_lines(
    rng: np.random.Generator, calendar: _Calendar, catalog: _Catalog, customers: _Customers
) -> _Lines:
    """Orders of 1–3 lines, paid through each day's hours, with ids increasing over time."""
    n_orders = int(calendar.orders.sum())
    order_day = np.repeat(np.arange(calendar.days), calendar.orders)
    order_paid = (
        calendar.start_sec + order_day * _DAY + _times_of_day(rng, PAID_HOUR_WEIGHTS, n_orders)
    )
    order_paid = np.sort(order_paid)  # day index stays sorted too: times never cross midnight
    sizes = rng.choice(np.arange(1, len(ORDER_SIZE_MIX) + 1), size=n_orders, p=ORDER_SIZE_MIX)
    customer = rng.choice(len(customers.activity), size=n_orders, p=customers.activity)
    carrier = rng.choice(len(CARRIERS), size=n_orders, p=_shares(CARRIERS))
    order_id = _unique_ids(rng, ORDER_ID_BASE, n_orders, max_gap=2 * 10**9)
    ship_delay = rng.integers(3 * _HOUR, 46 * _HOUR, n_orders)

    n_lines = int(sizes.sum())
    of_order = np.repeat(np.arange(n_orders), sizes)
    sku = _draw_skus(rng, catalog, of_order)
    quantity = rng.choice(np.arange(1, len(QUANTITY_MIX) + 1), size=n_lines, p=QUANTITY_MIX)
    discount = rng.choice([d[0] for d in DISCOUNTS], size=n_lines, p=_shares(DISCOUNTS))
    unit_price = catalog.price[sku]
    province = customers.province[customer[of_order]]
    province_factor = rng.uniform(*PROVINCE_RETURN_RANGE, len(PROVINCES))
    paid_at = order_paid[of_order]
    return _Lines(
        order_id=order_id[of_order],
        line_id=_unique_ids(rng, LINE_ID_BASE, n_lines, max_gap=2 * 10**9),
        customer=customer[of_order],
        sku=sku,
        province=province,
        carrier=carrier[of_order],
        quantity=quantity,
        unit_price=unit_price,
        amount=np.round(unit_price * quantity * discount, 2),
        paid_at=paid_at,
        paid_day=(paid_at - calendar.start_sec) // _DAY,
        shipped_at=paid_at + ship_delay[of_order],
        return_p=catalog.return_rate[sku] * province_factor[province],
    )


def _draw_skus(rng: np.random.Generator, catalog: _Catalog, of_order: np.ndarray) -> np.ndarray:
    """A SKU per line by popularity, redrawn while an order holds the same SKU twice (the
    platform would have made that one line of quantity 2)."""
    sku = rng.choice(len(catalog.sku_id), size=len(of_order), p=catalog.popularity)
    for _ in range(20):
        repeated = _repeats_within_order(of_order, sku)
        if not repeated.any():
            break
        sku[repeated] = rng.choice(
            len(catalog.sku_id), size=int(repeated.sum()), p=catalog.popularity
        )
    return sku


def _repeats_within_order(of_order: np.ndarray, sku: np.ndarray) -> np.ndarray:
    """Lines whose SKU an earlier line of the same order already has (orders are contiguous)."""
    repeated = np.zeros(len(sku), dtype=bool)
    for back in range(1, len(ORDER_SIZE_MIX)):
        same = (of_order[back:] == of_order[:-back]) & (sku[back:] == sku[:-back])
        repeated[back:] |= same
    return repeated


def _draw_natural_requests(
    rng: np.random.Generator, lines: _Lines, calendar: _Calendar, catalog: _Catalog
) -> _Requests:
    """At most one refund per line: p = sku rate × province factor × request-day factor.

    Requests that would fall after the last generated day are dropped: the exports stop there.
    """
    n = len(lines.line_id)
    lag = rng.choice(MAX_LAG_DAYS + 1, size=n, p=LAG_PMF)
    requested_at = _request_times(rng, lines.paid_at, lag, calendar.start_sec)
    request_day = (requested_at - calendar.start_sec) // _DAY
    in_period = request_day < calendar.days
    day_factor = calendar.return_factor[np.minimum(request_day, calendar.days - 1)]
    hit = in_period & (rng.random(n) < lines.return_p * day_factor)
    line = np.flatnonzero(hit)
    requested_at = requested_at[line]
    before_shipping = requested_at < lines.shipped_at[line]
    type_raw = rng.choice(len(REFUND_TYPES), size=len(line), p=SHIPPED_TYPE_MIX)
    type_raw[before_shipping] = UNSHIPPED_REFUND_ONLY
    reason = _draw_reasons(rng, type_raw, catalog.is_clothing[lines.sku[line]])
    return _Requests(line=line, requested_at=requested_at, type_raw=type_raw, reason=reason)


def _request_times(
    rng: np.random.Generator, paid_at: np.ndarray, lag: np.ndarray, start_sec: int
) -> np.ndarray:
    """Request times `lag` days after payment; same-day requests come after the payment."""
    paid_midnight = start_sec + (paid_at - start_sec) // _DAY * _DAY
    later = paid_midnight + lag * _DAY + _times_of_day(rng, REQUEST_HOUR_WEIGHTS, len(paid_at))
    earliest = paid_at + 10 * _MINUTE
    same_day_left = np.maximum(paid_midnight + _DAY - earliest, 1)
    same_day = earliest + (rng.random(len(paid_at)) * same_day_left).astype(np.int64)
    return np.where(lag == 0, same_day, later)


def _draw_reasons(
    rng: np.random.Generator, type_raw: np.ndarray, is_clothing: np.ndarray
) -> np.ndarray:
    """售后原因 given 售后类型; 尺码不合适 only for clothing-like SKUs."""
    reason = np.zeros(len(type_raw), dtype=np.int64)
    size_reason = REFUND_REASONS.index(SIZE_REASON)
    for kind in range(len(REFUND_TYPES)):
        for clothing in (True, False):
            rows = np.flatnonzero((type_raw == kind) & (is_clothing == clothing))
            weights = np.array(REASON_MIX[kind])
            if not clothing:
                weights[size_reason] = 0.0
            reason[rows] = rng.choice(
                len(REFUND_REASONS), size=len(rows), p=weights / weights.sum()
            )
    return reason


def _draw_spike_specs(
    rng: np.random.Generator,
    n: int,
    start: datetime.date,
    calendar: _Calendar,
    lines: _Lines,
    catalog: _Catalog,
) -> list[SpikeSpec]:
    """Random spikes on slices big enough to show (≥ 2 returns a day), after the baseline.

    Each of sku, region and shop appears at least once when n ≥ 3; days never repeat, so
    there are at most as many spikes as days after the baseline.
    """
    eligible_days = np.arange(MIN_BASELINE_DAYS, calendar.days)
    n = min(n, len(eligible_days))
    if n <= 0:
        return []
    kinds = list(SPIKE_DIMENSIONS[: min(n, 3)])
    kinds += list(rng.choice(SPIKE_DIMENSIONS, size=n - len(kinds), p=SPIKE_DIMENSION_MIX))
    kinds = [str(k) for k in rng.permutation(kinds)]
    day_index = rng.choice(eligible_days, size=n, replace=False)
    daily_returns = {
        "sku": np.bincount(lines.sku, lines.return_p, len(catalog.sku_id)) / calendar.days,
        "region": np.bincount(lines.province, lines.return_p, len(PROVINCES)) / calendar.days,
    }
    used: dict[str, set[int]] = {"sku": set(), "region": set()}
    specs = []
    for kind, d in zip(kinds, day_index, strict=True):
        multiplier = round(float(rng.uniform(*RANDOM_SPIKE_MULTIPLIER)), 2)
        key = "*"
        if kind != "shop":
            index = _pick_spike_slice(rng, daily_returns[kind], used[kind])
            key = str(catalog.sku_id[index]) if kind == "sku" else PROVINCES[index][0]
        specs.append(SpikeSpec(start + datetime.timedelta(days=int(d)), kind, key, multiplier))
    return specs


def _pick_spike_slice(rng: np.random.Generator, daily_returns: np.ndarray, used: set[int]) -> int:
    """A not-yet-used slice with enough daily returns to show; else the biggest unused one."""
    unused = [i for i in np.argsort(-daily_returns, kind="stable") if i not in used]
    unused = unused or [int(np.argmax(daily_returns))]
    big = [i for i in unused if daily_returns[i] >= MIN_SPIKE_SLICE_RETURNS_PER_DAY]
    index = int(rng.choice(big)) if big else int(unused[0])
    used.add(index)
    return index


def _validate_spec(
    spec: SpikeSpec, start: datetime.date, days: int, catalog: _Catalog
) -> SpikeSpec:
    """Reject specs that could never show: unknown slice, day outside the period, m ≤ 1."""
    if spec.dimension not in SPIKE_DIMENSIONS:
        raise ValueError(f"spike dimension must be one of {SPIKE_DIMENSIONS}: {spec}")
    if not 0 <= (spec.day - start).days < days:
        raise ValueError(f"spike day outside the generated period: {spec}")
    if spec.multiplier <= 1:
        raise ValueError(f"spike multiplier must be above 1: {spec}")
    known = {
        "shop": {"*"},
        "region": {p[0] for p in PROVINCES},
        "sku": {str(s) for s in catalog.sku_id},
    }[spec.dimension]
    if spec.key not in known:
        raise ValueError(f"unknown {spec.dimension} key: {spec}")
    return spec


def _inject_spike(
    rng: np.random.Generator,
    spec: SpikeSpec,
    start: datetime.date,
    lines: _Lines,
    calendar: _Calendar,
    catalog: _Catalog,
    taken: np.ndarray,
) -> tuple[Spike, _Requests]:
    """Extra refunds requested on the spike day by lines of the slice paid in the week before.

    count = round((m − 1) × expected normal returns of the slice that day), at least 3. Lines
    are picked with the usual lag profile among lines already shipped and not yet refunded;
    region spikes concentrate on one carrier, and most extra refunds share one cause.
    """
    d = (spec.day - start).days
    day_start = calendar.start_sec + d * _DAY
    lag = d - lines.paid_day
    in_window = _slice_mask(spec, lines, catalog) & (lag >= 0) & (lag <= MAX_LAG_DAYS)
    lag_p = np.array(LAG_PMF)[np.clip(lag, 0, MAX_LAG_DAYS)]
    expected = (
        float(np.sum(lines.return_p[in_window] * lag_p[in_window])) * calendar.return_factor[d]
    )
    wanted = max(MIN_SPIKE_RETURNS, round((spec.multiplier - 1) * expected))
    shipped = (lines.shipped_at != _NAT) & (lines.shipped_at < day_start)
    candidates = np.flatnonzero(in_window & ~taken & shipped)
    weights = lag_p[candidates] * lines.return_p[candidates]
    carrier = None
    if spec.dimension == "region":
        carrier_index = _blamed_carrier(rng, lines.carrier[candidates])
        carrier = CARRIERS[carrier_index][0] if carrier_index is not None else None
        weights = weights * np.where(
            lines.carrier[candidates] == carrier_index, SPIKE_CARRIER_WEIGHT, 1
        )
    count = min(wanted, len(candidates))
    chosen = (
        np.sort(rng.choice(candidates, size=count, replace=False, p=weights / weights.sum()))
        if count
        else candidates[:0]
    )
    taken[chosen] = True
    cause = next(c for c in SPIKE_CAUSES if c[0] == spec.dimension)
    requests = _spike_requests(rng, chosen, day_start, cause, lines, catalog)
    truth = Spike(
        day=spec.day,
        dimension=spec.dimension,
        key=spec.key,
        multiplier=spec.multiplier,
        extra_returns=int(count),
        expected_returns=round(float(expected), 3),
        reason=cause[1],
        carrier=carrier,
    )
    return truth, requests


def _slice_mask(spec: SpikeSpec, lines: _Lines, catalog: _Catalog) -> np.ndarray:
    """Which order lines belong to the spike's slice."""
    if spec.dimension == "shop":
        return np.ones(len(lines.line_id), dtype=bool)
    if spec.dimension == "region":
        names = np.array([p[0] for p in PROVINCES], dtype=object)
        return names[lines.province] == spec.key
    return catalog.sku_id[lines.sku] == int(spec.key)


def _blamed_carrier(rng: np.random.Generator, carriers: np.ndarray) -> int | None:
    """The carrier a region spike blames: drawn by its share of the slice's parcels."""
    if len(carriers) == 0:
        return None
    counts = np.bincount(carriers, minlength=len(CARRIERS)).astype(float)
    return int(rng.choice(len(CARRIERS), p=counts / counts.sum()))


def _spike_requests(
    rng: np.random.Generator,
    chosen: np.ndarray,
    day_start: int,
    cause: tuple[str, str, tuple[float, ...]],
    lines: _Lines,
    catalog: _Catalog,
) -> _Requests:
    """Requests on the spike day; most carry the spike's cause and a 售后类型 that fits it."""
    n = len(chosen)
    requested_at = day_start + _times_of_day(rng, REQUEST_HOUR_WEIGHTS, n)
    of_cause = rng.random(n) < SPIKE_CAUSE_SHARE
    type_raw = rng.choice(len(REFUND_TYPES), size=n, p=SHIPPED_TYPE_MIX)
    type_raw[of_cause] = rng.choice(len(REFUND_TYPES), size=int(of_cause.sum()), p=cause[2])
    reason = _draw_reasons(rng, type_raw, catalog.is_clothing[lines.sku[chosen]])
    reason[of_cause] = REFUND_REASONS.index(cause[1])
    return _Requests(line=chosen, requested_at=requested_at, type_raw=type_raw, reason=reason)


def _concat_requests(parts: Sequence[_Requests]) -> _Requests:
    """All requests in request-time order (refund ids then grow with time, as on the platform)."""
    merged = _Requests(
        line=np.concatenate([p.line for p in parts]),
        requested_at=np.concatenate([p.requested_at for p in parts]),
        type_raw=np.concatenate([p.type_raw for p in parts]),
        reason=np.concatenate([p.reason for p in parts]),
    )
    order = np.lexsort((merged.line, merged.requested_at))
    return _Requests(
        line=merged.line[order],
        requested_at=merged.requested_at[order],
        type_raw=merged.type_raw[order],
        reason=merged.reason[order],
    )


def _unship_cancelled_lines(lines: _Lines, requests: _Requests) -> None:
    """A line refunded before it shipped never ships: no shipping time, no carrier."""
    unshipped = requests.line[requests.type_raw == UNSHIPPED_REFUND_ONLY]
    lines.shipped_at[unshipped] = _NAT


# ---------------------------------------------------------------------------------------
# Refund lifecycle and frames
# ---------------------------------------------------------------------------------------


@dataclass
class _Lifecycle:
    status: np.ndarray  # object: canonical status as of the export
    status_raw: np.ndarray  # object: 售后状态 text
    approved_at: np.ndarray  # int64 seconds or _NAT
    completed_at: np.ndarray  # int64 seconds or _NAT: when the refund ended, any outcome
    return_shipped_at: np.ndarray  # int64 seconds or _NAT
    return_carrier: np.ndarray  # object or None


def _lifecycle(
    rng: np.random.Generator, type_raw: np.ndarray, requested_at: np.ndarray, as_of: int
) -> _Lifecycle:
    """Where each refund is at export time: old ones have ended, recent ones are still open.

    Each refund has a destined outcome and timeline (approval median ~2 h with a tail to
    48 h; returns shipped back, received and refunded within 1–10 days; 仅退款 paid on
    approval); the export shows whatever of it happened before `as_of`.
    """
    n = len(type_raw)
    outcome = _pick(rng, [o[0] for o in OUTCOMES], n, _shares(OUTCOMES))
    goes_back = np.isin(type_raw, (RETURN_REFUND, EXCHANGE))
    outcome[(outcome == "closed") & ~goes_back] = "cancelled"  # only a return can time out
    approve_delay = np.clip(rng.lognormal(np.log(2 * _HOUR), 1.1, n), 2 * _MINUTE, 48 * _HOUR)
    approved = requested_at + approve_delay.astype(np.int64)
    ship_back = approved + rng.integers(8 * _HOUR, 3 * _DAY, n)
    received = ship_back + rng.integers(36 * _HOUR, 4 * _DAY, n)
    finished = np.select(
        [goes_back, type_raw == RESEND],
        [received + rng.integers(1 * _HOUR, 1 * _DAY, n) + np.where(type_raw == EXCHANGE, _DAY, 0),
         approved + rng.integers(2 * _DAY, 5 * _DAY, n)],
        default=approved,
    )  # fmt: skip
    finished = np.minimum(finished, requested_at + 10 * _DAY - _MINUTE)
    ends = np.select(
        [outcome == "completed", outcome == "closed", outcome == "rejected"],
        [finished, approved + rng.integers(7 * _DAY, 9 * _DAY, n), approved],
        default=requested_at + (approve_delay * rng.uniform(0.2, 0.9, n)).astype(np.int64),
    )
    was_approved = np.isin(outcome, ("completed", "closed"))
    approved = np.where(was_approved, approved, _NAT)
    ships_back = goes_back & (outcome == "completed")
    ship_back = np.where(ships_back, ship_back, _NAT)

    ended = ends <= as_of
    is_approved = was_approved & (approved <= as_of)
    status = outcome.copy()
    status[~ended] = np.where(is_approved[~ended], "in_progress", "requested")
    shipped_back = ships_back & (ship_back <= as_of)
    return_carrier = _pick(rng, [c[0] for c in CARRIERS], n, _shares(CARRIERS))
    return _Lifecycle(
        status=status,
        status_raw=_status_text(status, type_raw, shipped_back),
        approved_at=np.where(is_approved, approved, _NAT),
        completed_at=np.where(ended, ends, _NAT),
        return_shipped_at=np.where(shipped_back, ship_back, _NAT),
        return_carrier=np.where(shipped_back, return_carrier, None),
    )


def _status_text(status: np.ndarray, type_raw: np.ndarray, shipped_back: np.ndarray) -> np.ndarray:
    """售后状态 as the 抖店 export words it, which depends on the 售后类型 too."""
    text = pd.Series(status).map(dict(STATUS_TEXT)).to_numpy(dtype=object)
    in_progress = status == "in_progress"
    text[in_progress & shipped_back] = IN_PROGRESS_RECEIVING_TEXT
    text[in_progress & (type_raw == RESEND)] = IN_PROGRESS_RESEND_TEXT
    completed = status == "completed"
    text[completed & (type_raw == EXCHANGE)] = EXCHANGE_DONE_TEXT
    text[completed & (type_raw == RESEND)] = RESEND_DONE_TEXT
    return text


def _refund_frame(
    rng: np.random.Generator,
    shop_id: str,
    requests: _Requests,
    lines: _Lines,
    catalog: _Catalog,
    as_of: int,
) -> pd.DataFrame:
    """The canonical refunds frame, one row per refund, in request-time order."""
    n = len(requests.line)
    line = requests.line
    life = _lifecycle(rng, requests.type_raw, requests.requested_at, as_of)
    line_qty = lines.quantity[line]
    partial = (line_qty > 1) & (rng.random(n) < 0.2)
    quantity = np.where(partial, rng.integers(1, np.maximum(line_qty, 2)), line_qty)
    pays_money = np.isin(
        requests.type_raw, (RETURN_REFUND, SHIPPED_REFUND_ONLY, UNSHIPPED_REFUND_ONLY)
    )
    refund_amount = np.where(pays_money, np.round(lines.amount[line] * quantity / line_qty, 2), 0.0)
    carrier_names = [c[0] for c in CARRIERS]
    has_carrier = lines.shipped_at[line] != _NAT
    return pd.DataFrame(
        {
            "shop_id": shop_id,
            "refund_id": _ids_to_str(_unique_ids(rng, REFUND_ID_BASE, n, max_gap=10**10)),
            "order_id": _ids_to_str(lines.order_id[line]),
            "line_id": _ids_to_str(lines.line_id[line]),
            "sku_id": _ids_to_str(catalog.sku_id)[lines.sku[line]],
            "product_name": catalog.name[lines.sku[line]],
            "refund_type": _lookup([t[1] for t in REFUND_TYPES], requests.type_raw),
            "refund_type_raw": _lookup([t[0] for t in REFUND_TYPES], requests.type_raw),
            "reason": _lookup(REFUND_REASONS, requests.reason),
            "reason_detail": _reason_details(rng, requests.reason),
            "status": life.status,
            "status_raw": life.status_raw,
            "requested_at": _to_datetime(requests.requested_at),
            "approved_at": _to_datetime(life.approved_at),
            "completed_at": _to_datetime(life.completed_at),
            "refund_amount": refund_amount,
            "quantity": quantity.astype(np.int64),
            "province": _lookup([p[0] for p in PROVINCES], lines.province[line]),
            "carrier": np.where(has_carrier, _lookup(carrier_names, lines.carrier[line]), None),
            "return_carrier": life.return_carrier,
            "return_shipped_at": _to_datetime(life.return_shipped_at),
            "arbitration_status": _arbitration(rng, life.status, requests.requested_at, as_of),
        }
    ).astype(_STRING_DTYPES_REFUNDS)


def _reason_details(rng: np.random.Generator, reason: np.ndarray) -> np.ndarray:
    """What ~40% of buyers type as 用户售后说明; the rest leave it empty."""
    detail = np.full(len(reason), None, dtype=object)
    writes = rng.random(len(reason)) < 0.4
    pick = rng.random(len(reason))
    for index, (_, texts) in enumerate(REASON_DETAILS):
        rows = writes & (reason == index)
        detail[rows] = np.array(texts, dtype=object)[(pick[rows] * len(texts)).astype(int)]
    return detail


def _arbitration(
    rng: np.random.Generator, status: np.ndarray, requested_at: np.ndarray, as_of: int
) -> np.ndarray:
    """~2% of refunds go to platform arbitration, mostly those the merchant rejected."""
    p = np.where(status == "rejected", 0.3, 0.006)
    disputed = rng.random(len(status)) < p
    recent = requested_at > as_of - 7 * _DAY
    value = np.where(recent, "仲裁中", "仲裁完成").astype(object)
    return np.where(disputed, value, None)


def _order_frame(
    shop_id: str, lines: _Lines, catalog: _Catalog, customers: _Customers, as_of: int
) -> pd.DataFrame:
    """The canonical order-lines frame plus the buyer's personal data (抖店 export only)."""
    c = lines.customer
    shipped = (lines.shipped_at != _NAT) & (lines.shipped_at <= as_of)
    return pd.DataFrame(
        {
            "shop_id": shop_id,
            "order_id": _ids_to_str(lines.order_id),
            "line_id": _ids_to_str(lines.line_id),
            "sku_id": _ids_to_str(catalog.sku_id)[lines.sku],
            "product_name": catalog.name[lines.sku],
            "quantity": lines.quantity.astype(np.int64),
            "unit_price": lines.unit_price,
            "amount": lines.amount,
            "paid_at": _to_datetime(lines.paid_at),
            "province": _lookup([p[0] for p in PROVINCES], lines.province),
            "city": customers.city[c],
            "district": customers.district[c],
            "carrier": np.where(shipped, _lookup([x[0] for x in CARRIERS], lines.carrier), None),
            "shipped_at": _to_datetime(np.where(shipped, lines.shipped_at, _NAT)),
            "customer_id": customers.customer_id[c],
            "buyer_name": customers.name[c],
            "buyer_phone": customers.phone[c],
            "address": customers.address[c],
            "street": customers.street[c],
        }
    ).astype(_STRING_DTYPES_ORDERS)


_STRING_DTYPES_ORDERS = {
    name: "str"
    for name in ("shop_id", "order_id", "line_id", "sku_id", "product_name", "province", "city",
                 "district", "carrier", "customer_id", "buyer_name", "buyer_phone", "address",
                 "street")
}  # fmt: skip
_STRING_DTYPES_REFUNDS = {
    name: "str"
    for name in ("shop_id", "refund_id", "order_id", "line_id", "sku_id", "product_name",
                 "refund_type", "refund_type_raw", "reason", "reason_detail", "status",
                 "status_raw", "province", "carrier", "return_carrier", "arbitration_status")
}  # fmt: skip


# ---------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------


def _times_of_day(rng: np.random.Generator, hour_weights: Sequence[float], n: int) -> np.ndarray:
    """Seconds after midnight, following an hourly profile."""
    weights = np.asarray(hour_weights, dtype=float)
    hour = rng.choice(24, size=n, p=weights / weights.sum())
    return hour * _HOUR + rng.integers(0, _HOUR, n)


def _unique_ids(rng: np.random.Generator, base: int, n: int, max_gap: int) -> np.ndarray:
    """n increasing 19-digit ids: random positive gaps, so they look unsequenced yet never repeat."""
    gaps = rng.integers(1, max_gap, n, dtype=np.int64)
    return base + np.cumsum(gaps)


def _pick(
    rng: np.random.Generator, values: Sequence[str], n: int, p: np.ndarray | None = None
) -> np.ndarray:
    """n draws from `values` as an object array (so `+` concatenates strings)."""
    return np.array(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _lookup(values: Sequence[str], index: np.ndarray) -> np.ndarray:
    """values[index] for an index array, as an object array of str."""
    return np.array(values, dtype=object)[index]


def _prefixed(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.fromiter((f"{prefix}{i}" for i in numbers.tolist()), dtype=object, count=len(numbers))


def _ids_to_str(ids: np.ndarray) -> np.ndarray:
    return np.fromiter(map(str, ids.tolist()), dtype=object, count=len(ids))


def _to_datetime(seconds: np.ndarray) -> np.ndarray:
    """int64 seconds (with _NAT) → datetime64[ns] (with NaT)."""
    return np.asarray(seconds, dtype=np.int64).view("datetime64[s]").astype("datetime64[ns]")


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
    return {
        "主订单编号": _text(ol["order_id"]),
        "子订单编号": _text(ol["line_id"]),
        "选购商品": _text(ol["product_name"]),
        "货号": _merchant_codes(sku, "HH"),
        "商品ID": sku,
        "商家编码": _merchant_codes(sku, "RW"),
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
        "商品ID": _text(rf["sku_id"]),
        "商家编码": _merchant_codes(_text(rf["sku_id"]), "RW"),
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


def _shares(rows: Sequence[tuple]) -> np.ndarray:
    """Probabilities from the weights in the second field of constant rows."""
    weights = np.array([p[1] for p in rows])
    return weights / weights.sum()


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
