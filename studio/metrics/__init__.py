"""The metric catalogue: one explicit list, looked up by id (as pyiqa's DEFAULT_CONFIGS)."""

from __future__ import annotations

from studio.core.errors import UsageError
from studio.metrics import fullref, lpips, noref
from studio.metrics.base import FULL_REFERENCE, NO_REFERENCE, MetricContext, MetricSpec

METRICS: dict[str, MetricSpec] = {
    spec.id: spec
    for spec in (
        MetricSpec(
            "psnr", "PSNR", FULL_REFERENCE, False, (0, 100), fullref.psnr_rgb, "RGB PSNR in dB, border crop = scale"
        ),
        MetricSpec(
            "ssim",
            "SSIM",
            FULL_REFERENCE,
            False,
            (0, 1),
            fullref.ssim_rgb,
            "RGB SSIM (11x11 Gaussian, sigma 1.5), border crop = scale",
        ),
        MetricSpec(
            "psnr_y",
            "PSNR-Y",
            FULL_REFERENCE,
            False,
            (0, 100),
            fullref.psnr_y,
            "PSNR on BT.601 luma, border crop = scale (as SR papers report)",
        ),
        MetricSpec(
            "ssim_y",
            "SSIM-Y",
            FULL_REFERENCE,
            False,
            (0, 1),
            fullref.ssim_y,
            "SSIM on BT.601 luma, border crop = scale",
        ),
        MetricSpec(
            "lpips",
            "LPIPS",
            FULL_REFERENCE,
            True,
            (0, 1),
            lpips.lpips,
            "learned perceptual distance (AlexNet)",
            lpips.availability,
        ),
        MetricSpec(
            "brisque",
            "BRISQUE",
            NO_REFERENCE,
            True,
            (0, 100),
            noref.brisque,
            "blind quality (OpenCV, LIVE model): 0 pristine",
            noref.brisque_availability,
            scale_dependent=True,  # measured: a photo scores 0.0, its bicubic x2 27.9, x4 56.0
        ),
        MetricSpec(
            "sharpness",
            "Sharpness",
            NO_REFERENCE,
            False,
            (0, float("inf")),
            noref.sharpness,
            "variance of the Laplacian",
            scale_dependent=True,  # measured: 720 for a photo, 67 for its bicubic x2, 7 for x4
        ),
        MetricSpec(
            "colourfulness",
            "Colourfulness",
            NO_REFERENCE,
            False,
            (0, float("inf")),
            noref.colourfulness,
            "Hasler-Süsstrunk M3",
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
