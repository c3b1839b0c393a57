"""The 抖店 Open Platform as a source, beside export files.

Public entry points (the CLI and the nightly flow call these):

- `pull_updates(con, settings, *, shop_id=None, now=None, session=None)` — nightly: what
  changed since each stream's watermark (minus an overlap), loaded through
  `ingest.import_file`; watermarks move only after the loads commit.
- `pull_range(con, settings, start, end, *, shop_id=None, session=None)` — manual
  (`returnwatch pull --start D --end D`): orders created / refunds applied for on those days.
- `api_configured(settings)` — whether `[source.api]` is switched on.
- `token_health(settings)` — how long the refresh token has left (`TokenHealth`; code
  `token_expiring` within three days of its end).

Modules: `client` (HTTP, signing, envelope, paging, retries), `mapping` (API JSON →
canonical rows, personal data dropped), `pipeline` (windows, chunks, files, loads,
summaries), `tokens` (renewing the access token, the token file, token health),
`watermarks`, `constants`, `exceptions`. docs/api-source.md is the guide.
"""

from returnwatch.sources.doudian_api.client import (
    Credentials,
    DoudianClient,
    param_json,
    sign,
)
from returnwatch.sources.doudian_api.exceptions import (
    ApiNotConfigured,
    DoudianApiError,
    PullFailed,
    RateLimitedError,
    SignatureRejectedError,
    TokenExpiredError,
    TokenRefreshFailed,
    TransientApiError,
)
from returnwatch.sources.doudian_api.pipeline import (
    PullSummary,
    StreamSummary,
    api_configured,
    pull_range,
    pull_updates,
)
from returnwatch.sources.doudian_api.tokens import TokenHealth, token_file, token_health
from returnwatch.sources.doudian_api.watermarks import advance_watermark, read_watermark

__all__ = [
    "ApiNotConfigured",
    "Credentials",
    "DoudianApiError",
    "DoudianClient",
    "PullFailed",
    "PullSummary",
    "RateLimitedError",
    "SignatureRejectedError",
    "StreamSummary",
    "TokenExpiredError",
    "TokenHealth",
    "TokenRefreshFailed",
    "TransientApiError",
    "advance_watermark",
    "api_configured",
    "param_json",
    "pull_range",
    "pull_updates",
    "read_watermark",
    "sign",
    "token_file",
    "token_health",
]
