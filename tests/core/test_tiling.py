from __future__ import annotations

import numpy as np
import pytest

from studio.core.tiling import auto_tile_size, pad_to, padded_size, plan_tiles, run_tiled


def test_tiles_cover_every_pixel_exactly_once():
    tiles = plan_tiles(130, 70, 32, 8)
    covered = np.zeros((130, 70), int)
    for tile in tiles:
        y0, y1, x0, x1 = tile.core
        covered[y0:y1, x0:x1] += 1
        ry0, ry1, rx0, rx1 = tile.read
        assert ry0 <= y0 and ry1 >= y1 and rx0 <= x0 and rx1 >= x1
    assert (covered == 1).all()


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_tiling_a_pointwise_operator_is_exact(scale):
    image = np.random.default_rng(0).integers(0, 256, (50, 77, 3), dtype=np.uint8)

    def upscale(part):
        return np.repeat(np.repeat(255 - part, scale, axis=0), scale, axis=1)

    assert np.array_equal(run_tiled(upscale, image, scale, 16, 4), upscale(image))


def test_progress_is_reported_per_tile():
    seen = []
    run_tiled(lambda p: p, np.zeros((40, 40, 3), np.uint8), 1, 16, 2, on_tile=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 9) for i in range(1, 10)]


def test_padding_meets_multiples_and_minimum():
    image = np.zeros((13, 6, 3), np.uint8)
    padded, original = pad_to(image, multiple=4, minimum=8)
    assert padded.shape[:2] == (16, 8) and original == (13, 6)
    assert padded_size(17, 8) == 24 and padded_size(3, 1, 5) == 5


def test_auto_tile_size_grows_with_budget():
    assert auto_tile_size(4, 256) < auto_tile_size(4, 2048)
    assert auto_tile_size(4, 1) == 64 and auto_tile_size(2, 1024) % 64 == 0
