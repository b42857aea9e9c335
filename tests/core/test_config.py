"""Settings.from_env: every variable of the README's Environment table is read, and bad values are
one-line usage errors."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from studio.core.config import (
    BUILTIN_REGISTRY,
    Settings,
    prepare_gradio_environment,
    use_persistent_storage,
    use_temp_folder,
)
from studio.core.env_values import PREFETCH_DEFAULTS
from studio.core.errors import UsageError
from studio.core.ratelimit import Rate
from tests.paths import REPO_ROOT

HOME = Path.home()

# variable -> (value to set, {Settings field: expected value})
READ = {
    "STUDIO_REGISTRY": (
        "/tmp/user-registry.yaml",
        {"registry_files": (BUILTIN_REGISTRY, Path("/tmp/user-registry.yaml"))},
    ),
    "STUDIO_WEIGHTS_DIR": ("/tmp/w", {"weights_dir": Path("/tmp/w")}),
    "STUDIO_WEIGHTS_MIRROR": ("/a,https://mirror.example/w/", {"weights_mirror": "/a,https://mirror.example/w/"}),
    "STUDIO_OFFLINE": ("1", {"offline": True, "hub_offline": True}),
    "STUDIO_REQUIRE_PINNED": ("yes", {"require_pinned": True}),
    "STUDIO_CACHE_MB": ("512", {"cache_mb": 512}),
    "STUDIO_MAX_PIXELS": ("1000000", {"max_pixels": 1_000_000}),
    "STUDIO_THREADS": ("3", {"threads": 3}),
    "STUDIO_TILE": ("256", {"tile": 256}),
    "STUDIO_TILE_MB": ("128", {"tile_budget_mb": 128}),
    "STUDIO_DATA_DIR": ("/tmp/d", {"data_dir": Path("/tmp/d")}),
    "STUDIO_MACHINE_CLASS": ("cpu-bf16", {"machine_class": "cpu-bf16"}),
    "STUDIO_AUTOTUNE": ("off", {"autotune": False}),
    "STUDIO_MIN_FIDELITY_DB": ("40", {"min_fidelity_db": 40.0}),
    "STUDIO_TUNE_AT_START": ("1", {"tune_at_start": True}),
    "STUDIO_RUN_BUDGET_S": ("45.5", {"run_budget_s": 45.5}),
    "STUDIO_RUN_TIMEOUT_S": ("90", {"run_timeout_s": 90.0}),
    "STUDIO_MAX_FRAMES": ("60", {"max_frames": 60}),
    "STUDIO_MAX_VIDEO_SIDE": ("1280", {"max_video_side": 1280}),
    "STUDIO_MAX_VIDEO_SECONDS": ("10.5", {"max_video_seconds": 10.5}),
    "STUDIO_MAX_MEMORY_MB": ("2048", {"max_memory_mb": 2048}),
    "STUDIO_RAY_ADDRESS": (" 10.0.0.5:6379 ", {"ray_address": "10.0.0.5:6379"}),
    "STUDIO_RAY_CPUS": ("4", {"ray_cpus": 4}),
    "STUDIO_LOG_FORMAT": ("JSON", {"log_format": "json"}),
    "STUDIO_ALLOW_DOWNLOADS": ("1", {"allow_downloads": True}),
    "STUDIO_MIN_FREE_MB": ("0", {"min_free_mb": 0}),
    "STUDIO_CORS_ORIGINS": (
        "https://studio.example.org, http://localhost:9000/",
        {"cors_origins": ("https://studio.example.org", "http://localhost:9000")},
    ),
    "STUDIO_MCP_SERVER": ("on", {"mcp_server": True}),
    "STUDIO_FETCH_TIMEOUT_S": ("2.5", {"fetch_timeout_s": 2.5}),
    "STUDIO_FETCH_MAX_S": ("600", {"fetch_max_s": 600.0}),
    "STUDIO_AUTH": ("alice:pw,bob:pw2", {"login_users": ("alice", "bob")}),
    "STUDIO_RATE_RUNS": ("3", {"rate_runs": Rate(3, 3)}),
    "STUDIO_RATE_VOTES": (" 10, 50 ", {"rate_votes": Rate(10, 50)}),
    "STUDIO_TRUSTED_PROXIES": ("127.0.0.1, 10.0.0.0/8", {"trusted_proxies": ("127.0.0.1", "10.0.0.0/8")}),
    "STUDIO_DB_URL": (
        "postgresql://u:p@127.0.0.1:5432/votes",
        {"db_url": "postgresql+psycopg://u:p@127.0.0.1:5432/votes"},
    ),
    "HF_HOME": ("/tmp/hf", {"hf_cache": Path("/tmp/hf/hub")}),
    "HF_HUB_CACHE": ("/tmp/hub-cache", {"hf_cache": Path("/tmp/hub-cache")}),
    "HF_HUB_OFFLINE": ("1", {"hub_offline": True, "offline": False}),
    "HF_ENDPOINT": ("http://127.0.0.1:9/", {"hf_endpoint": "http://127.0.0.1:9"}),
    "GRADIO_SERVER_PORT": ("7999", {"server_port": 7999}),
    "PORT": ("8080", {"server_port": 8080}),
    "SPACE_ID": ("user/space", {"on_space": True, "server_name": "0.0.0.0"}),
    "STUDIO_PERSISTENT_DIR": (
        "/tmp",  # any writable folder: tests/core/test_config.py's persistent storage tests use their own
        {
            "persistent_dir": Path("/tmp"),
            "data_persistent": True,
            "data_dir": Path("/tmp/enhance-studio/data"),
            "weights_dir": Path("/tmp/enhance-studio/weights"),
            "hf_cache": Path("/tmp/.huggingface/hub"),
        },
    ),
    "STUDIO_PREFETCH": (" lanczos-x4 , Defaults,lanczos-x4", {"prefetch": ("lanczos-x4", PREFETCH_DEFAULTS)}),
    "STUDIO_DEMO_CACHE": ("0", {"demo_cache": False}),
    "GRADIO_SERVER_NAME": ("0.0.0.0", {"server_name": "0.0.0.0"}),
    "XDG_CACHE_HOME": (
        "/tmp/xdg",
        {
            "weights_dir": Path("/tmp/xdg/enhance-studio/weights"),
            "data_dir": Path("/tmp/xdg/enhance-studio/data"),
            "hf_cache": Path("/tmp/xdg/huggingface/hub"),
        },
    ),
}
# read by Settings, but only together with others, so tested where those are set
READ_WITH_OTHERS = {
    "STUDIO_HF_LOGIN",  # needs SYSTEM, SPACE_ID and the OAuth variables (tests/service/test_hf_login.py)
}
NOT_SETTINGS = {
    "GRADIO_ANALYTICS_ENABLED",  # read by Gradio itself; prepare_gradio_environment sets its default
    "SPACES_ZERO_GPU",  # set by Hugging Face on ZeroGPU hardware and read by the `spaces` package itself
    "GRADIO_TEMP_DIR",  # read by Gradio; use_temp_folder sets its default (the server's own folder)
    "TMPDIR",  # read by Python's tempfile (the server's folder's base); use_temp_folder points it there
    "CUDA_VISIBLE_DEVICES",  # read by CUDA itself (PyTorch): the GPUs a replica sees
}


@pytest.mark.parametrize("variable", sorted(READ))
def test_every_environment_variable_is_read(variable):
    value, expected = READ[variable]
    default = Settings.from_env({})
    settings = Settings.from_env({variable: value})
    for field, wanted in expected.items():
        assert getattr(settings, field) == wanted, field
    assert any(getattr(default, field) != wanted for field, wanted in expected.items()), "indistinguishable from unset"


def test_defaults_are_the_documented_ones():
    settings = Settings.from_env({})
    assert settings.registry_files == (BUILTIN_REGISTRY,)
    assert settings.weights_dir == HOME / ".cache" / "enhance-studio" / "weights"
    assert settings.data_dir == HOME / ".cache" / "enhance-studio" / "data"
    assert settings.hf_cache == HOME / ".cache" / "huggingface" / "hub"
    assert settings.weights_mirror is None and not settings.offline and not settings.hub_offline
    assert not settings.require_pinned and settings.machine_class == "auto"
    assert settings.run_budget_s is None and settings.run_timeout_s == 300.0
    assert (settings.max_frames, settings.max_video_side, settings.max_video_seconds) == (300, 1920, 120.0)
    assert (settings.cache_mb, settings.max_pixels, settings.tile, settings.tile_budget_mb) == (
        4096,
        16_000_000,
        0,
        1024,
    )
    assert settings.threads == max(1, os.cpu_count() or 1)
    assert (settings.hf_endpoint, settings.server_name, settings.server_port) == (
        "https://huggingface.co",
        "127.0.0.1",
        7860,
    )
    assert not settings.on_space
    assert (settings.log_format, settings.allow_downloads, settings.min_free_mb) == ("plain", False, 1024)
    assert settings.cors_origins == () and not settings.mcp_server
    assert (settings.fetch_timeout_s, settings.fetch_max_s) == (60.0, 1800.0)


def test_port_wins_over_gradio_server_port():
    assert Settings.from_env({"PORT": "8080", "GRADIO_SERVER_PORT": "7999"}).server_port == 8080


def test_a_registry_argument_is_merged_after_the_environments():
    settings = Settings.from_env({"STUDIO_REGISTRY": "/tmp/a.yaml"}, registry="/tmp/b.yaml")
    assert settings.registry_files == (BUILTIN_REGISTRY, Path("/tmp/a.yaml"), Path("/tmp/b.yaml"))


def test_gradio_analytics_default_is_off_unless_the_user_set_it(monkeypatch):
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    prepare_gradio_environment()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")
    prepare_gradio_environment()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "True"


def test_the_web_servers_temp_files_go_to_its_own_folder_until_undone(monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setenv("TMPDIR", "/tmp")
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    before = tempfile.tempdir
    undo = use_temp_folder(tmp_path)
    try:
        assert tempfile.gettempdir() == str(tmp_path) and os.environ["TMPDIR"] == str(tmp_path)
        assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio")
    finally:
        undo()
    assert tempfile.tempdir == before and os.environ["TMPDIR"] == "/tmp" and "GRADIO_TEMP_DIR" not in os.environ
    monkeypatch.setenv("GRADIO_TEMP_DIR", "/srv/gradio")  # an operator's own folder is kept
    undo = use_temp_folder(tmp_path)
    undo()
    assert os.environ["GRADIO_TEMP_DIR"] == "/srv/gradio"


def test_the_readme_environment_table_lists_only_variables_tested_here():
    """A variable added to the README's table without being read by Settings fails here."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Environment", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for row in section.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])
    }
    assert documented, "no Environment table in README.md"
    known = set(READ) | READ_WITH_OTHERS | NOT_SETTINGS
    assert documented <= known, documented - known


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STUDIO_CACHE_MB", "lots"),
        ("STUDIO_CACHE_MB", "0"),
        ("STUDIO_MAX_PIXELS", "16M"),
        ("STUDIO_THREADS", "0"),
        ("STUDIO_THREADS", "two"),
        ("STUDIO_TILE", "-1"),
        ("STUDIO_TILE_MB", "32"),
        ("STUDIO_MACHINE_CLASS", "gpu"),
        ("STUDIO_MACHINE_CLASS", "cpu_bf16"),
        ("STUDIO_RUN_BUDGET_S", "a minute"),
        ("STUDIO_RUN_BUDGET_S", "0"),
        ("STUDIO_RUN_BUDGET_S", "-5"),
        ("STUDIO_RUN_BUDGET_S", "nan"),
        ("STUDIO_RUN_BUDGET_S", "inf"),
        ("STUDIO_RUN_TIMEOUT_S", "five minutes"),
        ("STUDIO_RUN_TIMEOUT_S", "-1"),
        ("STUDIO_RUN_TIMEOUT_S", "inf"),
        ("STUDIO_RUN_TIMEOUT_S", "nan"),
        ("STUDIO_MAX_FRAMES", "0"),
        ("STUDIO_MAX_FRAMES", "many"),
        ("STUDIO_MAX_VIDEO_SIDE", "8"),
        ("STUDIO_MAX_VIDEO_SECONDS", "0"),
        ("STUDIO_MAX_VIDEO_SECONDS", "inf"),
        ("STUDIO_OFFLINE", "ture"),
        ("STUDIO_REQUIRE_PINNED", "always"),
        ("HF_HUB_OFFLINE", "offline"),
        ("GRADIO_SERVER_PORT", "http"),
        ("PORT", "-5"),
        ("STUDIO_LOG_FORMAT", "yaml"),
        ("STUDIO_ALLOW_DOWNLOADS", "sometimes"),
        ("STUDIO_MIN_FREE_MB", "-1"),
        ("STUDIO_CORS_ORIGINS", "studio.example.org"),
        ("STUDIO_CORS_ORIGINS", "https://studio.example.org/app"),
        ("STUDIO_MCP_SERVER", "maybe"),
        ("STUDIO_FETCH_TIMEOUT_S", "a minute"),
        ("STUDIO_FETCH_TIMEOUT_S", "0"),
        ("STUDIO_FETCH_MAX_S", "-1"),
        ("STUDIO_FETCH_MAX_S", "inf"),
        ("STUDIO_RATE_RUNS", "fast"),
        ("STUDIO_RATE_RUNS", "-1"),
        ("STUDIO_RATE_RUNS", "5.5"),
        ("STUDIO_RATE_RUNS", "1,2,3"),
        ("STUDIO_RATE_VOTES", "30/120"),
        ("STUDIO_TRUSTED_PROXIES", "proxy.internal"),
        ("STUDIO_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("STUDIO_TRUSTED_PROXIES", "*,10.0.0.1"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(variable, value):
    with pytest.raises(UsageError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}=") and value.strip().lower() in message.lower()
    assert "\n" not in message


@pytest.mark.parametrize("word", ["1", "true", "YES", "on", " On "])
def test_flags_accept_the_usual_words(word):
    assert Settings.from_env({"STUDIO_OFFLINE": word}).offline is True


@pytest.mark.parametrize("word", ["", "0", "false", "No", "off"])
def test_flags_are_off_for_the_usual_words(word):
    assert Settings.from_env({"STUDIO_OFFLINE": word}).offline is False


def test_access_defaults_are_the_documented_ones():
    """No login; votes limited as the ratings store always did; runs limited on a Space only; no proxy believed."""
    local, space = Settings.from_env({}), Settings.from_env({"SPACE_ID": "user/space"})
    assert local.accounts is None and local.login_users == () and local.trusted_proxies == ()
    assert local.rate_runs == Rate(0, 0) and not local.rate_runs
    assert local.rate_votes == space.rate_votes == Rate(30, 120)
    assert space.rate_runs == Rate(5, 20)
    assert Settings.from_env({"SPACE_ID": "user/space", "STUDIO_RATE_RUNS": "0"}).rate_runs == Rate(0, 0)
    assert Settings.from_env({"STUDIO_TRUSTED_PROXIES": " * "}).trusted_proxies == ("*",)


def test_auth_passwords_never_show_in_settings_or_errors():
    secret = "s3cr3t:with,comma"
    settings = Settings.from_env({"STUDIO_AUTH": "alice:s3cr3t:with\\,comma"})
    assert settings.accounts.verify("alice", secret)
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)
    assert "accounts=Accounts(1 user(s))" in repr(settings)
    with pytest.raises(UsageError) as caught:
        Settings.from_env({"STUDIO_AUTH": "alice:s3cr3t,alice-again-s3cr3t"})
    assert str(caught.value).startswith("STUDIO_AUTH: ") and "s3cr3t" not in str(caught.value)
    assert Settings.from_env({"STUDIO_AUTH": "  "}).accounts is None


