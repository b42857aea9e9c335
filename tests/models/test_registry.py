from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studio.core.config import Settings
from studio.core.errors import ParameterError, RegistryError, UnknownModelError
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
