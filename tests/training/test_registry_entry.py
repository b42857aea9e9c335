"""A trained model is usable at once: its entry validates, --register keeps the rest of the file, and the data
directory's trained.yaml joins the catalogue by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studio.core.config import Settings
from studio.core.errors import RegistryError, UsageError
from studio.models.registry import load_registry, parse_registry_file
from studio.models.schema import SourceSpec
from studio.training.export import register, registry_entry
from studio.training.loop import TrainConfig
from studio.training.run import register_target


def _entry(model_id="dmcnn-deblur", path=Path("/tmp/w.safetensors")):
    return registry_entry(TrainConfig("dmcnn", "deblur", steps=5), model_id, path, "a" * 64, 5, "builtin")


def test_register_adds_and_replaces_by_id_keeping_other_entries(tmp_path):
    target = tmp_path / "mine.yaml"
    other = {
        "id": "my-net",
        "name": "n",
        "task": "denoise",
        "scale": 1,
        "backend": "classical",
        "source": {"builtin": "bilateral"},
        "license": "MIT",
        "description": "d",
        "link": "https://e.org",
    }
    target.write_text(yaml.safe_dump({"version": 1, "models": [other]}))
    register(_entry(), target)
    register(_entry(path=Path("/tmp/v2.safetensors")), target)
    models = yaml.safe_load(target.read_text())["models"]
    assert [m["id"] for m in models] == ["my-net", "dmcnn-deblur"]
    assert models[1]["source"]["file"] == "/tmp/v2.safetensors"
    specs = {spec.id: spec for spec in parse_registry_file(target)}
    assert specs["dmcnn-deblur"].source.sha256 == "a" * 64 and specs["dmcnn-deblur"].options.tileable is False


def test_register_refuses_a_file_that_is_not_a_registry(tmp_path):
    target = tmp_path / "broken.yaml"
    target.write_text("models: [unclosed")
    with pytest.raises(UsageError, match="not valid YAML"):
        register(_entry(), target)
    assert target.read_text() == "models: [unclosed"  # left as it was


def test_the_data_directory_trained_registry_joins_the_catalogue(env, tmp_path):
    settings = Settings.from_env(env)
    assert register_target(settings) == Path(env["STUDIO_DATA_DIR"]) / "trained.yaml"
    register(_entry("mine-deblur", tmp_path / "w.safetensors"), register_target(settings))
    again = Settings.from_env(env)
    assert again.registry_files[-1] == register_target(settings)
    assert "mine-deblur" in load_registry(again)
    named = Settings.from_env({**env, "STUDIO_REGISTRY": str(tmp_path / "named.yaml")})
    assert register_target(named) == tmp_path / "named.yaml"


def test_sha256_beside_a_source_is_for_file_sources_only():
    assert SourceSpec.model_validate({"file": "/x.safetensors", "sha256": "b" * 64}).sha256 == "b" * 64
    with pytest.raises(ValueError, match="applies to file"):
        SourceSpec.model_validate({"builtin": "resize", "sha256": "b" * 64})


def test_a_bad_entry_in_trained_yaml_names_the_file(env):
    folder = Path(env["STUDIO_DATA_DIR"])
    folder.mkdir(parents=True)
    (folder / "trained.yaml").write_text(yaml.safe_dump({"models": [{"id": "x"}]}))
    with pytest.raises(RegistryError, match="trained.yaml"):
        load_registry(Settings.from_env(env))


def test_a_shipped_model_may_be_retrained_by_name_but_never_registered_over(env):
    """The cards' own reproduce commands train under the shipped id; --register would replace the shipped
    model for every later run, so that is refused (a user's earlier trained model may still be replaced)."""
    from studio.training.request import TrainRequest, check

    registry = load_registry(Settings.from_env(env))
    config = TrainConfig("dmcnn", "deblur")
    check(TrainRequest(config, name="studio-dmcnn-deblur"), registry)
    with pytest.raises(UsageError, match="^--name 'studio-dmcnn-deblur' is a model the studio ships: --register"):
        check(TrainRequest(config, name="studio-dmcnn-deblur", register=True), registry)
    with pytest.raises(UsageError, match="already a catalogue model"):
        check(TrainRequest(config, name="wiener-gaussian"), registry)
    mine = registry_entry(config, "my-dmcnn", Path("/tmp/elsewhere/my.safetensors"), "a" * 64, 5, "/photos")
    assert mine["license"] == "as the training images" and mine["options"]["architecture"] == "dmcnn"


@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        ({"width": 8}, "^--hyper: espcn has no 'width' .it has features, depth, relu.$"),
        ({"features": 300}, "^--hyper features must be between 1 and 256, got 300$"),
        ({"features": 0}, "^--hyper features must be between 1 and 256, got 0$"),
        ({"depth": -1}, "^--hyper depth must be between 0 and 256, got -1$"),
        ({"relu": 2}, "^--hyper relu is a switch: 0 or 1, got 2$"),
        ({"features": 1}, "^--hyper features=1: espcn cannot run at these sizes .ESPCN needs at least 2 features"),
        ({"features": 8}, "^--downscale must be one of matlab, mixed, got 'area'$"),
        (
            {"features": 256, "depth": 160},
            "^--hyper depth=160 features=256 makes [0-9,]+ parameters, over the 10,000,000 a CPU run",
        ),
    ],
)
def test_bad_network_sizes_are_one_line_usage_errors(hyper, message):
    from studio.models.registry import Registry
    from studio.training.request import TrainRequest, check

    downscale = "area" if "--downscale" in message else "matlab"
    with pytest.raises(UsageError, match=message):
        check(TrainRequest(TrainConfig("espcn", "sr", scale=4, hyper=hyper, downscale=downscale)), Registry([]))
    if downscale == "matlab":
        return
    with pytest.raises(UsageError, match="^--downscale applies to super-resolution only$"):
        check(TrainRequest(TrainConfig("dncnn", "denoise", downscale="mixed")), Registry([]))


def test_the_reproduce_command_names_the_network_sizes(tmp_path):
    from studio.training.request import TrainRequest
    from studio.training.run import command_line

    config = TrainConfig("espcn", "sr", scale=4, hyper={"relu": 1, "depth": 6}, downscale="mixed")
    command = command_line(TrainRequest(config), tmp_path)
    assert "--batch 16 --hyper depth=6 --hyper relu=1 --downscale mixed --seed 0" in command
    assert "--downscale" not in command_line(TrainRequest(TrainConfig("espcn", "sr", scale=4)), tmp_path)