@pytest.mark.parametrize("value", ["0", "0.0", " 0 "])
def test_a_run_timeout_of_0_turns_the_limit_off(value):
    assert Settings.from_env({"STUDIO_RUN_TIMEOUT_S": value}).run_timeout_s is None


# ---- persistent storage and the start-up prefetch (Hugging Face Spaces) ------------------------------------


def space_env(storage: Path, **extra: str) -> dict[str, str]:
    """A Space's environment whose persistent storage is `storage` (a test's own folder, standing for /data)."""
    return {"SPACE_ID": "someone/enhance-studio", "STUDIO_PERSISTENT_DIR": str(storage), **extra}


def test_on_a_space_with_persistent_storage_data_weights_database_and_hub_cache_live_there(tmp_path):
    settings = Settings.from_env(space_env(tmp_path))
    assert settings.persistent_dir == tmp_path and settings.data_persistent is True
    assert settings.data_dir == tmp_path / "enhance-studio" / "data"  # the SQLite ratings database is in it
    assert settings.weights_dir == tmp_path / "enhance-studio" / "weights"
    assert settings.hf_cache == tmp_path / ".huggingface" / "hub"
    assert settings.db_url is None


def test_explicit_folders_win_over_the_persistent_storage(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    storage = tmp_path / "storage"
    storage.mkdir()
    explicit = {
        "STUDIO_DATA_DIR": str(elsewhere / "data"),
        "STUDIO_WEIGHTS_DIR": str(elsewhere / "weights"),
        "HF_HOME": str(elsewhere / "hf"),
        "STUDIO_DB_URL": "postgresql://u:p@127.0.0.1:5432/votes",
    }
    settings = Settings.from_env(space_env(storage, **explicit))
    assert (settings.data_dir, settings.weights_dir, settings.hf_cache) == (
        elsewhere / "data",
        elsewhere / "weights",
        elsewhere / "hf" / "hub",
    )
    assert settings.db_url == "postgresql+psycopg://u:p@127.0.0.1:5432/votes"
    assert settings.persistent_dir == storage and settings.data_persistent is False  # the data dir is not on it
    assert settings.persistent_unusable is None
    missing = Settings.from_env(space_env(tmp_path / "typo"))
    assert missing.persistent_dir is None and missing.persistent_unusable == tmp_path / "typo"  # app.py warns
    inside = Settings.from_env(space_env(storage, STUDIO_DATA_DIR=str(storage / "mine")))
    assert inside.data_dir == storage / "mine" and inside.data_persistent is True


def test_a_space_without_persistent_storage_says_its_data_is_not_persistent(tmp_path):
    for missing in (tmp_path / "absent", tmp_path / "a-file"):
        if missing.name == "a-file":
            missing.write_text("not a folder")
        settings = Settings.from_env(space_env(missing, XDG_CACHE_HOME=str(tmp_path / "cache")))
        assert settings.persistent_dir is None and settings.data_persistent is False
        assert settings.data_dir == tmp_path / "cache" / "enhance-studio" / "data"


def test_off_a_space_nothing_is_said_about_persistence_and_the_defaults_stay():
    settings = Settings.from_env({})
    assert settings.persistent_dir is None and settings.data_persistent is None and settings.prefetch == ()


@pytest.mark.parametrize(
    ("value", "space", "expected"),
    [
        (None, True, (PREFETCH_DEFAULTS,)),  # a Space loads its default models at start
        (None, False, ()),  # elsewhere nothing, unless asked
        ("", True, (PREFETCH_DEFAULTS,)),
        ("none", True, ()),
        (" OFF ", True, ()),
        ("0", False, ()),
        ("default", False, (PREFETCH_DEFAULTS,)),
        ("realesrgan-x4plus,defaults", False, ("realesrgan-x4plus", PREFETCH_DEFAULTS)),
    ],
)
def test_the_prefetch_list(value, space, expected):
    env = {"SPACE_ID": "someone/enhance-studio", "STUDIO_PERSISTENT_DIR": "/nonexistent"} if space else {}
    if value is not None:
        env["STUDIO_PREFETCH"] = value
    assert Settings.from_env(env).prefetch == expected


def test_hf_home_goes_to_persistent_storage_before_huggingface_hub_reads_it(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/enhance-studio")
    monkeypatch.setenv("STUDIO_PERSISTENT_DIR", str(tmp_path))
    undo = use_persistent_storage()
    try:
        assert os.environ["HF_HOME"] == str(tmp_path / ".huggingface")
        assert Settings.from_env().hf_cache == tmp_path / ".huggingface" / "hub"  # the settings agree
    finally:
        undo()
    assert "HF_HOME" not in os.environ
    monkeypatch.setenv("HF_HOME", "/srv/hf")  # the operator's own wins
    use_persistent_storage()()
    assert os.environ["HF_HOME"] == "/srv/hf"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("STUDIO_PERSISTENT_DIR", str(tmp_path / "absent"))  # no persistent storage: left alone
    use_persistent_storage()
    assert "HF_HOME" not in os.environ
