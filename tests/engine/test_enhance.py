"""run_enhancer / choose_tile: the README's tiling rules, checked on real networks.

`tileable: false` (Real-CUGAN: squeeze-excitation pools over the whole image) must run untiled
however small the tile setting, in every form, so its output equals the whole-image output.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.enhance import choose_tile, run_enhancer
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry

FP32_CPU = {"precision": "fp32", "device": "cpu"}


@pytest.fixture(scope="module")
def engine(model_settings):
    return load_registry(model_settings), Loader(model_settings, cache=EnhancerCache(8192))


class Counting:
    """An enhancer wrapper that records the shape of every image it is given."""

    def __init__(self, inner):
        self.inner, self.info, self.memory_mb, self.calls = inner, inner.info, inner.memory_mb, []

    def enhance(self, image: np.ndarray) -> np.ndarray:
        self.calls.append(image.shape[:2])
        return self.inner.enhance(image)


@pytest.fixture(scope="module")
def image(photo) -> DecodedImage:
    return DecodedImage(rgb=np.ascontiguousarray(photo[100:172, 150:230]))  # 72x80, above every tile used here


def test_every_untileable_entry_pools_over_the_whole_image(engine):
    """Real-CUGAN's squeeze-excitation and our DMCNN's channel attention average the whole input: tiles would
    change their outputs. Every other network tiles."""
    registry, _ = engine
    untileable = [s.id for s in registry if getattr(s.options, "tileable", True) is False]
    assert untileable == [s.id for s in registry if s.id.startswith("realcugan-") or s.id == "studio-dmcnn-deblur"]


@pytest.mark.parametrize("form", ["ncnn", "torch"])
def test_an_untileable_network_runs_once_on_the_whole_image(engine, image, form):
    registry, loader = engine
    enhancer = Counting(loader.load(registry.get("realcugan-se-x2"), backend=form, **FP32_CPU))
    assert enhancer.info.tileable is False
    small_tiles = dataclasses.replace(loader.settings, tile=32)  # STUDIO_TILE=32
    assert choose_tile(enhancer, small_tiles) is None and choose_tile(enhancer, loader.settings, 32) is None
    output = run_enhancer(enhancer, image, choose_tile(enhancer, small_tiles, 32), overlap=8)
    assert enhancer.calls == [(72, 80)]
    assert np.array_equal(output.rgb, enhancer.inner.enhance(image.rgb))


def test_a_tileable_network_is_tiled_by_the_same_setting(engine, image):
    """The control: the same tile setting does split a tileable network's input."""
    registry, loader = engine
    enhancer = Counting(loader.load(registry.get("realesr-animevideov3-x2"), backend="ncnn", **FP32_CPU))
    tile = choose_tile(enhancer, dataclasses.replace(loader.settings, tile=32))
    assert tile == 32
    run_enhancer(enhancer, image, tile, overlap=8)
    assert len(enhancer.calls) > 1 and all(h < 72 or w < 80 for h, w in enhancer.calls)


def test_the_engine_runs_realcugan_whole_with_a_small_tile(engine, image):
    registry, loader = engine
    request = CompareRequest.build(registry, ["realcugan-se-x2"], metrics=[], tile=32, backend="ncnn", **FP32_CPU)
    events = []
    (row,) = run(request, image, registry, loader, on_progress=lambda fraction, message: events.append(message)).rows
    assert row.ok and (row.backend, row.precision, row.device) == ("ncnn", "fp32", "cpu")
    whole = loader.load(registry.get("realcugan-se-x2"), backend="ncnn", **FP32_CPU).enhance(image.rgb)
    assert np.array_equal(row.output.rgb, whole)
    assert [m for m in events if "tile" in m] == ["realcugan-se-x2: tile 1/1"]  # one piece: the whole image


class Exploding:
    """A loaded model whose runtime fails the way OpenCV does: an assertion with a source path in its text."""

    def __init__(self, info):
        self.info, self.memory_mb = info, 1.0

    def enhance(self, image: np.ndarray) -> np.ndarray:
        raise RuntimeError(
            "OpenCV(5.0.0) /io/opencv/modules/imgproc/src/resize.cpp:4217: error: (-215:Assertion failed)"
        )


def test_an_unexpected_model_failure_is_one_line_with_an_error_id_and_its_traceback_is_logged(settings, caplog):
    from studio.models.backends.base import EnhancerInfo

    registry, loader = load_registry(settings), Loader(settings, cache=EnhancerCache(64))
    info = EnhancerInfo(model_id="clahe", task="contrast", scale=1, backend="classical", tileable=False)
    loader.load = lambda *args, **kwargs: Exploding(info)
    request = CompareRequest.build(registry, ["clahe"], metrics=[], preview=None)
    with caplog.at_level("ERROR", logger="studio.engine.enhance"):
        (row,) = run(request, DecodedImage(rgb=np.zeros((6, 8, 3), np.uint8)), registry, loader).rows
    match = re.fullmatch(
        r"'clahe' failed unexpectedly on a 8x6 input \(error id ([0-9a-f]{12}), its traceback in the log\)", row.error
    )
    assert match, row.error
    (record,) = caplog.records
    assert match.group(1) in record.getMessage() and "resize.cpp" in caplog.text and "Traceback" in caplog.text
