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


def test_a_refresh_token_near_its_end_notifies_once_a_day_saying_what_to_do(
    con, kit, receiver, settings, clock
):
    from returnwatch.alerts import notify_token_health
    from returnwatch.settings import ApiSourceSettings, SourceSettings
    from returnwatch.sources.doudian_api.client import resolve_credentials
    from returnwatch.sources.doudian_api.tokens import (
        TokenPair,
        TokenStore,
        configured_fingerprint,
        token_file,
    )

    api = ApiSourceSettings(
        app_key="7000000000000000001", app_secret="s3cret-app", refresh_token="r1"
    )
    configured = wecom_only(kit, receiver, settings).model_copy(
        update={"source": SourceSettings(api=api)}
    )
    credentials = resolve_credentials(api)
    renewed = clock() - 11.5 * 86_400  # 14-day refresh token: 2.5 days left
    TokenStore(token_file(configured), api.app_key, configured_fingerprint(credentials)).save(
        TokenPair("access-x1", "refresh-x1", renewed + 7 * 86_400, renewed + 14 * 86_400, renewed)
    )
    args = {"day": kit.NIGHT, "now": clock(), "con": con, "clock": clock, "sleep": clock.sleep}

    first = notify_token_health(configured, kit.SHOP, **args)
    again = notify_token_health(configured, kit.SHOP, **args)
    quiet = notify_token_health(configured, kit.SHOP, **{**args, "now": renewed + 86_400})

    assert (first.sent, again.sent, quiet) == (2, 0, None)
    content = receiver.accepted("/wecom")[0].json["markdown"]["content"]
    assert "抖店 API 授权即将过期：refresh token 还剩 2 天" in content
    assert (
        "请在抖店后台重新授权应用" in content
        and "RETURNWATCH_SOURCE__API__REFRESH_TOKEN" in content
    )
    for token in ("access-x1", "refresh-x1", "r1\n", "s3cret-app"):
        assert token not in content


def test_no_token_notice_without_the_api_source(con, kit, receiver, settings, clock):
    from returnwatch.alerts import notify_token_health

    assert notify_token_health(wecom_only(kit, receiver, settings), kit.SHOP, con=con) is None
    assert receiver.received == []
