"""The spandrel path with a real architecture (randomly initialised, saved as safetensors)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

from studio.core.config import Settings
from studio.core.errors import EnhanceError, WeightsError
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import parse_registry_file


def write_model_registry(folder, filename: str, scale: int = 2) -> Settings:
    entry = {
        "id": "tiny-compact",
        "name": "Tiny compact",
        "task": "super-resolution",
        "scale": scale,
        "backend": "torch",
        "source": {"file": filename},
        "license": "MIT",
        "description": "test net",
        "link": "https://example.org",
    }
    (folder / "registry.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    return folder / "registry.yaml"


@pytest.fixture
def tiny_net(tmp_path):
    torch.manual_seed(0)
    net = Compact(num_feat=8, num_conv=2, upscale=2).eval()
    save_file(net.state_dict(), str(tmp_path / "tiny.safetensors"))
    return net


def load_tiny(tmp_path, filename="tiny.safetensors", scale=2):
    """The tiny network as torch fp32 on the CPU, named explicitly: outputs are compared exactly below."""
    registry_file = write_model_registry(tmp_path, filename, scale)
    (spec,) = parse_registry_file(registry_file)
    settings = Settings.from_env({"STUDIO_WEIGHTS_DIR": str(tmp_path / "w"), "STUDIO_THREADS": "2"})
    return Loader(settings, cache=EnhancerCache(1000)).load(spec, backend="torch", precision="fp32", device="cpu")


def test_spandrel_model_runs_and_matches_plain_torch(tmp_path, tiny_net, small_photo):
    enhancer = load_tiny(tmp_path)
    assert (
        enhancer.info.backend == "torch" and enhancer.info.scale == 2 and enhancer.architecture == "RealESRGAN Compact"
    )
    assert (enhancer.info.backend, enhancer.info.device, enhancer.info.precision) == ("torch", "cpu", "fp32")
    output = enhancer.enhance(small_photo)
    assert output.shape == (256, 256, 3) and output.dtype == np.uint8
    with torch.inference_mode():
        tensor = torch.from_numpy(small_photo).permute(2, 0, 1)[None].float() / 255
        expected = (tiny_net(tensor).clamp(0, 1) * 255).round().byte()[0].permute(1, 2, 0).numpy()
    assert np.abs(output.astype(int) - expected).max() <= 1


def test_odd_sizes_come_back_at_exactly_scale_times(tmp_path, tiny_net):
    image = np.random.default_rng(0).integers(0, 256, (13, 7, 3), dtype=np.uint8)
    assert load_tiny(tmp_path).enhance(image).shape == (26, 14, 3)


def test_declared_scale_must_match_the_weights(tmp_path, tiny_net):
    with pytest.raises(EnhanceError, match="declared x4 but the weights are x2"):
        load_tiny(tmp_path, scale=4)


def test_corrupt_weights_give_a_clear_error(tmp_path):
    (tmp_path / "broken.pth").write_bytes(b"this is not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read weights broken.pth"):
        load_tiny(tmp_path, "broken.pth")


class Evil:
    def __reduce__(self):
        return (print, ("this pickle runs code",))


def test_unsafe_pickles_are_refused(tmp_path):
    with open(tmp_path / "evil.pth", "wb") as handle:
        pickle.dump({"weight": Evil()}, handle)
    with pytest.raises(WeightsError, match="cannot read weights evil.pth"):
        load_tiny(tmp_path, "evil.pth")
