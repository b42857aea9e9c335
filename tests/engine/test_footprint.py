"""Memory estimated before a run (engine/footprint.py): refused with a preview that fits, never killed (#13)."""

from __future__ import annotations

import re
from dataclasses import replace

import cv2
import numpy as np
import pytest

from studio.core import memory
from studio.core.config import Settings
from studio.core.errors import MemoryLimitError, UsageError
from studio.core.media import DecodedImage
from studio.core.memory import PeakMemory
from studio.engine.compare import iterate, run
from studio.engine.footprint import check_memory, estimate
from studio.engine.request import CompareRequest
from studio.engine.speed import model_input_size
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


@pytest.fixture
def capped(settings):
    """Settings allowing a run 300 MB, and the registry."""
    capped = replace(settings, max_memory_mb=300)
    return capped, load_registry(capped)


def picture(photo: np.ndarray, side: int) -> DecodedImage:
    return DecodedImage(rgb=cv2.resize(photo, (side, side), interpolation=cv2.INTER_CUBIC))


def test_the_limit_is_read_from_the_environment():
    assert Settings.from_env({}).max_memory_mb is None
    assert Settings.from_env({"STUDIO_MAX_MEMORY_MB": "2048"}).max_memory_mb == 2048
    with pytest.raises(UsageError, match="STUDIO_MAX_MEMORY_MB='lots' is not a number"):
        Settings.from_env({"STUDIO_MAX_MEMORY_MB": "lots"})


