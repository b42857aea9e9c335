"""The MATLAB functions the original metric code calls, checked against values MATLAB documents or implies."""

from __future__ import annotations

import numpy as np
import pytest

from studio.metrics.matlab import gaussian_window, imresize, rgb2gray
from studio.metrics.nss import aggd_fit, ggd_fit


def test_rgb2gray_rounds_the_ntsc_luma_as_matlab_does_for_uint8():
    pixels = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]], np.uint8)
    assert rgb2gray(pixels).tolist() == [[76.0, 150.0, 29.0, 255.0, 18.0]]


def test_gaussian_window_is_fspecials():
    window = gaussian_window(7, 7 / 6)
    assert window.shape == (7, 7) and window.sum() == pytest.approx(1.0, abs=1e-15)
    assert window[3, 3] / window[3, 4] == pytest.approx(np.exp(1 / (2 * (7 / 6) ** 2)))


def test_imresize_halves_with_matlabs_size_and_keeps_flat_and_linear_images():
    assert imresize(np.ones((97, 60)), 0.5).shape == (49, 30)  # ceil, as MATLAB
    assert np.allclose(imresize(np.full((40, 40), 7.0), 0.5), 7.0)
    ramp = np.tile(np.arange(64, dtype=float), (16, 1))
    half = imresize(ramp, 0.5)
    # antialiased cubic at 1/2: output column j is centred on input 2j + 0.5; a ramp stays a ramp inside
    assert np.allclose(half[:, 4:-4], 2 * np.arange(32)[4:-4] + 0.5, atol=1e-12)


def test_imresize_weights_and_symmetric_edges_match_matlabs_kernel_by_hand():
    """Output row 1 is centred on input row 1.5 (1-based) with the kernel 0.5 cubic(x / 2): input row 1 counts
    at distance 0.5 and, mirrored into row 0, at 1.5: 0.5 (cubic(0.25) + cubic(0.75)) = 0.546875. Output row 2
    (centre 3.5) sees row 1 at distances 2.5 and 3.5, in the negative lobe: 0.5 (-0.0703125 - 0.0234375)."""
    image = np.zeros((16, 16))
    image[0] = 100.0
    half = imresize(image, 0.5)
    assert half[0] == pytest.approx(np.full(8, 54.6875), abs=1e-12)
    assert half[1] == pytest.approx(np.full(8, -4.6875), abs=1e-12)
    assert half[2:] == pytest.approx(np.zeros((6, 8)), abs=1e-12)


def test_generalised_gaussian_fits_recover_known_shapes():
    rng = np.random.default_rng(0)
    gaussian = rng.normal(0, 2, 200_000)
    alpha, variance = ggd_fit(gaussian)
    assert alpha == pytest.approx(2.0, abs=0.05) and variance == pytest.approx(4.0, rel=0.02)
    laplacian = rng.laplace(0, 1, 200_000)
    assert ggd_fit(laplacian)[0] == pytest.approx(1.0, abs=0.05)
    # an asymmetric Gaussian: left deviation 1 with probability 1/3, right deviation 2 with 2/3
    magnitude, left_side = np.abs(rng.normal(0, 1, 300_000)), rng.random(300_000) < 1 / 3
    alpha, left, right = aggd_fit(np.where(left_side, -magnitude, 2 * magnitude))
    assert (
        alpha == pytest.approx(2.0, abs=0.1)
        and left == pytest.approx(1.0, rel=0.02)
        and right == pytest.approx(2.0, rel=0.02)
    )


def test_fits_of_nothing_give_matlabs_nan_and_first_shape():
    with np.errstate(invalid="ignore"):
        alpha, left, right = aggd_fit(np.zeros(100))
    assert alpha == pytest.approx(0.2) and np.isnan(left) and np.isnan(right)
