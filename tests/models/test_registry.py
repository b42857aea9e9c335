from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studio.core import vocabulary
from studio.core.config import Settings
from studio.core.errors import ParameterError, RegistryError, UnknownModelError
from studio.models.options import OPTIONS_BY_BACKEND
from studio.models.registry import load_registry, parse_registry_file

BASE_ENTRY = {
    "id": "my-model",
    "name": "My model",
    "task": "sharpen",
    "scale": 1,
    "backend": "classical",
    "source": {"builtin": "unsharp_mask"},
    "license": "MIT",
    "description": "test",
    "link": "https://example.org",
    "params": {
        "sigma": {"type": "float", "default": 1.0, "min": 0.5, "max": 3},
        "amount": {"type": "float", "default": 1.0},
        "threshold": {"type": "float", "default": 0},
    },
}


def write_registry(path: Path, *entries: dict) -> Path:
    path.write_text(yaml.safe_dump({"models": list(entries)}))
    return path


def test_builtin_registry_is_valid_and_complete():
    registry = load_registry(Settings.from_env({}))
    classical = [s for s in registry if s.backend == "classical"]
    remote = [s for s in registry if s.source.kind in {"hf", "url"}]
    assert len(classical) >= 12
    assert len(remote) >= 5
    assert {s.task for s in registry} >= {"super-resolution", "denoise", "deblur", "sharpen", "contrast"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, r"model 'my-model': field 'colour': unknown field"),
        ({"backend": "tensorflow"}, r"model 'my-model': field 'backend'"),
        ({"task": "colorize"}, r"model 'my-model': field 'task'"),
        ({"scale": 0}, r"field 'scale'"),
        ({"source": {"hf": {"repo_id": "a/b"}}}, r"field 'source.hf.filename'"),
        ({"source": {"url": {"url": "https://x/y.pth", "sha256": "abc"}}}, r"field 'source.url.sha256'"),
        ({"source": {"builtin": "x", "file": "y"}}, r"exactly one of"),
        ({"source": {"hf": {"repo_id": "a/b", "filename": "f", "sha256": "xyz"}}}, r"source.hf.sha256"),
        ({"params": {"p": {"type": "int", "default": 50, "max": 10}}}, r"outside"),
        ({"options": {"fastest": {"tpu": "classical"}}}, r"unknown machine class 'tpu'"),
        ({"options": {"fastest": {"cuda": "torch"}}}, r"'torch' is not one of this model's forms \(classical\)"),
        ({"options": {"fastest": "torch"}}, r"options.fastest maps a machine class"),
    ],
)
def test_malformed_entries_name_entry_and_field(tmp_path, change, message):
    path = write_registry(tmp_path / "r.yaml", {**BASE_ENTRY, **change})
    with pytest.raises(RegistryError, match=message):
        parse_registry_file(path)


def test_duplicate_ids_are_refused(tmp_path):
    path = write_registry(tmp_path / "r.yaml", BASE_ENTRY, BASE_ENTRY)
    with pytest.raises(RegistryError, match="model 'my-model': duplicate id"):
        parse_registry_file(path)


