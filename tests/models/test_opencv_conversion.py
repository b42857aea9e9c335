"""OpenCV dnn_superres -> PyTorch conversion, and the torch and ONNX forms of the dnn_superres entries.

The reference is dnn_superres itself (the opencv-dnn form: OpenCV DNN, fp32, on the CPU). Outputs
are compared as 8-bit images by PSNR and by their largest per-value difference; every form named
here is fp32 on the CPU unless its name says bf16. EDSR's real files are not in the test weights
mirror, so EDSR runs on EDSR_Tensorflow graphs with random weights written by tests/models/tf_graph.py
(OpenCV reads them like the real ones).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from studio.core.config import Settings
from studio.core.errors import WeightsError
from studio.core.media import DecodedImage
from studio.core.vocabulary import FORMS, OPENCV_DNN_ALGORITHMS
from studio.engine.enhance import run_enhancer
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.convert import opencv_to_torch
from studio.models.loader import Loader
from studio.models.registry import load_registry, parse_registry_file
from tests.models.forms import agreement, load_exactly
from tests.models.tf_graph import edsr_graph
from tests.paths import SHARED_WEIGHTS

REGISTRY = load_registry(Settings.from_env({}))
DNN_SUPERRES = [s.id for s in REGISTRY if s.backend == "opencv-dnn"]
MIRRORED = [s.id for s in REGISTRY if s.backend == "opencv-dnn" and s.source.url.pinned]  # all but EDSR
MIRROR = SHARED_WEIGHTS / "opencv-dnn-superres"
needs_mirror = pytest.mark.skipif(not MIRROR.exists(), reason="../shared/weights is not beside this checkout")

DNN_FP32_CPU = {"backend": "opencv-dnn", "precision": "fp32", "device": "cpu"}
TORCH_FP32_CPU = {"backend": "torch", "precision": "fp32", "device": "cpu"}
TORCH_BF16_CPU = {"backend": "torch", "precision": "bf16", "device": "cpu"}
ONNX_FP32_CPU = {"backend": "onnx", "precision": "fp32", "device": "cpu"}
FLOOR_DB = 60.0  # the bar for converted forms against OpenCV DNN (fp32)


@pytest.fixture(scope="module")
def loader(model_settings):
    return Loader(model_settings, cache=EnhancerCache(8192))


@pytest.fixture(scope="module")
def crop(photo):
    return np.ascontiguousarray(photo[100:140, 150:196])  # 40x46: odd sizes on purpose


def entry(tmp_path, model_id: str, graph: str, algorithm: str, scale: int):
    """A registry entry (parsed like the real registry) running the `.pb` file `graph` in tmp_path."""
    spec = {
        "id": model_id,
        "name": model_id,
        "task": "super-resolution",
        "scale": scale,
        "backend": "opencv-dnn",
        "source": {"file": graph},
        "license": "Apache-2.0",
        "description": "a test graph",
        "link": "https://github.com/opencv/opencv_contrib",
        "options": {"algorithm": algorithm},
    }
    (tmp_path / f"{model_id}.yaml").write_text(yaml.safe_dump({"models": [spec]}))
    (parsed,) = parse_registry_file(tmp_path / f"{model_id}.yaml")
    return parsed


@needs_mirror
@pytest.mark.parametrize("model_id", MIRRORED)
def test_the_torch_form_gives_opencv_dnns_pixels(loader, crop, model_id):
    """Measured (40x46 crop): 93 dB to identical; differences are single values one level off, where the
    network's float rounding moves a value across .5 (the colour steps are OpenCV's own calls)."""
    spec = REGISTRY.get(model_id)
    reference = load_exactly(loader, spec, DNN_FP32_CPU).enhance(crop)
    measured, largest = agreement(reference, load_exactly(loader, spec, TORCH_FP32_CPU).enhance(crop))
    print(f"opencv-dnn vs torch fp32 {model_id}: {measured:.2f} dB, max error {largest}")
    assert measured >= FLOOR_DB
    assert largest <= 1


@needs_mirror
@pytest.mark.parametrize("model_id", ["espcn-x2", "fsrcnn-small-x3", "lapsrn-x4"])
def test_the_onnx_form_agrees_with_torch_and_opencv_dnn(loader, crop, model_id):
    spec = REGISTRY.get(model_id)
    reference = load_exactly(loader, spec, DNN_FP32_CPU).enhance(crop)
    torch_output = load_exactly(loader, spec, TORCH_FP32_CPU).enhance(crop)
    onnx_output = load_exactly(loader, spec, ONNX_FP32_CPU).enhance(crop)
    for name, other in (("opencv-dnn", reference), ("torch fp32", torch_output)):
        measured, largest = agreement(other, onnx_output)
        print(f"{name} vs onnx fp32 {model_id}: {measured:.2f} dB, max error {largest}")
        assert measured >= FLOOR_DB
        assert largest <= 1


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_converts_around_its_mean_in_rgb(tmp_path, model_settings, crop, scale):
    """EDSR sees BGR minus the DIV2K mean in dnn_superres; ours sees RGB: a swapped channel or a wrong
    depth-to-space order would show as tens of dB lost. Measured: identical, or one value one level off."""
    (tmp_path / f"EDSR_x{scale}.pb").write_bytes(edsr_graph(scale))
    spec = entry(tmp_path, f"edsr-test-x{scale}", f"EDSR_x{scale}.pb", "edsr", scale)
    loader = Loader(model_settings, EnhancerCache(1024))
    reference = load_exactly(loader, spec, DNN_FP32_CPU).enhance(crop)
    assert reference.std() > 10  # the random network makes an image, not a flat field
    for form in (TORCH_FP32_CPU, ONNX_FP32_CPU):
        measured, largest = agreement(reference, load_exactly(loader, spec, form).enhance(crop))
        print(f"opencv-dnn vs {form['backend']} fp32 edsr x{scale}: {measured:.2f} dB, max error {largest}")
        assert measured >= FLOOR_DB
        assert largest <= 1


def test_the_conversion_is_cached_and_redone_when_the_source_changes(tmp_path, settings, monkeypatch):
    from safetensors.torch import load_file

    calls = []
    convert = opencv_to_torch.convert_opencv
    monkeypatch.setattr(opencv_to_torch, "convert_opencv", lambda *args: calls.append(args) or convert(*args))
    graph = tmp_path / "EDSR_x2.pb"
    graph.write_bytes(edsr_graph(2, seed=0))
    first = opencv_to_torch.converted_weights("edsr-test", graph, "edsr", 2, settings)
    assert opencv_to_torch.converted_weights("edsr-test", graph, "edsr", 2, settings) == first
    assert len(calls) == 1 and first.parent == settings.weights_dir / "converted"
    graph.write_bytes(edsr_graph(2, seed=1))  # new weights under the same name
    second = opencv_to_torch.converted_weights("edsr-test", graph, "edsr", 2, settings)
    assert second != first and len(calls) == 2
    before, after = load_file(str(first)), load_file(str(second))
    assert not np.array_equal(before["network.head.weight"].numpy(), after["network.head.weight"].numpy())


@needs_mirror
def test_a_graph_of_another_architecture_is_refused_in_one_line(tmp_path, model_settings):
    shutil.copy(MIRROR / "FSRCNN_x2.pb", tmp_path / "FSRCNN_x2.pb")
    shutil.copy(MIRROR / "ESPCN_x2.pb", tmp_path / "ESPCN_x2.pb")
    (tmp_path / "notes.pb").write_text("not a TensorFlow graph\n")
    loader = Loader(model_settings, EnhancerCache(1024))
    cases = [
        ("fsrcnn-as-espcn", "FSRCNN_x2.pb", "espcn", 2, "is not an OpenCV dnn_superres espcn network: layer Abs"),
        ("espcn-as-lapsrn", "ESPCN_x2.pb", "lapsrn", 2, "is not an OpenCV dnn_superres lapsrn network"),
        ("espcn-as-x3", "ESPCN_x2.pb", "espcn", 3, "ESPCN_x2.pb upscales x2, not x3"),
        ("text", "notes.pb", "espcn", 2, "notes.pb: OpenCV cannot read it as a TensorFlow graph"),
    ]
    for model_id, graph, algorithm, scale, message in cases:
        spec = entry(tmp_path, model_id, graph, algorithm, scale)
        with pytest.raises(WeightsError, match=message) as caught:
            loader.load(spec, **TORCH_FP32_CPU)
        assert "\n" not in str(caught.value)


@needs_mirror
@pytest.mark.parametrize(("model_id", "form"), [("espcn-x2", ONNX_FP32_CPU), ("lapsrn-x4", TORCH_FP32_CPU)])
def test_tiles_join_up_like_the_whole_image(loader, photo, model_id, form):
    """Tiles of 40 px with the entry's overlap against the whole 96x96 image. Measured: espcn-x2 98.6 dB,
    lapsrn-x4 79.5 dB with at most 2 levels apart (LapSRN sees a little further than the 16 px overlap)."""
    spec = REGISTRY.get(model_id)
    enhancer = load_exactly(loader, spec, form)
    image = DecodedImage(rgb=np.ascontiguousarray(photo[100:196, 150:246]))
    whole = run_enhancer(enhancer, image).rgb
    tiled = run_enhancer(enhancer, image, tile=40, overlap=spec.tile_overlap).rgb
    measured, largest = agreement(whole, tiled)
    print(f"whole vs tiled {model_id} {form['backend']}: {measured:.2f} dB, max error {largest}")
    assert measured >= 75.0
    assert largest <= 2


@needs_mirror
def test_the_torch_form_runs_bf16(loader, crop):
    """bf16 on purpose, on a 40x46 crop (emulated, slowly, on CPUs without AVX-512 BF16). Measured 50-54 dB."""
    spec = REGISTRY.get("lapsrn-x4")
    reference = load_exactly(loader, spec, DNN_FP32_CPU).enhance(crop)
    measured, _ = agreement(reference, load_exactly(loader, spec, TORCH_BF16_CPU).enhance(crop))
    assert measured >= 40.0


def test_every_dnn_superres_entry_offers_its_original_and_the_converted_forms():
    assert DNN_SUPERRES and "opencv-dnn" in FORMS
    for model_id in DNN_SUPERRES:
        assert REGISTRY.get(model_id).forms == ["opencv-dnn", "torch", "onnx"]
    request = CompareRequest.build(REGISTRY, ["espcn-x2"], metrics=[], backend="opencv-dnn")
    assert request.backend == "opencv-dnn"


def test_spandrel_knows_the_converted_networks(tmp_path, settings):
    from safetensors.torch import load_file

    from studio.models.archs import load_spandrel
    from studio.models.archs.opencv_sr import ARCH_CODES

    assert sorted(ARCH_CODES) == sorted(OPENCV_DNN_ALGORITHMS)
    graph = tmp_path / "EDSR_x3.pb"
    graph.write_bytes(edsr_graph(3, features=8, blocks=3))
    descriptor = load_spandrel(load_file(str(opencv_to_torch.converted_weights("e", graph, "edsr", 3, settings))))
    assert (descriptor.architecture.id, descriptor.scale, descriptor.input_channels) == ("opencv-dnn-superres", 3, 3)
    assert len(descriptor.model.network.blocks) == 3


@needs_mirror
def test_the_luma_networks_take_one_channel(loader):
    from safetensors.torch import load_file

    from studio.models.archs import load_spandrel

    for model_id, blocks in (("fsrcnn-small-x3", "body"), ("lapsrn-x8", "levels")):
        spec = REGISTRY.get(model_id)
        path = loader.weights_for(spec, "torch")
        descriptor = load_spandrel(load_file(str(path)))
        assert (descriptor.scale, descriptor.input_channels, descriptor.output_channels) == (spec.scale, 1, 1)
        assert len(getattr(descriptor.model.network, blocks)) == {"body": 8, "levels": 3}[blocks]
