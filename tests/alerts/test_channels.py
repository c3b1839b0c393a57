"""Every channel's payload and signature, delivered to a real HTTP receiver on 127.0.0.1
that checks them the way the platform does."""

from __future__ import annotations

from datetime import date

import pytest

from returnwatch.alerts.channels import (
    DeliveryError,
    UnknownChannelError,
    channels_for,
    make_channel,
)
from returnwatch.alerts.digest import digest_for_channel, sample_night
from returnwatch.alerts.sender import Deliverer, send_test_message
from returnwatch.settings import ChannelSettings, ShopSettings


@pytest.fixture
def setup(receiver, settings, kit, clock):
    receiver.secrets.update(kit.secrets_for_receiver())
    channels = kit.channel_configs(receiver.url("").rstrip("/"))
    configured = kit.with_channels(settings, channels)
    deliverer = Deliverer(configured.alerts, clock=clock, sleep=clock.sleep)
    return configured, {c.type: c for c in channels}, deliverer


def send_sample(settings, config, deliverer):
    """The sample night (a SKU spike lifting its region and the shop, one more region)."""
    channel = make_channel(config)
    digest = digest_for_channel(sample_night("demo-shop", date(2026, 8, 14)), config, settings)
    return [deliverer.deliver(channel, m.payload) for m in channel.render(digest, dedup_key="k1")]


def test_feishu_sends_a_signed_interactive_card(setup, receiver, clock):
    settings, configs, deliverer = setup

    (outcome,) = send_sample(settings, configs["feishu"], deliverer)

    assert outcome.ok and outcome.attempts == 1
    (got,) = receiver.accepted("/feishu")
    body = got.json
    assert body["msg_type"] == "interactive"
    assert body["timestamp"] == str(int(clock.now))
    card = body["card"]
    assert card["header"]["title"]["content"] == "退货率异常 · demo-shop · 2026-08-14"
    assert card["header"]["template"] == "red"
    texts = [e["text"]["content"] for e in card["elements"] if e["tag"] == "div"]
    assert texts[1].startswith("**1. 🔴 严重 · SKU 3712345678901 · 加绒连帽卫衣 黑色 XL**\n")
    assert "原因：尺码不合适 28、质量问题 12、不想要了 8" in texts[1]


def test_feishu_bad_signature_is_recorded_not_retried(setup, receiver, clock):
    settings, configs, deliverer = setup
    receiver.secrets["feishu"] = "another-secret"

    (outcome,) = send_sample(settings, configs["feishu"], deliverer)

    assert not outcome.ok and not outcome.retryable and outcome.attempts == 1
    assert "feishu error 19021" in outcome.error and "secret" in outcome.error


def test_dingtalk_sends_signed_markdown_with_timestamp_and_sign_in_the_query(
    setup, receiver, clock, kit
):
    settings, configs, deliverer = setup

    (outcome,) = send_sample(settings, configs["dingtalk"], deliverer)

    assert outcome.ok
    (got,) = receiver.accepted("/dingtalk")
    assert got.args["access_token"] == kit.DINGTALK_TOKEN
    assert got.args["timestamp"] == str(int(clock.now * 1000))
    markdown = got.json["markdown"]
    assert got.json["msgtype"] == "markdown"
    assert markdown["title"] == "退货率异常 · demo-shop · 2026-08-14"
    assert markdown["text"].startswith(
        "#### 退货率异常 · demo-shop · 2026-08-14\n\n全店退货率 9.8%"
    )
    assert "returnwatch" in markdown["text"]  # the keyword a DingTalk bot can require


def test_wecom_sends_markdown_with_the_key_in_the_url(setup, receiver, kit):
    settings, configs, deliverer = setup

    (outcome,) = send_sample(settings, configs["wecom"], deliverer)

    assert outcome.ok
    (got,) = receiver.accepted("/wecom")
    assert got.args == {"key": kit.WECOM_KEY}
    content = got.json["markdown"]["content"]
    assert content.startswith(
        "**退货率异常 · demo-shop · 2026-08-14**\n全店退货率 9.8%，基线 6.1%（+61%）"
    )
    assert '<font color="warning">1. 🔴 严重 · SKU 3712345678901' in content


