"""The start-up prefetch (engine/prefetch.py): real models fetched from the test mirror and loaded through the
process's loader, so a later run is a cache hit; progress while it runs (/readyz's check, the page's line); a
model that fails is named and the others load."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.core.env_values import PREFETCH_DEFAULTS
from studio.core.media import DecodedImage
from studio.engine.compare import run as compare_run
from studio.engine.prefetch import LOADED, WAITING, Prefetch, expand, start_prefetch
from studio.engine.request import CompareRequest
from studio.engine.slot import compute_slot
from studio.service.health import readiness
from studio.services import Services
from studio.ui.status_line import prefetch_text
from tests.paths import SHARED_WEIGHTS


@pytest.fixture
def services(env) -> Services:
    """Offline, with ../shared/weights as the mirror (the OpenCV dnn_superres models) and its own weights dir."""
    from studio.core.config import Settings

    return Services(Settings.from_env({**env, "STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS)}))


def test_the_defaults_word_becomes_the_compare_tabs_models_once():
    defaults = ("lanczos-x4", "realesr-animevideov3-x4")
    assert expand(("espcn-x4", PREFETCH_DEFAULTS, "lanczos-x4"), defaults) == ("espcn-x4", *defaults)
    assert expand((), defaults) == ()


@pytest.mark.skipif(not (SHARED_WEIGHTS / "opencv-dnn-superres").exists(), reason="needs ../shared/weights")
def test_prefetched_models_are_loaded_once_and_a_failure_is_named(services):
    prefetch = Prefetch(("lanczos-x4", "espcn-x4", "lanczos-x44", "swinir-m-x4-realsr"))
    assert prefetch.summary() == "0 of 4 models loaded; 4 waiting" and not prefetch.done
    prefetch.run(services.registry, services.loader)
    assert prefetch.done and prefetch.loaded == ["lanczos-x4", "espcn-x4"]
    failed = prefetch.failed
    assert list(failed) == ["lanczos-x44", "swinir-m-x4-realsr"]
    assert "unknown model 'lanczos-x44'; did you mean 'lanczos-x4'" in failed["lanczos-x44"]  # a typo, named
    assert "not downloaded" in failed["swinir-m-x4-realsr"]  # a Hub model, offline
    assert prefetch.summary().startswith("2 of 4 models loaded: lanczos-x4, espcn-x4; failed: lanczos-x44 (")

    # a run of the prefetched models (at the default preview) finds them loaded: no new load
    cache = services.loader.cache
    loads = cache.loads
    request = CompareRequest.build(services.registry, ["lanczos-x4", "espcn-x4"], metrics=[])
    image = DecodedImage(np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8))
    results = compare_run(request, image, services.registry, services.loader)
    assert all(row.ok for row in results.rows) and cache.loads == loads

    # /readyz: ready once every model is loaded or has failed, the failures named (the other models serve)
    services.prefetch = prefetch
    result = readiness(services)
    assert result.checks["prefetch"] == prefetch.summary() and "prefetch" not in (result.reason or "")
    assert prefetch_text(prefetch).endswith(": lanczos-x44, swinir-m-x4-realsr (failed to load at start).")  # no why


def test_readyz_and_the_page_show_progress_until_the_prefetch_is_over(services):
    """The test holds the compute slot, as a visitor's run would: the prefetch waits for it, and says so."""
    with compute_slot():
        prefetch = start_prefetch(("lanczos-x4", "unsharp-mask"), (), services.registry, services.loader)
        assert prefetch is not None and prefetch.thread is not None
        services.prefetch = prefetch
        deadline = threading.Event()
        while prefetch.state("lanczos-x4") == WAITING and not deadline.wait(0.01):
            pass
        result = readiness(services)
        assert not result.ready
        assert result.reason == "prefetch: 0 of 2 models loaded; loading lanczos-x4; 1 waiting"
        assert (
            prefetch_text(prefetch) == "Loading models at start: 0 of 2 models loaded; loading lanczos-x4; 1 waiting."
        )
    prefetch.thread.join(timeout=30)
    assert [prefetch.state(model_id) for model_id in prefetch.model_ids] == [LOADED, LOADED]
    result = readiness(services)
    assert result.checks["prefetch"] == "2 of 2 models loaded: lanczos-x4, unsharp-mask"
    assert "prefetch" not in (result.reason or "") and prefetch_text(prefetch) == ""


def test_nothing_to_prefetch_starts_nothing_and_adds_no_check(services):
    assert start_prefetch((), ("lanczos-x4",), services.registry, services.loader) is None
    assert "prefetch" not in readiness(services).checks