def test_invalid_yaml_and_shape(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n  - id: x\n")
    with pytest.raises(RegistryError, match="not valid YAML at line"):
        parse_registry_file(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(RegistryError, match="'models' list"):
        parse_registry_file(bad)


def test_get_suggests_the_closest_id():
    registry = load_registry(Settings.from_env({}))
    with pytest.raises(UnknownModelError, match="did you mean 'lanczos-x4'"):
        registry.get("lanczos-4x")
    with pytest.raises(KeyError):  # also a KeyError for callers that expect one
        registry.get("nothing-like-it-at-all")


def test_user_registry_is_merged_over_builtin(tmp_path):
    override = {**BASE_ENTRY, "id": "unsharp-mask", "name": "Overridden"}
    path = write_registry(tmp_path / "user.yaml", override, BASE_ENTRY)
    registry = load_registry(Settings.from_env({"STUDIO_REGISTRY": str(path)}))
    assert registry.get("unsharp-mask").name == "Overridden"
    assert "my-model" in registry
    assert "lanczos-x2" in registry


def test_file_sources_are_relative_to_their_registry(tmp_path):
    entry = {**BASE_ENTRY, "backend": "torch", "source": {"file": "weights/net.safetensors"}, "params": {}}
    path = write_registry(tmp_path / "r.yaml", entry)
    (spec,) = parse_registry_file(path)
    assert spec.source.file == (tmp_path / "weights" / "net.safetensors").resolve()


def test_params_are_checked_and_coerced():
    spec = load_registry(Settings.from_env({})).get("nl-means")
    values = spec.resolve_params({"h": "12.5", "template_window": "5"})
    assert values["h"] == 12.5 and values["template_window"] == 5
    with pytest.raises(ParameterError, match="outside"):
        spec.resolve_params({"h": 500})
    with pytest.raises(ParameterError, match="not a valid int"):
        spec.resolve_params({"template_window": "5.5"})
    with pytest.raises(ParameterError, match="has no parameter 'radius'"):
        spec.resolve_params({"radius": 1})


def test_unpinned_hub_sources_say_so():
    registry = load_registry(Settings.from_env({}))
    hub = [s for s in registry if s.source.kind == "hf"]
    assert hub and all("(unpinned)" in s.source.describe() for s in hub if not s.source.hf.pinned)


def test_the_default_form_follows_the_machine_class():
    registry = load_registry(Settings.from_env({}))
    x4plus, compact, lanczos = (registry.get(i) for i in ("realesrgan-x4plus", "realesr-animevideov3-x4", "lanczos-x4"))
    assert [x4plus.default_form(m) for m in ("cpu", "cpu-bf16", "cuda")] == ["ncnn", "torch", "torch"]
    assert [compact.default_form(m) for m in ("cpu", "cpu-bf16", "cuda")] == ["ncnn", "ncnn", "torch"]
    assert {lanczos.default_form(m) for m in ("cpu", "cpu-bf16", "cuda")} == {"classical"}


# ---- typed backend options -------------------------------------------------------------------
BACKEND_ENTRIES = {
    "classical": {
        "backend": "classical",
        "source": {"builtin": "resize"},
        "params": {},
        "options": {"method": "bicubic"},
    },
    "ncnn": {"backend": "ncnn", "source": {"file": "net.param"}, "params": {}, "options": {"prepadding": 7}},
    "opencv-dnn": {
        "backend": "opencv-dnn",
        "source": {"file": "net.pb"},
        "params": {},
        "options": {"algorithm": "espcn"},
    },
    "onnx": {"backend": "onnx", "source": {"file": "net.onnx"}, "params": {}, "options": {"tile_multiple": 8}},
    "torch": {"backend": "torch", "source": {"file": "net.pth"}, "params": {}, "options": {"tileable": False}},
}


def entry_for(backend: str, **options) -> dict:
    base = BACKEND_ENTRIES[backend]
    return {**BASE_ENTRY, **base, "options": {**base["options"], **options}}


def test_each_backend_entry_is_valid_as_written(tmp_path):
    for backend in BACKEND_ENTRIES:
        (spec,) = parse_registry_file(write_registry(tmp_path / "r.yaml", entry_for(backend)))
        assert type(spec.options) is OPTIONS_BY_BACKEND[backend]


@pytest.mark.parametrize(
    ("backend", "typo", "suggestion"),
    [
        ("classical", "methd", "method"),
        ("ncnn", "prepadd", "prepadding"),
        ("ncnn", "tile_overlop", "tile_overlap"),
        ("opencv-dnn", "algoritm", "algorithm"),
        ("onnx", "tile_multipel", "tile_multiple"),
        ("torch", "tilable", "tileable"),
    ],
)
def test_a_misspelt_option_is_refused_naming_file_entry_and_field(tmp_path, backend, typo, suggestion):
    path = write_registry(tmp_path / "r.yaml", entry_for(backend, **{typo: 1}))
    with pytest.raises(RegistryError) as caught:
        parse_registry_file(path)
    assert str(caught.value) == (
        f"r.yaml: model 'my-model': field 'options.{typo}': unknown field (did you mean '{suggestion}'?)"
    )


@pytest.mark.parametrize(
    ("backend", "option", "value", "message"),
    [
        ("classical", "method", "cubic", "Input should be 'bicubic', 'lanczos', 'bilinear' or 'nearest'"),
        ("classical", "psf", "box", "Input should be 'gaussian' or 'motion'"),
        ("classical", "sigma", 0, "greater than 0"),
        ("ncnn", "prepadding", "seven", "valid integer"),
        ("ncnn", "multiple", 0, "greater than or equal to 1"),
        ("ncnn", "pad_mode", "wrap", "Input should be 'edge' or 'reflect'"),
        ("ncnn", "residual", "bicubic", "Input should be 'nearest'"),
        ("ncnn", "pro", "sometimes", "valid boolean"),
        ("ncnn", "convert", "swinir", "Input should be 'compact', 'esrgan', 'realcugan'"),
        ("opencv-dnn", "algorithm", "srgan", "Input should be 'edsr', 'espcn', 'fsrcnn' or 'lapsrn'"),
        ("onnx", "tile_multiple", 0, "greater than or equal to 1"),
        ("onnx", "min_size", "big", "valid integer"),
        ("torch", "tileable", "maybe", "valid boolean"),
        ("torch", "tile_overlap", -1, "greater than or equal to 0"),
    ],
)
def test_a_wrongly_typed_option_is_refused(tmp_path, backend, option, value, message):
    path = write_registry(tmp_path / "r.yaml", entry_for(backend, **{option: value}))
    with pytest.raises(RegistryError, match=rf"^r\.yaml: model 'my-model': field 'options\.{option}': .*{message}"):
        parse_registry_file(path)


@pytest.mark.parametrize("backend", ["ncnn", "torch", "onnx", "classical"])
@pytest.mark.parametrize("runtime_choice", ["precision", "device"])
def test_precision_and_device_are_not_registry_options(tmp_path, backend, runtime_choice):
    """They are the caller's choice (Loader.load), so an entry cannot fix them."""
    path = write_registry(tmp_path / "r.yaml", entry_for(backend, **{runtime_choice: "fp32"}))
    with pytest.raises(RegistryError, match=rf"field 'options\.{runtime_choice}': unknown field"):
        parse_registry_file(path)


def test_an_opencv_dnn_entry_must_name_its_algorithm(tmp_path):
    entry = entry_for("opencv-dnn")
    entry["options"] = {}
    with pytest.raises(RegistryError, match=r"model 'my-model': field 'options.algorithm': Field required"):
        parse_registry_file(write_registry(tmp_path / "r.yaml", entry))


def test_options_of_the_builtin_registry_are_typed_per_backend():
    registry = load_registry(Settings.from_env({}))
    for spec in registry:
        assert type(spec.options) is OPTIONS_BY_BACKEND[spec.backend], spec.id
    realcugan = registry.get("realcugan-se-x4").options
    assert (realcugan.pad_mode, realcugan.residual, realcugan.tileable, realcugan.convert) == (
        "reflect",
        "nearest",
        False,
        "realcugan",
    )
    assert registry.get("wiener-motion").options.operator_kwargs() == {"psf": "motion", "sigma": 1.0}


def test_choices_come_from_the_vocabulary():
    from typing import get_args

    from studio.models.backends.classical import RESIZE_METHODS
    from studio.models.convert.ncnn_to_torch import ARCHITECTURES
    from studio.models.options import ConvertArchitecture, OpenCVDnnAlgorithm, PadMode
    from studio.models.schema import Backend, Task

    assert get_args(Task) == vocabulary.TASKS and get_args(Backend) == vocabulary.BACKENDS
    assert set(OPTIONS_BY_BACKEND) == set(vocabulary.BACKENDS)
    assert get_args(PadMode) == vocabulary.PAD_MODES
    assert get_args(OpenCVDnnAlgorithm) == vocabulary.OPENCV_DNN_ALGORITHMS
    assert get_args(ConvertArchitecture) == vocabulary.CONVERT_ARCHITECTURES == tuple(ARCHITECTURES)
    assert tuple(RESIZE_METHODS) == vocabulary.RESIZE_METHODS


def test_tile_overlap_is_typed_per_entry():
    registry = load_registry(Settings.from_env({}))
    overlaps = {i: registry.get(i).tile_overlap for i in ("realesrgan-x4plus", "waifu2x-photo-x2", "realcugan-se-x2")}
    assert overlaps == {"realesrgan-x4plus": 10, "waifu2x-photo-x2": 8, "realcugan-se-x2": 16}
    lanczos = registry.get("lanczos-x4")
    assert lanczos.tile_overlap == 16 and not hasattr(lanczos.options, "tile_overlap")  # never tiled
    assert not hasattr(registry.get("waifu2x-photo-x2").options, "get")  # typed attributes only, no dict reads
