"""Where the shared data sets are: `../shared`, beside the repository's root.

A checkout elsewhere (a git worktree, a CI cache) points SHARED_DIR at that folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR") or REPO_ROOT.parent / "shared")
# The UCI Online Retail data set (shared/data/README.md).
ONLINE_RETAIL = SHARED / "data" / "online_retail.parquet"
