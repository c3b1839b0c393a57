"""No webhook URL, key or signing secret in any log line (ours or urllib3's, at DEBUG) or in
any stored error, whatever goes wrong."""

from __future__ import annotations

import logging

from returnwatch.alerts.outbox import enqueue_digests
from returnwatch.alerts.sender import send_pending


def test_no_secret_in_any_log_line_or_stored_error(con, kit, receiver, settings, clock, caplog):
    caplog.set_level(logging.DEBUG)  # root: ours, requests' and urllib3's records
    base = receiver.url("").rstrip("/")
    down = f"http://127.0.0.1:{kit.free_port()}"
    channels = kit.channel_configs(base) + [
        c.model_copy(
            update={
                "name": c.name + "-down",
                "url": c.url.__class__(c.url.get_secret_value().replace(base, down)),
            }
        )
        for c in kit.channel_configs(base)
    ]
    configured = kit.with_channels(settings, channels)
    receiver.secrets.update(kit.secrets_for_receiver())
    receiver.secrets["feishu"] = "wrong"  # a bad signature error comes back
    receiver.reply((500, "upstream failed"), (429, "slow", {"Retry-After": "1"}))
    kit.add_anomaly(con, "sku", "111", severity="critical")

    enqueue_digests(con, configured, kit.SHOP, [kit.NIGHT])
    summary = send_pending(con, configured, clock=clock, sleep=clock.sleep)

    assert summary.sent == 4 and summary.failed == 1 and summary.pending == 5
    # the test's own receiver (werkzeug) logs request lines; it is not returnwatch
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # urllib3 was heard
    stored = str(con.execute("SELECT * FROM alert_outbox").fetchall())
    summary_text = str(summary)
    for secret in kit.SECRETS:
        assert not [line for line in lines if secret in line], secret
        assert secret not in stored and secret not in summary_text
    assert "***" in stored  # the connection errors named the URL: it was masked
