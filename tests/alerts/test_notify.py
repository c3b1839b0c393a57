"""A failed nightly run tells every channel, through the outbox when the warehouse works
and directly when it does not."""

from __future__ import annotations

from returnwatch.alerts import notify_failure


def wecom_only(kit, receiver, settings):
    wecom = next(c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == "wecom")
    slack = next(c for c in kit.channel_configs(receiver.url("").rstrip("/")) if c.type == "slack")
    return kit.with_channels(settings, [wecom, slack])


def test_a_failed_run_notifies_every_channel_once_via_the_outbox(
    con, kit, receiver, settings, clock
):
    configured = wecom_only(kit, receiver, settings)
    args = (
        configured,
        kit.SHOP,
        "导入订单文件失败：orders.csv 编码无法识别",
        "另存为 UTF-8 后重新运行",
    )

    summary = notify_failure(*args, day=kit.NIGHT, con=con, clock=clock, sleep=clock.sleep)
    again = notify_failure(*args, day=kit.NIGHT, con=con, clock=clock, sleep=clock.sleep)

    assert (summary.sent, summary.failed, again.sent) == (2, 0, 0)
    assert kit.outbox(con, "channel", "kind", "status") == [
        ("ops-wecom", "failure", "sent"),
        ("ops-slack", "failure", "sent"),
    ]
    content = receiver.accepted("/wecom")[0].json["markdown"]["content"]
    assert content.startswith(
        "**夜间任务失败 · demo-shop · 2026-08-14**\n失败环节：导入订单文件失败"
    )
    assert "处理建议：另存为 UTF-8 后重新运行" in content
    assert "没有告警不代表一切正常" in content
    slack = receiver.accepted("/slack")[0].json
    assert slack["text"] == "Nightly run failed · demo-shop · 2026-08-14"


def test_without_a_usable_warehouse_the_notice_goes_directly(
    kit, receiver, settings, clock, tmp_path
):
    configured = wecom_only(kit, receiver, settings).model_copy(
        update={"db": tmp_path}
    )  # a directory

    summary = notify_failure(
        configured, kit.SHOP, "warehouse file is corrupt", "restore the backup", day=kit.NIGHT,
        clock=clock, sleep=clock.sleep,
    )  # fmt: skip

    assert (summary.sent, summary.failed) == (2, 0)
    assert len(receiver.accepted()) == 2
