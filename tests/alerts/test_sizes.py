"""An oversized digest is split into numbered parts (or a huge spike shortened) and every
part is accepted by a receiver that enforces the platform's limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from returnwatch.alerts.channels import make_channel, slack_text_chars
from returnwatch.alerts.digest import Night, Spike, digest_for_channel
from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import Deliverer, send_pending

LONG_NAME = "超长商品名称" * 40


def big_night(kit, spikes: int = 40) -> Night:
    reasons = tuple((f"原因{i}：" + "描述很长的售后原因" * 30, 50 - i) for i in range(3))
    return Night(
        kit.SHOP,
        kit.NIGHT,
        None,
        tuple(
            Spike(
                "sku", f"SKU{i:04}", "critical", 0.4, 0.1, 3.0, 500, 200, 50.0, 150.0 - i, 1e-9,
                "r", None, product_name=LONG_NAME, top_reasons=reasons,
                top_carriers=(("中通快递" * 20, 9),),
            )
            for i in range(spikes)
        ),
    )  # fmt: skip


@pytest.fixture
def big(settings, kit, receiver):
    receiver.secrets.update(kit.secrets_for_receiver())
    channels = kit.channel_configs(receiver.url("").rstrip("/"))
    return kit.with_channels(settings, channels, max_spikes=40), channels


@pytest.mark.parametrize("kind", ["feishu", "dingtalk", "wecom", "slack"])
def test_an_oversized_digest_is_split_into_numbered_parts_that_are_accepted(
    big, kit, receiver, clock, kind
):
    configured, channels = big
    config = next(c for c in channels if c.type == kind)
    channel = make_channel(config)
    digest = digest_for_channel(big_night(kit), config, configured)

    messages = channel.render(digest)

    assert len(messages) > 1
    assert [m.title for m in messages] == [
        f"{messages[0].title.rsplit(' (', 1)[0]} ({i}/{len(messages)})"
        for i in range(1, len(messages) + 1)
    ]
    text = json.dumps([m.payload for m in messages], ensure_ascii=False)
    assert [int(n) for n in re.findall(r"(\d+)\. 🔴", text)] == list(
        range(1, 41)
    )  # every spike, once, in order
    deliverer = Deliverer(configured.alerts, clock=clock, sleep=clock.sleep)
    assert all(deliverer.deliver(channel, m.payload).ok for m in messages)
    assert len(receiver.accepted(f"/{kind}")) == len(messages)


def test_one_spike_too_big_for_a_wecom_message_is_shortened(big, kit):
    configured, channels = big
    config = next(c for c in channels if c.type == "wecom")
    night = big_night(kit, spikes=1)
    huge = replace(night.anomalies[0], top_reasons=(("很" * 3000, 9),))
    digest = digest_for_channel(Night(kit.SHOP, kit.NIGHT, None, (huge,)), config, configured)

    (message,) = make_channel(config).render(digest)

    content = message.payload["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "原因：很很" in content and "…" in content and "returnwatch" in content


def test_each_part_is_its_own_outbox_row_and_all_are_delivered(con, kit, receiver, settings, clock):
    wecom = next(c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == "wecom")
    configured = kit.with_channels(settings, [wecom], max_spikes=20)
    for i in range(20):
        kit.add_anomaly(con, "sku", f"SKU{i:04}", reason="x", extra_returns=100.0 - i)
        kit.add_refunds(
            con,
            f"SKU{i:04}",
            "广东省",
            {"尺码不合适" * 20: 3, "质量问题" * 20: 2},
            product_name=LONG_NAME,
        )

    added = enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)

    rows = kit.outbox(con, "part", "parts", "status", "dedup_key")
    assert added == len(rows) > 1
    assert [(p, n, s) for p, n, s, _ in rows] == [(i, added, "sent") for i in range(1, added + 1)]
    assert len({key for *_, key in rows}) == 1  # one dedup key, one row per part
    assert summary.sent == added == len(receiver.accepted("/wecom"))
    assert enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT]) == 0


def test_slack_splits_on_the_total_text_as_well_as_blocks_and_sections(kit, receiver, settings):
    """slackapi/bolt-js#2509: msg_blocks_too_long at ~13,200 characters in all blocks,
    under 50 blocks and 3,000 per section; the receiver refuses that, so must we."""
    reasons = (("原因：" + "描述很长" * 300, 9),)  # ~1,200 characters a spike
    night = Night(
        kit.SHOP,
        kit.NIGHT,
        None,
        tuple(
            Spike(
                "sku", f"SKU{i:04}", "critical", 0.4, 0.1, 3.0, 500, 200, 50.0, 150.0 - i,
                1e-9, "r", None, product_name=f"商品{i}", top_reasons=reasons,
            )
            for i in range(15)
        ),
    )  # fmt: skip
    config = next(c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == "slack")
    configured = kit.with_channels(settings, [config], max_spikes=40)
    channel = make_channel(config)
    digest = digest_for_channel(night, config, configured)
    whole = channel.payload(*_whole(channel, digest), last=True)
    assert len(whole["blocks"]) <= 50  # one message would pass the old checks …
    assert all(len(b["text"]["text"]) <= 3000 for b in whole["blocks"] if b["type"] == "section")
    assert sum(slack_text_chars(b) for b in whole["blocks"]) > 13_200  # … and be refused

    messages = channel.render(digest)

    assert len(messages) > 1
    for m in messages:
        assert sum(slack_text_chars(b) for b in m.payload["blocks"]) <= 12_000
    deliverer = Deliverer(configured.alerts, sleep=lambda s: None)
    assert all(deliverer.deliver(channel, m.payload).ok for m in messages)
    assert len(receiver.accepted("/slack")) == len(messages)


def _whole(channel, digest):
    """The arguments of one unsplit message holding every spike."""
    from returnwatch.alerts.digest import render

    doc = render(digest)
    return doc, doc.title, doc.intro, list(doc.sections)
