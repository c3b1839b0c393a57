"""Reference tables of the synthetic 抖店 shop: provinces, carriers, reasons, SKUs, and the
export formats' constants.

The shares are chosen to look like a real shop (coastal provinces dominate, a few carriers
carry most parcels); the generator (`shop.py`) draws from them and the export writers
(`exports.py`) print their labels.
"""

from __future__ import annotations

import datetime

import numpy as np

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
# SKUs (sizes/colours) per product (商品ID): a category's SKUs grouped in catalogue order.
SKUS_PER_PRODUCT = 3

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
    "amount", "paid_at", "province", "city", "carrier", "customer_id", "product_id", "category",
)  # fmt: skip
WAREHOUSE_REFUND_COLUMNS: tuple[str, ...] = (
    "shop_id", "refund_id", "order_id", "line_id", "sku_id", "product_name", "refund_type",
    "reason", "status", "requested_at", "approved_at", "completed_at", "refund_amount",
    "quantity", "province", "carrier", "product_id",
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
# Products (商品ID) are numbered apart from SKUs: a product id equal to a SKU id would read
# as "product = SKU" and the detector would skip it.
PRODUCT_ID_BASE = 3_590_000_000_000_000_000

_DAY = 86_400
_HOUR = 3_600
_MINUTE = 60
_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64: converts straight to datetime64 NaT
_NAT_NS = np.datetime64("NaT", "ns")
_EPOCH = datetime.date(1970, 1, 1)
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SMALL_NUMBERS = np.array([str(i) for i in range(4_000)], dtype=object)  # int → text by lookup
_PHONE_MULTIPLIERS = (12_345_677, 23_456_789, 34_567_891, 45_678_923, 56_789_017)  # coprime to 10
