"""Training data: the built-in set, a user folder's fixed split, bad folders, and the seeded degradations."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import UsageError
from studio.training import degradations
from studio.training.data import BUILTIN_HELD_OUT, builtin_images, check_patch_size, folder_images, is_held_out


def _save(folder, name, side=64, seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / name)


def test_builtin_split_is_fixed_and_disjoint():
    images = builtin_images()
    assert sorted(images.held_out) == sorted(BUILTIN_HELD_OUT)
    assert not set(images.train) & set(images.held_out)
    assert {"drawn-text", "drawn-shapes"} <= set(images.train)
    assert all(image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 for image in images.train.values())


def test_a_folder_holds_out_by_name_and_keeps_it(tmp_path):
    for index in range(12):
        _save(tmp_path, f"img{index:02d}.png", seed=index)
    first = folder_images(tmp_path, 10**8)
    again = folder_images(tmp_path, 10**8)
    assert sorted(first.held_out) == sorted(again.held_out)
    assert first.held_out and first.train and not set(first.train) & set(first.held_out)
    assert all(is_held_out(name) for name in first.held_out)
    _save(tmp_path, "zz-new.png", seed=99)  # adding a file moves no other image across the split
    third = folder_images(tmp_path, 10**8)
    assert set(first.held_out) <= set(third.held_out)


def test_bad_folders_give_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="no such folder"):
        folder_images(tmp_path / "missing", 10**8)
    with pytest.raises(UsageError, match="no readable images"):
        folder_images(tmp_path, 10**8)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.png").write_bytes(b"<html>not an image</html>")
    with pytest.raises(UsageError, match="no readable images") as error:
        folder_images(tmp_path, 10**8)
    assert "\n" not in str(error.value)
    _save(tmp_path, "one.png")
    with pytest.raises(UsageError, match="at least 2 images"):
        folder_images(tmp_path, 10**8)
    _save(tmp_path, "two.png", seed=1)
    images = folder_images(tmp_path, 10**8)
    assert set(images.skipped) == {"notes.txt", "fake.png"}
    with pytest.raises(UsageError, match="smaller than the 96 px patch"):
        check_patch_size(images, 96)


def test_trajectory_kernels_are_normalised_centred_and_seeded():
    for seed in range(5):
        kernel = degradations.trajectory_kernel(np.random.default_rng(seed), 15.0)
        assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert kernel.sum() == pytest.approx(1.0)
        rows, cols = np.indices(kernel.shape)
        centre = (kernel.shape[0] - 1) / 2
        assert abs((kernel * rows).sum() - centre) < 1.0 and abs((kernel * cols).sum() - centre) < 1.0
        spread = np.count_nonzero(kernel > 1e-4)
        assert spread >= 8  # a path, not a dot
    same = degradations.trajectory_kernel(np.random.default_rng(3), 11.0)
    np.testing.assert_array_equal(same, degradations.trajectory_kernel(np.random.default_rng(3), 11.0))


def test_deblurring_kernels_come_in_their_shares_and_are_normalised():
    rng = np.random.default_rng(0)
    kinds = {"trajectory": 0, "line": 0, "defocus": 0}
    for _ in range(1000):
        kernel, what = degradations.blur_kernel(rng)
        assert kernel.sum() == pytest.approx(1.0) and (kernel >= 0).all()
        kinds["defocus" if what.kind == "defocus" else what.detail.split()[0]] += 1
    for kind, share in degradations.KERNEL_SHARES.items():
        assert abs(kinds[kind] / 1000 - share) < 0.04, kinds


def test_held_out_inputs_are_fixed_per_seed():
    sharp = np.random.default_rng(0).integers(0, 256, (64, 66, 3), dtype=np.uint8)
    for task, scale in (("deblur", 1), ("denoise", 1), ("sr", 4)):
        first, reference, _ = degradations.held_out_input(task, sharp, scale, 7)
        second, _, _ = degradations.held_out_input(task, sharp, scale, 7)
        np.testing.assert_array_equal(first, second)
        assert first.shape[0] * scale == reference.shape[0] and first.shape[1] * scale == reference.shape[1]
    noisy, reference, _ = degradations.held_out_input("denoise", sharp, 1, 0)
    assert np.std(noisy.astype(float) - reference) == pytest.approx(25, abs=3)  # clipping trims it a little


def test_mixed_downscale_makes_half_the_inputs_as_the_studio_degrades():
    """--downscale mixed: about half the samples are exactly the studio's own xN degradation (OpenCV bicubic, which
    aliases), the rest MATLAB's antialiased imresize; "matlab" draws nothing from the generator, so a run made
    before the option takes the same samples."""
    from studio.core.degrade import Recipe, degrade
    from studio.training.degradations import downscale, training_pair

    sharp = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    studio, matlab = degrade(sharp, Recipe(scale=4)), downscale(sharp, 4)
    assert not np.array_equal(studio, matlab)
    rng = np.random.default_rng(1)
    kinds = []
    for _ in range(200):
        degraded, target = training_pair("sr", sharp, 4, rng, 0, "mixed")
        assert target is sharp and (np.array_equal(degraded, studio) or np.array_equal(degraded, matlab))
        kinds.append(np.array_equal(degraded, studio))
    assert 0.4 < np.mean(kinds) < 0.6
    untouched = np.random.default_rng(1)
    training_pair("sr", sharp, 4, untouched, 0)
    assert untouched.random() == np.random.default_rng(1).random()
