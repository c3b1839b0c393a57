"""Chat alerts: digests of the night's anomalies, an outbox, and delivery to Feishu/Lark,
DingTalk, WeCom, Slack and generic webhooks. See docs/alerts.md.

- `outbox.enqueue_digests` (inside the detection transaction) queues the night's digests;
- `sender.send_pending` delivers what is pending;
- `notify_failure` tells every channel that a nightly run failed;
- `sender.send_test_message` sends a sample digest to one channel.

Imports run one way: `sender` and `notify` use `channels` (markup, limits, answers) and
`digest`; `channels` imports neither.
"""

from returnwatch.alerts.notify import notify_failure

__all__ = ["notify_failure"]