def test_slack_sends_block_kit_in_the_channels_language(setup, receiver):
    settings, configs, deliverer = setup

    (outcome,) = send_sample(settings, configs["slack"], deliverer)

    assert outcome.ok
    (got,) = receiver.accepted("/slack")
    blocks = got.json["blocks"]
    assert got.json["text"] == "Return-rate alert · demo-shop · 2026-08-14"
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Return-rate alert · demo-shop · 2026-08-14",
            "emoji": True,
        },
    }
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "divider",
        "section",
        "divider",
        "section",
        "context",
    ]
    assert blocks[3]["text"]["text"].startswith("*1. 🔴 critical · SKU 3712345678901")


def test_generic_sends_the_documented_json_with_a_signature_header(setup, receiver):
    settings, configs, deliverer = setup

    (outcome,) = send_sample(settings, configs["generic"], deliverer)

    assert outcome.ok
    (got,) = receiver.accepted("/generic")
    body = got.json
    assert {"source", "shop_id", "day", "anomalies", "summary"} <= set(body)
    assert (body["source"], body["shop_id"], body["day"], body["dedup_key"]) == (
        "returnwatch",
        "demo-shop",
        "2026-08-14",
        "k1",
    )
    sku = body["anomalies"][0]
    assert {
        "day",
        "dimension",
        "key",
        "return_rate",
        "baseline_rate",
        "lift",
        "order_lines",
        "returns",
        "reason",
        "dedup_key",
    } <= set(sku)
    assert (sku["dimension"], sku["key"], sku["return_rate"], sku["returns"]) == (
        "sku",
        "3712345678901",
        0.35,
        70,
    )
    assert sku["dedup_key"] == "demo-shop|2026-08-14|sku:3712345678901"
    assert body["summary"]["return_rate"] == 0.098
    assert got.headers["X-Returnwatch-Signature"].startswith("sha256=")


def test_platform_errors_in_a_200_body_are_decoded():
    wecom = make_channel(ChannelSettings(name="w", type="wecom", url="http://127.0.0.1:1/w?key=k"))
    ding = make_channel(ChannelSettings(name="d", type="dingtalk", url="http://127.0.0.1:1/d"))
    feishu = make_channel(ChannelSettings(name="f", type="feishu", url="http://127.0.0.1:1/f"))

    wecom.check_response(200, {}, '{"errcode":0,"errmsg":"ok"}', 0)
    feishu.check_response(200, {}, '{"StatusCode":0,"StatusMessage":"success"}', 0)
    cases = [
        (wecom, '{"errcode":45009,"errmsg":"api freq out of limit"}', True),
        (ding, '{"errcode":130101,"errmsg":"send too fast"}', True),
        (feishu, '{"code":11232,"msg":"frequency limited"}', True),
        (ding, '{"errcode":310000,"errmsg":"sign not match"}', False),
        (wecom, '{"errcode":93000,"errmsg":"invalid webhook url"}', False),
    ]
    for channel, body, retryable in cases:
        with pytest.raises(DeliveryError) as caught:
            channel.check_response(200, {}, body, 0)
        assert caught.value.retryable is retryable, body


def test_send_test_message_sends_a_marked_sample(setup, receiver, clock):
    settings, _, _ = setup

    outcome = send_test_message(settings, "ops-wecom", clock=clock, sleep=clock.sleep)

    assert outcome.ok
    assert (
        receiver.accepted("/wecom")[0]
        .json["markdown"]["content"]
        .startswith("**【测试】退货率异常")
    )
    with pytest.raises(UnknownChannelError, match="ops-feishu"):
        send_test_message(settings, "nope")


def test_channels_for_a_shop_follow_both_filters(settings, kit):
    channels = [
        ChannelSettings(name="all", type="wecom", url="http://127.0.0.1:1/a"),
        ChannelSettings(name="b-only", type="wecom", url="http://127.0.0.1:1/b", shops=["b"]),
    ]
    configured = kit.with_channels(settings, channels).model_copy(
        update={
            "shops": [ShopSettings(shop_id="a", channels=["b-only"]), ShopSettings(shop_id="b")]
        }
    )
    assert [c.name for c in channels_for(configured, "a")] == []
    assert [c.name for c in channels_for(configured, "b")] == ["all", "b-only"]
    assert [c.name for c in channels_for(configured, "c")] == ["all"]


def test_channels_imports_neither_sender_nor_notify():
    """channels (markup, limits, answers) sits below sender and notify (delivery): the
    import runs one way, no cycle, not even a lazy one inside a function."""
    import ast
    from pathlib import Path

    import returnwatch.alerts.channels as channels

    tree = ast.parse(Path(channels.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & {"returnwatch.alerts.sender", "returnwatch.alerts.notify"}
