"""Synthetic degradations: seeded, reproducible, and applied in the documented order
(blur, then bicubic downscale, then noise, then JPEG)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from studio.core.degrade import Recipe, crop_to_multiple, degrade
from studio.core.errors import UsageError
from studio.core.psf import gaussian_psf, motion_psf

RECIPE = "x2,blur=gauss:1.5,noise=8,jpeg=70,seed=7"


@pytest.fixture(scope="module")
def sharp(photo):
    return np.ascontiguousarray(photo[:128, :128])


# The four steps written out independently of studio.core.degrade (PIL for JPEG, numpy for noise).
def blur(image, kernel):
    return cv2.filter2D(image.astype(np.float64), -1, kernel, borderType=cv2.BORDER_REFLECT)


def downscale(image, scale):
    height, width = image.shape[:2]
    return cv2.resize(image, (width // scale, height // scale), interpolation=cv2.INTER_CUBIC)


def add_noise(image, sigma, rng):
    return image + rng.normal(0.0, sigma, image.shape)


def to_uint8(image):
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image), "RGB").save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def test_degradation_is_seeded_and_reproducible(sharp):
    recipe = Recipe.parse(RECIPE)
    first, second = degrade(sharp, recipe), degrade(sharp, recipe)
    assert first.shape == (64, 64, 3) and np.array_equal(first, second)
    assert not np.array_equal(first, degrade(sharp, Recipe.parse(RECIPE.replace("seed=7", "seed=8"))))
    assert Recipe.parse(recipe.to_text()) == recipe
    motion = Recipe.parse("blur=motion:11:30,noise=poisson:40")
    assert motion.kernel().shape == (11, 11) and degrade(sharp, motion).shape == sharp.shape


def test_the_steps_run_blur_then_downscale_then_noise_then_jpeg(sharp):
    """The README's order, proved: the result is exactly the four steps applied by hand in that order."""
    result = degrade(sharp, Recipe.parse(RECIPE))
    kernel = gaussian_psf(1.5)

    def noise(image):
        return add_noise(image, 8, np.random.default_rng(7))  # the recipe's seed: one draw of the same noise

    def blur_(image):
        return blur(image, kernel)

    def down(image):
        return downscale(image.astype(np.float64), 2)

    assert np.array_equal(result, jpeg(noise(down(blur_(sharp))), 70))
    # ... and any other order gives another image, so the comparison above can tell orders apart
    others = {
        "downscale before blur": jpeg(noise(blur_(down(sharp))), 70),
        "noise before downscale": jpeg(down(noise(blur_(sharp))), 70),
        "jpeg before noise": to_uint8(noise(jpeg(down(blur_(sharp)), 70))),
        "noise before blur": jpeg(down(blur_(noise(sharp.astype(np.float64)))), 70),
    }
    for name, image in others.items():
        assert image.shape == result.shape, name
        assert not np.array_equal(result, image), name


def test_each_step_is_the_one_named(sharp):
    """One step at a time, so a swapped kernel, interpolation, noise or quality is caught on its own."""
    motion = motion_psf(9, 30)
    assert np.array_equal(degrade(sharp, Recipe.parse("blur=motion:9:30")), to_uint8(blur(sharp, motion)))
    assert np.array_equal(degrade(sharp, Recipe.parse("x4")), to_uint8(downscale(sharp.astype(np.float64), 4)))
    noisy = add_noise(sharp.astype(np.float64), 5, np.random.default_rng(3))
    assert np.array_equal(degrade(sharp, Recipe.parse("noise=5,seed=3")), to_uint8(noisy))
    assert np.array_equal(degrade(sharp, Recipe.parse("jpeg=40")), jpeg(sharp, 40))
    peak = 30
    poisson = np.random.default_rng(0).poisson(sharp / 255.0 * peak) / peak * 255.0
    assert np.array_equal(degrade(sharp, Recipe.parse("noise=poisson:30,seed=0")), to_uint8(poisson))


@pytest.mark.parametrize("text", ["x5", "blur=box:3", "noise=-1", "jpeg=0", "sharpen=2"])
def test_bad_recipes_are_refused(text):
    with pytest.raises(UsageError):
        Recipe.parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("blur=gauss:2000", "blur sigma must be between 0.1 and 10, got 2000"),
        ("blur=gauss:0", "blur sigma must be between 0.1 and 10, got 0"),
        ("blur=gauss:nan", "blur sigma must be between 0.1 and 10, got nan"),
        ("blur=motion:100000:0", "motion blur length must be between 1 and 64, got 100000"),
        ("blur=motion:9:inf", "motion blur angle must be between -180 and 180, got inf"),
        ("noise=1e9", "gauss noise must be between 0 and 100, got 1000000000"),
        ("noise=poisson:1e30", "poisson noise must be between 0 and 10000, got 1e[+]30"),
        ("jpeg=101", "jpeg quality must be a whole number between 1 and 100, got 101"),
        ("seed=-1", "seed must be a whole number between 0 and 4294967295, got -1"),
        ("seed=" + "1" + "0" * 30, "seed must be a whole number between 0 and 4294967295, got 1e[+]30"),
    ],
)
def test_every_recipe_parameter_is_bounded(text, message):
    """An unbounded kernel costs memory with its square (blur=gauss:2000 took 3.35 GB and 20 s); a seed past
    32 bits cannot be written to results.json. Each is one line naming the bound."""
    with pytest.raises(UsageError, match=f"^{message}$"):
        Recipe.parse(text)


def test_the_widest_bounds_are_accepted_and_cheap(sharp):
    recipe = Recipe.parse("x2,blur=gauss:10,noise=100,jpeg=1,seed=4294967295")
    assert recipe.kernel().shape == (61, 61) and degrade(sharp, recipe).shape == (64, 64, 3)
    assert Recipe.parse("blur=motion:64:-180,noise=poisson:10000").kernel().shape == (65, 65)


@pytest.mark.parametrize(("height", "width"), [(1, 1), (3, 40), (40, 3)])
def test_an_image_smaller_than_the_degradation_scale_is_refused(height, width):
    tiny = np.zeros((height, width, 3), np.uint8)
    with pytest.raises(UsageError, match=f"the image is {width}x{height}: a x4 degradation needs at least 4 px"):
        degrade(crop_to_multiple(tiny, 4), Recipe.parse("x4"))
    assert degrade(crop_to_multiple(np.zeros((4, 4, 3), np.uint8), 4), Recipe.parse("x4")).shape == (1, 1, 3)
