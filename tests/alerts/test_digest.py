"""From anomalies to a digest and its words: folding, ranking, reasons, filters, numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from returnwatch.alerts.digest import (
    Headline,
    Night,
    Spike,
    change,
    count,
    digest_for_channel,
    load_night,
    pct,
    render,
)
from returnwatch.settings import ChannelSettings

CHANNEL = ChannelSettings(name="c", type="wecom", url="http://127.0.0.1:1/x")


def test_numbers_are_formatted_for_people():
    assert pct(0.18512) == "18.5%"
    assert count(1234) == "1,234"
    assert count(9.84) == "9.8"
    assert count(16.2) == "16"
    assert change("zh", 0.35, 0.08) == "+338%"
    assert change("en", 0.05, 0.0) == "baseline 0"


def test_a_night_reads_headline_anomalies_reasons_carriers_and_product_name(con, kit, settings):
    kit.add_headline(con)
    kit.add_anomaly(con, "sku", "111", extra_returns=54.0, severity="critical")
    kit.add_refunds(
        con, "111", "广东省", {"尺码不合适": 5, "质量问题": 3, "不想要了": 2, "其他": 1}
    )
    kit.add_refunds(con, "111", "广东省", {"尺码不合适": 2}, carrier="圆通速递")
    # refunds of another day and an exchange do not count
    kit.add_refunds(con, "111", "广东省", {"质量问题": 9}, day=date(2026, 8, 13))
    kit.add_refunds(con, "111", "广东省", {"质量问题": 9}, refund_type="exchange")

    night = load_night(con, settings, kit.SHOP, kit.NIGHT)

    assert night.headline == Headline(0.098, 0.061, 1234, 121)
    (spike,) = night.anomalies
    assert spike.product_name == "加绒卫衣"
    assert spike.top_reasons == (("尺码不合适", 7), ("质量问题", 3), ("不想要了", 2))
    assert spike.top_carriers == (("中通快递", 11), ("圆通速递", 2))


def test_explained_slices_fold_under_the_spike_that_explains_them(con, kit, settings):
    kit.add_anomaly(con, "sku", "111", extra_returns=50.0, severity="critical")
    kit.add_anomaly(con, "region", "广东省", extra_returns=30.0, explained_by="sku:111")
    kit.add_anomaly(con, "shop", "*", extra_returns=45.0, explained_by="region:广东省")
    kit.add_anomaly(con, "region", "浙江省", extra_returns=70.0)

    digest = digest_for_channel(load_night(con, settings, kit.SHOP, kit.NIGHT), CHANNEL, settings)

    assert [s.slice_id for s in digest.spikes] == ["region:浙江省", "sku:111"]
    assert [r.slice_id for r in digest.spikes[1].related] == ["shop:*", "region:广东省"]
    assert digest.slices == ("region:浙江省", "sku:111")
    text = render(digest).text()
    assert text.count("广东省") == 1  # said once, under the SKU
    assert "同时带动：全店（+200%）、广东省（+200%）" in text


def test_a_slice_whose_explanation_is_filtered_out_says_what_explains_it(con, kit, settings):
    kit.add_anomaly(con, "sku", "111", severity="info")
    kit.add_anomaly(con, "region", "广东省", severity="warning", explained_by="sku:111")
    channel = CHANNEL.model_copy(update={"min_severity": "warning"})

    digest = digest_for_channel(load_night(con, settings, kit.SHOP, kit.NIGHT), channel, settings)

    assert [s.slice_id for s in digest.spikes] == ["region:广东省"]
    assert "主要来自：SKU 111" in render(digest).text()


def test_channel_filters_and_a_quiet_night(con, kit, settings):
    kit.add_anomaly(con, "sku", "111", severity="warning")
    night = load_night(con, settings, kit.SHOP, kit.NIGHT)

    regions_only = CHANNEL.model_copy(update={"dimensions": ["region"]})
    assert digest_for_channel(night, regions_only, settings) is None
    critical_only = CHANNEL.model_copy(update={"min_severity": "critical"})
    assert digest_for_channel(night, critical_only, settings) is None

    loud = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"send_all_clear": True})}
    )
    all_clear = digest_for_channel(night, critical_only, loud)
    assert all_clear.kind == "all_clear"
    assert render(all_clear).title == "退货率正常 · demo-shop · 2026-08-14"


def test_at_most_max_spikes_then_and_n_more(settings):
    spikes = tuple(
        Spike("sku", f"{i:03}", "warning", 0.3, 0.1, 2.0, 100, 30, 10.0, float(i), 1e-5, "r", None)
        for i in range(1, 14)
    )
    night = Night("demo-shop", date(2026, 8, 14), None, spikes)

    digest = digest_for_channel(night, CHANNEL, settings)
    rendered = render(digest)

    assert len(rendered.sections) == 10
    assert rendered.sections[0].lines[0].startswith("1. 🟠 警告 · SKU 013")
    assert rendered.outro == ("还有 3 个异常未列出",)
    assert "13 个异常" in rendered.intro[-1]
    assert len(digest.slices) == 13  # the dedup content covers the ones not shown too


def test_english_and_chinese_wording(con, kit, settings):
    kit.add_headline(con)
    kit.add_anomaly(
        con, "region", "广东省", severity="critical", return_rate=0.185, baseline_rate=0.1
    )
    night = load_night(con, settings, kit.SHOP, kit.NIGHT)

    zh = render(digest_for_channel(night, CHANNEL, settings))
    en = render(digest_for_channel(night, CHANNEL.model_copy(update={"language": "en"}), settings))

    assert zh.title == "退货率异常 · demo-shop · 2026-08-14"
    assert zh.intro[0] == "全店退货率 9.8%，基线 6.1%（+61%）"
    assert zh.sections[0].lines[:2] == ("1. 🔴 严重 · 广东省", "退货率 18.5%，基线 10.0%（+85%）")
    assert en.title == "Return-rate alert · demo-shop · 2026-08-14"
    assert en.sections[0].lines[0] == "1. 🔴 critical · Region 广东省"
    # phone-width lines; the mute command is there to be copied, not read
    assert all(
        len(line) < 60 for line in zh.text().splitlines() if "returnwatch alerts mute" not in line
    )


def test_a_surge_lists_the_biggest_related_slices_and_counts_the_rest(settings):
    """Issue 15: a shop-wide surge explains thousands of SKUs; the message names the
    biggest few under 同时带动 and counts the others."""
    from returnwatch.alerts.digest import MAX_RELATED_LISTED

    shop = Spike(
        "shop", "*", "critical", 0.4, 0.1, 3.0, 87_500, 35_000, 8_750.0, 26_250.0, 1e-9,
        "surge", None,
    )  # fmt: skip
    part = ("info", 0.3, 0.1, 2.0, 25, 8, 2.0)
    skus = tuple(
        Spike("sku", f"s{i:04d}", *part, 6.0 + i / 1000, 1e-6, "part", "shop:*")
        for i in range(3_500)
    )
    night = Night("shop-a", date(2026, 5, 31), None, (shop, *skus))
    info = CHANNEL.model_copy(update={"min_severity": "info"})
    digest = digest_for_channel(night, info, settings)
    for lang, more in (("zh", "另有 3,495 个"), ("en", "and 3,495 more")):
        text = render(replace(digest, language=lang)).text()
        related = next(line for line in text.splitlines() if "s3499" in line)
        assert related.count("SKU s") == MAX_RELATED_LISTED
        assert "s3499" in related and "s3495" in related and "s3494" not in related
        assert more in related


def test_the_digest_names_the_test_the_baseline_and_a_buyer_event(con, kit, settings):
    """Issue 17: a cold start says which parent's rate it beat; a buyer event says so;
    a carrier x province slice reads as carrier · province."""
    kit.add_anomaly(
        con, "product", "P1", extra_returns=40.0, test="cold_start",
        baseline_used="category:连衣裙", top_buyer_returns=3,
    )  # fmt: skip
    kit.add_anomaly(
        con, "carrier_region", "中通快递|广东省", extra_returns=20.0, returns=17,
        test="spike", baseline_used="28-day clean history", top_buyer_returns=17,
    )  # fmt: skip
    digest = digest_for_channel(load_night(con, settings, kit.SHOP, kit.NIGHT), CHANNEL, settings)
    zh = render(replace(digest, language="zh")).text()
    en = render(replace(digest, language="en")).text()
    assert "检测：新品冷启动（对比 category:连衣裙 的退货率）" in zh
    assert "Test: cold start (vs the rate of category:连衣裙)" in en
    assert "中通快递 · 广东省" in zh
    assert "买家集中：17 个退货中 17 个来自同一买家" in zh
    assert "Buyer event: 17 returns, 17 from one buyer" in en
    assert zh.count("买家集中") == 1  # 3 of 60 is no buyer event


def test_a_promo_day_spike_shows_the_rate_of_the_orders_its_returns_come_from(settings):
    """The day's 1,200 orders (a promo) dilute its own rate to 2.5% under a 12% baseline;
    its 30 returns come from ~150 order lines of the days before: 20%, the rate the spike
    test alerted on, is what the message shows beside the diluted one."""
    promo = Spike(
        "region", "广东省", "warning", 30 / 1200, 0.12, -0.79, 1200, 30, 14.2,
        15.8, 1e-6, "r", None, test="spike", exposure_lines=150.0,
    )  # fmt: skip
    ordinary = replace(promo, key="浙江省", return_rate=0.2, exposure_lines=150.0)
    night = Night("demo-shop", date(2026, 11, 11), None, (promo, ordinary))

    for lang, words in (("zh", "按其计退货率 20.0%"), ("en", "20.0% of those")):
        channel = CHANNEL.model_copy(update={"language": lang})
        lines = render(digest_for_channel(night, channel, settings)).sections
        text = ["\n".join(section.lines) for section in lines]
        promo_text = next(t for t in text if "广东省" in t)
        assert words in promo_text and "1,200" in promo_text
        # a day whose own rate shows the rise keeps the one rate line
        assert not any(w in t for t in text if "浙江省" in t for w in ("按其计", "of those"))


def test_a_carrier_slice_reads_its_rate_per_the_shipped_lines_feeding_its_returns(settings):
    """The night's export has the day's orders mostly unshipped (no 快递公司 yet): 10 lines
    of 中通快递|浙江省 that day against 22 returns of parcels shipped days before is a
    220% "rate". The message shows returns per the ~120 shipped lines feeding them."""
    spike = Spike(
        "carrier_region", "中通快递|浙江省", "warning", 2.2, 0.128, 16.1, 10, 22, 3.3, 18.7,
        1e-9, "r", None, test="spike", exposure_lines=120.0,
    )  # fmt: skip
    night = Night("demo-shop", date(2026, 10, 28), None, (spike,))
    text = "\n".join(render(digest_for_channel(night, CHANNEL, settings)).sections[0].lines)
    assert "退货率 18.3%（按带来这些退货的已发货订单计），基线 12.8%" in text
    assert "已发货订单 120 · 退货 22" in text
    assert "220" not in text