def test_free_memory_is_the_smaller_of_meminfo_and_the_cgroup(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    8388608 kB\n")
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text(f"{2**30}\n")
    usage.write_text(f"{2**28}\n")
    monkeypatch.setattr(memory, "_MEMINFO", meminfo)
    monkeypatch.setattr(memory, "_CGROUP_FILES", ((limit, usage),))
    assert memory.available_mb() == 768  # 1 GiB limit less 256 MiB used, under the 8 GiB MemAvailable
    limit.write_text("max\n")  # no cgroup limit: MemAvailable alone
    assert memory.available_mb() == 8192


def test_a_run_over_the_limit_is_refused_naming_a_preview_that_fits(capped, photo):
    settings, registry = capped
    request = CompareRequest.build(registry, ["lanczos-x4"], metrics=["colourfulness"], preview=None)
    with pytest.raises(MemoryLimitError) as refused:
        check_memory(request, registry, settings, (1000, 1000))
    message = str(refused.value)
    assert "\n" not in message
    assert re.match(
        r"this run would need about (\d+ MB|\d+\.\d GB) of memory "
        r"\(lanczos-x4 makes a 4000x4000 output from 1000x1000\), "
        r"more than the 300 MB allowed by STUDIO_MAX_MEMORY_MB: use a preview long side of \d+ px or less$",
        message,
    ), message
    side = int(re.search(r"of (\d+) px or less", message).group(1))
    assert side % 64 == 0
    fits = CompareRequest.build(registry, ["lanczos-x4"], metrics=["colourfulness"], preview=side)
    assert check_memory(fits, registry, settings, (1000, 1000)).peak_mb <= 300
    larger = CompareRequest.build(registry, ["lanczos-x4"], metrics=["colourfulness"], preview=side + 64)
    assert estimate(larger, registry, settings, *model_input_size(1000, 1000, side + 64)).peak_mb > 300


def test_nothing_runs_when_the_run_is_refused(capped, photo):
    settings, registry = capped
    request = CompareRequest.build(registry, ["clahe", "lanczos-x4"], metrics=["colourfulness"], preview=None)
    steps = iterate(request, picture(photo, 1000), registry, Loader(settings, EnhancerCache(100)))
    with pytest.raises(MemoryLimitError, match="use a preview long side of"):
        next(steps)  # refused before the prepared input is even yielded


def test_when_no_preview_fits_it_says_to_pick_lighter_models(capped):
    settings, registry = capped
    request = CompareRequest.build(registry, ["realesrgan-x4plus"], metrics=[], preview=None)
    with pytest.raises(
        MemoryLimitError, match="pick fewer or lighter models \\(even a small preview would not fit\\)$"
    ):
        check_memory(request, registry, settings, (64, 64))


def test_full_reference_metrics_count_only_with_a_reference(settings):
    registry = load_registry(settings)
    without = CompareRequest.build(registry, ["lanczos-x2"], metrics=["ssim"], preview=None)
    with_recipe = CompareRequest.build(registry, ["lanczos-x2"], metrics=["ssim"], preview=None, degrade="x2")
    assert (
        estimate(without, registry, settings, 500, 500).peak_mb
        < estimate(with_recipe, registry, settings, 500, 500).peak_mb
    )


def test_the_estimate_covers_a_measured_classical_run(settings, photo):
    registry = load_registry(settings)
    request = CompareRequest.build(registry, ["lanczos-x4"], metrics=["colourfulness", "sharpness"], preview=None)
    image = picture(photo, 800)
    loader = Loader(settings, EnhancerCache(100))
    with PeakMemory() as probe:
        results = run(request, image, registry, loader)
    assert results.rows[0].ok
    predicted = estimate(request, registry, settings, 800, 800).peak_mb
    assert probe.added_mb <= predicted <= 3 * probe.added_mb + 64, (probe.added_mb, predicted)


# Measured in a fresh interpreter: memory earlier tests freed but the process kept would be reused unseen.
MEASURE = """
import json, sys
import cv2
from skimage import data
from studio.core.config import Settings
from studio.core.media import DecodedImage
from studio.core.memory import PeakMemory, _status_kb
from studio.engine.compare import run
from studio.engine.footprint import NEURAL_LOAD_MB, estimate
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry

model, side, tile, backend = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) or None, sys.argv[4]
settings = Settings.from_env()
registry, loader = load_registry(settings), Loader(settings, EnhancerCache(4096))
request = CompareRequest.build(
    registry, [model], metrics=[], preview=None, backend=backend, precision="fp32", tile=tile
)
spec = registry.get(model)
loader.load(spec, spec.resolve_params(), backend, "fp32", None)  # loading is not part of what is measured
image = DecodedImage(rgb=cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC))
before = _status_kb("VmRSS") / 1024
with PeakMemory() as probe:
    results = run(request, image, registry, loader)
after = _status_kb("VmRSS") / 1024
row = results.rows[0]
print(json.dumps({
    "ok": row.ok, "output": list(row.output.size), "added_mb": probe.added_mb, "kept_mb": after - before,
    "predicted_mb": estimate(request, registry, settings, side, side).peak_mb - NEURAL_LOAD_MB,
}))
"""


def measure(model_settings, model: str, side: int, tile: int = 0, backend: str = "ncnn") -> dict:
    """Peak and kept memory of one run of `model` on a side x side photo, in a fresh interpreter."""
    import json
    import subprocess
    import sys

    from tests.environment import clean_env

    env = clean_env(
        {
            "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror,
            "STUDIO_WEIGHTS_DIR": str(model_settings.weights_dir),
            "HF_HOME": str(model_settings.hf_cache.parent),
            "STUDIO_THREADS": str(model_settings.threads),
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, model, str(side), str(tile), backend],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_estimate_covers_a_measured_tiled_network_and_ncnn_hands_its_memory_back(model_settings):
    """realesr-animevideov3-x4 on 900x900 in 320 px tiles; afterwards the cached model keeps no activations."""
    found = measure(model_settings, "realesr-animevideov3-x4", 900, tile=320)
    assert found["ok"] and found["output"] == [3600, 3600]
    assert found["added_mb"] <= found["predicted_mb"] <= 2 * found["added_mb"], found
    assert found["kept_mb"] < 0.5 * found["added_mb"], found  # the output and the heap, not the run's peak


def test_realcugan_activations_are_not_kept_after_the_run(model_settings):
    """Real-CUGAN runs untiled: 1.6 GB of activations at 400x400 stayed with the cached model (in the net's own
    ncnn pools) until the process ended, before each run's pools were cleared after it."""
    found = measure(model_settings, "realcugan-se-x2", 300)
    assert found["ok"] and found["added_mb"] > 500 and found["kept_mb"] < 150, found
    assert found["added_mb"] <= found["predicted_mb"], found


@pytest.mark.parametrize(
    ("model", "scale"), [("studio-dmcnn-deblur", 1), ("studio-dncnn-denoise", 1), ("studio-espcn-x4", 4)]
)
def test_our_trained_networks_are_budgeted_by_their_measured_family(model_settings, model, scale):
    """Their entries name their architecture; without it a 768x576 frame was budgeted 24 GB (the heaviest
    network measured) and refused at full size."""
    found = measure(model_settings, model, 512, backend="torch")
    assert found["ok"] and found["output"] == [512 * scale, 512 * scale]
    # covered, and not wildly over: ESPCN x4 measured 175 MB against 574 predicted (the 2048 px output's planes
    # dominate the estimate); the heaviest network's figure would have predicted 15 GB
    assert found["added_mb"] <= found["predicted_mb"] <= 4 * found["added_mb"] + 64, found
