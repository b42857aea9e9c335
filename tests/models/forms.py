"""Loading a model in a named form, checked to be that form (not what `auto` would pick on this machine), and
how closely two forms' outputs agree."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio as psnr


def load_exactly(loader, spec, form: dict):
    """The enhancer for `spec` in `form` ({backend, precision, device}), asserted to run exactly that."""
    enhancer = loader.load(spec, **form)
    assert (enhancer.info.backend, enhancer.info.precision, enhancer.info.device) == (
        form["backend"],
        form["precision"],
        form["device"],
    )
    return enhancer


def agreement(reference: np.ndarray, other: np.ndarray) -> tuple[float, int]:
    """(PSNR, largest per-value difference) of two outputs of the same input."""
    assert reference.shape == other.shape and reference.dtype == other.dtype == np.uint8
    largest = int(np.abs(reference.astype(int) - other.astype(int)).max())
    return (float("inf") if largest == 0 else psnr(reference, other)), largest
