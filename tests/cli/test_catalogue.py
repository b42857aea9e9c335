"""`studio models`, `fetch` and `lock` as a user runs them: real processes, a weights mirror, a fake Hub."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.config import BUILTIN_REGISTRY, Settings
from studio.core.vocabulary import BACKENDS
from studio.models.registry import load_registry, parse_registry_file
from tests.cli.helpers import ONLINE, hub_entry, stderr_lines, studio, write_registry
from tests.environment import clean_env
from tests.fakehub import COMMIT
from tests.paths import REPO_ROOT, SHARED_WEIGHTS

ESPCN = SHARED_WEIGHTS / "opencv-dnn-superres" / "ESPCN_x2.pb"
needs_shared = pytest.mark.skipif(not ESPCN.exists(), reason="../shared/weights is not beside this checkout")


def models_json(env: dict, *args: str) -> dict[str, dict]:
    result = studio(*args, "models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


# ---- models ----------------------------------------------------------------------------------
def test_models_lists_classical_ready_and_hub_not_downloaded(env):
    result = studio("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    classical = [r for r in rows if r["backend"] == "classical"]
    remote = [r for r in rows if r["source"].startswith(("hf:", "url:"))]
    assert len(classical) >= 12 and all(r["state"] == "ready" for r in classical)
    assert len(remote) >= 5 and all(r["state"] == "not downloaded" for r in remote)


def test_models_never_touches_the_network_online_or_offline(env, fake_hub, tmp_path):
    """`models` is the same and silent towards the Hub in both environments, while `fetch` shows they differ."""
    fake_hub.add("acme/sr-net", "net.pth", b"weights")
    user = write_registry(tmp_path / "user.yaml", hub_entry())
    offline = {**env, "HF_ENDPOINT": fake_hub.url}
    online = {**offline, **ONLINE}
    listed = {name: studio("--registry", str(user), "models", env=e) for name, e in (("off", offline), ("on", online))}
    for result in listed.values():
        assert result.returncode == 0, result.stderr
        assert "not downloaded" in result.stdout and "(unpinned)" in result.stdout
    assert listed["off"].stdout == listed["on"].stdout
    assert fake_hub.requests == []

    refused = studio("--registry", str(user), "fetch", "acme-net", env=offline)
    assert refused.returncode == 1 and "STUDIO_OFFLINE=1 is set" in refused.stderr
    assert fake_hub.requests == []  # offline really is offline
    fetched = studio("--registry", str(user), "fetch", "acme-net", env=online)
    assert fetched.returncode == 0, fetched.stderr
    assert any(r.startswith("GET /acme/sr-net/resolve/") for r in fake_hub.requests)  # online really is online
    seen = len(fake_hub.requests)
    assert models_json(online, "--registry", str(user))["acme-net"]["state"] == "cached"
    assert len(fake_hub.requests) == seen


def test_models_task_filter(env):
    rows = json.loads(studio("models", "--json", "--task", "deblur", env=env).stdout)
    assert rows and {r["task"] for r in rows} == {"deblur"}


def test_models_loads_no_neural_runtime(env):
    """Listing stays fast: no torch, ncnn, onnxruntime, OpenCV or Gradio import for `studio models`."""
    script = (
        "import sys, contextlib, io; from studio.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): code = main(['models'])\n"
        "heavy = ('torch', 'spandrel', 'ncnn', 'onnxruntime', 'cv2', 'gradio')\n"
        "print(code, [m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=clean_env(env), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "0 []", result.stderr


# ---- fetch -----------------------------------------------------------------------------------
def test_fetch_reports_builtin_and_offline(env):
    result = studio("fetch", "clahe", "scunet-color-real", env=env)
    assert result.returncode == 1
    assert "clahe: built in" in result.stdout
    assert "STUDIO_OFFLINE=1 is set" in result.stderr


@needs_shared
def test_fetch_from_the_mirror_verifies_and_caches(env):
    mirrored = {**env, "STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS)}
    assert models_json(mirrored)["espcn-x2"]["state"] == "not downloaded"
    result = studio("fetch", "espcn-x2", "clahe", env=mirrored)
    assert result.returncode == 0, result.stderr
    fetched, builtin = result.stdout.splitlines()
    assert builtin == "clahe: built in, nothing to fetch"
    model_id, _, path = fetched.partition(": ")
    path = Path(path)
    assert model_id == "espcn-x2" and path.is_relative_to(env["STUDIO_WEIGHTS_DIR"])
    assert path.read_bytes() == ESPCN.read_bytes()
    pinned = load_registry(Settings.from_env({})).get("espcn-x2").source.url.sha256
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pinned
    assert models_json(env)["espcn-x2"]["state"] == "cached"  # no mirror needed any more
    again = studio("fetch", "espcn-x2", env=env)
    assert again.returncode == 0 and again.stdout == result.stdout.splitlines()[0] + "\n"


def test_fetch_a_backend_fetches_each_of_its_models(env):
    classical = [r["id"] for r in models_json(env).values() if r["backend"] == "classical"]
    result = studio("fetch", "--backend", "classical", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{m}: built in, nothing to fetch" for m in classical]


@needs_shared
def test_fetch_reports_each_failure_and_still_fetches_the_rest(env):
    mirrored = {**env, "STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS)}
    result = studio("fetch", "--backend", "opencv-dnn", env=mirrored)
    assert result.returncode == 1
    fetched = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert "espcn-x2" in fetched and "lapsrn-x8" in fetched and len(fetched) == 12
    errors = stderr_lines(result)
    assert len(errors) == 3 and all(e.startswith("error: EDSR_x") and "STUDIO_OFFLINE=1" in e for e in errors)
    assert all(Path(line.split(": ")[1]).exists() for line in result.stdout.splitlines())


@needs_shared
def test_fetch_refuses_a_mirror_file_with_the_wrong_sha256(env, tmp_path):
    entry = {
        **hub_entry("bad-espcn"),
        "backend": "opencv-dnn",
        "options": {"algorithm": "espcn"},
        "source": {"url": {"url": "https://example.org/ESPCN_x2.pb", "sha256": "1" * 64}},
    }
    user = write_registry(tmp_path / "user.yaml", entry)
    result = studio(
        "--registry", str(user), "fetch", "bad-espcn", env={**env, "STUDIO_WEIGHTS_MIRROR": str(SHARED_WEIGHTS)}
    )
    assert result.returncode == 1 and result.stdout == ""
    (line,) = stderr_lines(result)
    assert line.startswith("error: ") and "does not match the pinned" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: name models to fetch, or --backend BACKEND"),
        (["--backend", "nope"], "invalid choice: 'nope'"),
    ],
)
def test_fetch_usage_errors_exit_2(env, args, message):
    result = studio("fetch", *args, env=env)
    assert result.returncode == 2 and message in stderr_lines(result)[-1]
    if args:  # argparse lists the valid backends, from the vocabulary
        assert all(f"'{backend}'" in result.stderr for backend in BACKENDS)


# ---- lock ------------------------------------------------------------------------------------
def test_lock_pins_the_user_registry_through_the_hub(env, fake_hub, tmp_path):
    digest = fake_hub.add("acme/sr-net", "net.pth", b"lock me")
    user = write_registry(tmp_path / "user.yaml", hub_entry())
    builtin = BUILTIN_REGISTRY.read_bytes()
    online = {**env, **ONLINE, "HF_ENDPOINT": fake_hub.url}
    result = studio("--registry", str(user), "lock", env=online)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"acme-net: {COMMIT} sha256 {digest}\n1 entry pinned in {user}\n"
    (spec,) = parse_registry_file(user)
    assert spec.source.hf.pinned and spec.source.hf.revision == COMMIT and spec.source.hf.sha256 == digest
    assert "GET /api/models/acme/sr-net/revision/main" in fake_hub.requests
    assert BUILTIN_REGISTRY.read_bytes() == builtin
    again = studio("--registry", str(user), "lock", env=online)
    assert again.returncode == 0 and again.stdout == f"0 entries pinned in {user}\n"


def test_lock_file_rewrites_only_that_file(env, fake_hub, tmp_path):
    digest = fake_hub.add("acme/other", "net.pth", b"other")
    user = write_registry(tmp_path / "user.yaml", hub_entry())
    other = write_registry(tmp_path / "other.yaml", hub_entry("other-net", "acme/other"))
    before = user.read_bytes()
    online = {**env, **ONLINE, "HF_ENDPOINT": fake_hub.url}
    result = studio("--registry", str(user), "lock", "--file", str(other), env=online)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"other-net: {COMMIT} sha256 {digest}\n1 entry pinned in {other}\n"
    assert user.read_bytes() == before
    assert parse_registry_file(other)[0].source.hf.sha256 == digest


def test_lock_of_a_missing_repository_is_one_line_and_changes_nothing(env, fake_hub, tmp_path):
    fake_hub.add("acme/sr-net", "net.pth", b"x")
    user = write_registry(tmp_path / "user.yaml", hub_entry("ghost", "acme/nothing"))
    before = user.read_bytes()
    result = studio("--registry", str(user), "lock", env={**env, **ONLINE, "HF_ENDPOINT": fake_hub.url})
    assert result.returncode == 1 and result.stdout == ""
    (line,) = stderr_lines(result)
    assert line.startswith("error: cannot resolve acme/nothing@main")
    assert user.read_bytes() == before
