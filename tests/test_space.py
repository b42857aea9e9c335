"""What a Hugging Face Space builds from: README.md's front matter, requirements.txt and the Python version agree
with each other and with what the tests run on (the installed Gradio, this interpreter), and a test process never
takes a Space's variables from the shell that started it."""

from __future__ import annotations

import re
import sys
from importlib.metadata import version

import gradio
import pytest
import yaml

from tests.environment import clean_env
from tests.paths import REPO_ROOT

PIN = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[A-Za-z0-9_,.-]+\])?==(?P<version>[A-Za-z0-9.+!-]+)"
)


def front_matter() -> dict:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README.md must open with the Space's YAML front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def requirements() -> dict[str, str]:
    """Package name (normalised) -> pinned version; every line that is not a comment must be `name==version`."""
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        assert match, f"requirements.txt: {line!r} is not pinned as name==version"
        pins[re.sub(r"[-_.]+", "-", match["name"]).lower()] = match["version"]
    return pins


def test_the_front_matter_is_a_gradio_space_on_this_gradio_and_python():
    meta = front_matter()
    assert meta["sdk"] == "gradio"
    assert meta["sdk_version"] == gradio.__version__ == requirements()["gradio"]
    # quoted in YAML: an unquoted 3.10 would read as the number 3.1
    assert isinstance(meta["python_version"], str)
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (REPO_ROOT / meta["app_file"]).is_file()
    assert meta["title"] and meta["license"]
    # the Space gets OAUTH_CLIENT_ID and OPENID_PROVIDER_URL, so STUDIO_HF_LOGIN can be turned on in its settings,
    # and gradio[oauth]'s libraries are pinned (tests/service/test_hf_login.py signs in through them)
    assert meta["hf_oauth"] is True
    assert {"authlib", "itsdangerous"} <= set(requirements())


def test_requirements_pin_every_package_as_installed_with_spaces_among_them():
    pins = requirements()
    assert "spaces" in pins  # ZeroGPU's decorator (studio/ui/zerogpu.py): a plain pass-through elsewhere
    assert pins["gradio"] == front_matter()["sdk_version"]
    drifted = {name: (pinned, version(name)) for name, pinned in pins.items() if version(name) != pinned}
    assert not drifted, f"installed versions differ from requirements.txt: {drifted}"


def test_the_docker_image_runs_the_spaces_python():
    dockerfile = REPO_ROOT / "deploy" / "Dockerfile"
    if not dockerfile.is_file():
        pytest.skip("no deploy/Dockerfile")
    bases = re.findall(r"^FROM\s+(?:--\S+\s+)*python:(\d+\.\d+)", dockerfile.read_text(encoding="utf-8"), re.M)
    assert bases, "deploy/Dockerfile has no python:X.Y base image"
    assert set(bases) == {front_matter()["python_version"]}


def test_a_test_process_never_inherits_a_spaces_variables(monkeypatch):
    for name, value in {
        "SPACE_ID": "someone/studio",
        "SPACES_ZERO_GPU": "true",
        "STUDIO_PERSISTENT_DIR": "/data",
        "STUDIO_PREFETCH": "defaults",
    }.items():
        monkeypatch.setenv(name, value)
    env = clean_env()
    assert not {"SPACE_ID", "SPACES_ZERO_GPU", "STUDIO_PERSISTENT_DIR", "STUDIO_PREFETCH"} & set(env)
