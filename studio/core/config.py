"""The one place that reads environment variables and default paths.

Everything else receives a `Settings` object (or calls `Settings.from_env()`),
so tests can point the whole program elsewhere by setting variables.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.accounts import Accounts
from studio.core.env_values import (
    choice,
    db_url,
    decibels,
    flag,
    integer,
    limit_s,
    origins,
    prefetch,
    proxies,
    rate,
    seconds,
)
from studio.core.errors import UsageError
from studio.core.ratelimit import Rate
from studio.core.vocabulary import HF_LOGINS, LOG_FORMATS, MACHINE_CLASSES

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = PACKAGE_DIR.parent  # the clone (app.py, assets/); absent from an installed wheel
BUILTIN_REGISTRY = PACKAGE_DIR / "models" / "model_registry.yaml"  # package data; the clone links it at the root
TRAINED_REGISTRY = "trained.yaml"  # in the data dir: models `studio train --register` added (merged when present)

SPACE_STORAGE = Path("/data")  # where a Hugging Face Space mounts its persistent storage, when it has some


def _cache_home(env: dict[str, str]) -> Path:
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "enhance-studio"


def _hf_cache(env: dict[str, str]) -> Path:
    """The Hub cache huggingface_hub itself would use (HF_HUB_CACHE, else HF_HOME/hub)."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    return Path(home).expanduser() / "hub"


def _storage_asked(env: dict[str, str]) -> bool:
    """Whether persistent storage is expected: STUDIO_PERSISTENT_DIR is set, or this is a Space (SPACE_ID)."""
    return bool(env.get("STUDIO_PERSISTENT_DIR") or env.get("SPACE_ID"))


def hf_login(env: dict[str, str]) -> str:
    """STUDIO_HF_LOGIN, which needs a Space whose README asks for OAuth (`hf_oauth: true`): the Space then sets
    OAUTH_CLIENT_ID and OPENID_PROVIDER_URL, which Gradio's login routes use. Elsewhere Gradio would fake a user
    from the local Hub token: refused here rather than letting anyone rate as that user."""
    mode = choice(env, "STUDIO_HF_LOGIN", HF_LOGINS, "off")
    space = env.get("SYSTEM") == "spaces" and env.get("SPACE_ID")  # what Gradio takes for a Space
    if mode != "off" and not (space and env.get("OAUTH_CLIENT_ID") and env.get("OPENID_PROVIDER_URL")):
        raise UsageError(
            f"STUDIO_HF_LOGIN={mode} needs a Hugging Face Space with `hf_oauth: true` in its README "
            "(SYSTEM=spaces, SPACE_ID, OAUTH_CLIENT_ID and OPENID_PROVIDER_URL are not all set)"
        )
    return mode


def _persistent_dir(env: dict[str, str]) -> Path | None:
    """The persistent storage in use: STUDIO_PERSISTENT_DIR, else /data on a Space, when it is a writable folder;
    None otherwise (not asked for, or a Space whose persistent storage is off)."""
    if not _storage_asked(env):
        return None
    folder = Path(env.get("STUDIO_PERSISTENT_DIR") or SPACE_STORAGE).expanduser()
    return folder if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK) else None


def _persistent_hf_home(folder: Path) -> Path:
    return folder / ".huggingface"  # the folder Hugging Face's docs suggest for HF_HOME on persistent storage


def _inside(path: Path, folder: Path) -> bool:
    return path.expanduser().resolve().is_relative_to(folder.resolve())


def use_persistent_storage() -> Callable[[], None]:
    """With persistent storage (on a Space, or STUDIO_PERSISTENT_DIR), point HF_HOME into it unless it is set, so
    huggingface_hub keeps its cache (and token, and Xet files) across restarts. huggingface_hub reads HF_HOME when
    it is imported: call this first (app.py and the CLI's main do). Returns the undo."""
    folder = _persistent_dir(dict(os.environ))
    if folder is None or os.environ.get("HF_HOME"):
        return lambda: None
    os.environ["HF_HOME"] = str(_persistent_hf_home(folder))

    def undo() -> None:
        os.environ.pop("HF_HOME", None)

    return undo


def prepare_gradio_environment() -> None:
    """Turn Gradio's telemetry off unless the user set it: Gradio reads this when it is imported."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def use_temp_folder(folder: Path) -> Callable[[], None]:
    """Send this process's temporary files to `folder` (the web server's own: service/scratch.py): Python's
    tempfile, child processes (TMPDIR) and Gradio's uploads and cache (GRADIO_TEMP_DIR, unless it is set:
    that folder is then the operator's to clean). Call before Gradio is imported; returns the undo."""
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "GRADIO_TEMP_DIR")}
    saved_tempdir = tempfile.tempdir
    os.environ["TMPDIR"] = str(folder)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(folder / "gradio"))
    tempfile.tempdir = str(folder)

    def undo() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = saved_tempdir

    return undo


@dataclass(frozen=True)
class Settings:
    """Process-wide settings, read from the environment (see README, "Environment")."""

    registry_files: tuple[Path, ...] = (BUILTIN_REGISTRY,)
    weights_dir: Path = field(default_factory=lambda: _cache_home({}) / "weights")
    weights_mirror: str | None = None
    hub_offline: bool = False
    offline: bool = False
    hf_cache: Path = field(default_factory=lambda: Path.home() / ".cache" / "huggingface" / "hub")
    require_pinned: bool = False
    cache_mb: int = 4096
    max_pixels: int = 16_000_000
    threads: int = max(1, os.cpu_count() or 1)
    tile: int = 0  # 0 = automatic from tile_budget_mb
    tile_budget_mb: int = 1024
    max_memory_mb: int | None = None  # STUDIO_MAX_MEMORY_MB: a run estimated to need more is refused (None: no cap)
    data_dir: Path = field(default_factory=lambda: _cache_home({}) / "data")
    db_url: str | None = None  # STUDIO_DB_URL (PostgreSQL); None: SQLite under data_dir
    hf_endpoint: str = "https://huggingface.co"
    machine_class: str = "auto"  # auto (detect) or one of vocabulary.MACHINE_CLASSES, forced
    autotune: bool = False  # STUDIO_AUTOTUNE (on unless 0): time each model's forms once, run the fastest faithful
    min_fidelity_db: float = 50.0  # STUDIO_MIN_FIDELITY_DB: a tuned default stays this close to fp32 (PSNR)
    tune_at_start: bool = False  # STUDIO_TUNE_AT_START: the web app tunes the models that are here in the background
    demo_cache: bool = False  # STUDIO_DEMO_CACHE (on unless 0): the web app builds the examples' results at start
    run_budget_s: float | None = None  # a web run predicted to take longer is refused before it starts
    run_timeout_s: float | None = 300.0  # STUDIO_RUN_TIMEOUT_S: compute seconds one web run may use (None: no limit)
    on_space: bool = False  # SPACE_ID is set: a Hugging Face Space
    server_name: str = "127.0.0.1"  # GRADIO_SERVER_NAME: the address the web app binds (0.0.0.0 in a container)
    server_port: int = 7860
    max_frames: int = 300  # a video is cut after this many frames (the result says so)
    max_video_side: int = 1920  # px, long side, checked from the header before decoding
    max_video_seconds: float = 120.0  # a video is cut after this much of its timeline
    ray_address: str | None = None  # STUDIO_RAY_ADDRESS: the cluster `studio batch --engine ray` joins
    ray_cpus: int | None = None  # STUDIO_RAY_CPUS: CPUs of the local cluster started when no address is set
    log_format: str = "plain"  # STUDIO_LOG_FORMAT: plain lines, or one JSON object per line
    allow_downloads: bool = False  # STUDIO_ALLOW_DOWNLOADS: the Models tab's Download weights button (/download_model)
    min_free_mb: int = 1024  # STUDIO_MIN_FREE_MB: /readyz fails below this much free disk in the data dir
    cors_origins: tuple[str, ...] = ()  # STUDIO_CORS_ORIGINS: other origins whose pages may call the app
    mcp_server: bool = False  # STUDIO_MCP_SERVER: also serve the app's events as MCP tools (gradio[mcp])
    fetch_timeout_s: float = 60.0  # STUDIO_FETCH_TIMEOUT_S: a weights host that has not answered by then has failed
    fetch_max_s: float = 1800.0  # STUDIO_FETCH_MAX_S: the most one model's weights download may take
    hf_login: str = "off"  # STUDIO_HF_LOGIN: ratings (the rating tabs need a Hugging Face login) or all (runs too)
    accounts: Accounts | None = None  # STUDIO_AUTH: the logins the whole web app asks for (hashed; None: open)
    rate_runs: Rate = field(default_factory=Rate)  # STUDIO_RATE_RUNS: model runs a minute per session, per address
    rate_votes: Rate = field(default_factory=lambda: Rate(30, 120))  # STUDIO_RATE_VOTES: votes and MOS scores
    trusted_proxies: tuple[str, ...] = ()  # STUDIO_TRUSTED_PROXIES: whose X-Forwarded-For names the client
    persistent_dir: Path | None = None  # persistent storage in use (STUDIO_PERSISTENT_DIR; on a Space, /data)
    persistent_unusable: Path | None = None  # STUDIO_PERSISTENT_DIR when it names no writable folder (a typo?)
    data_persistent: bool | None = None  # whether data_dir is on it; None: not asked for (off a Space, no variable)
    prefetch: tuple[str, ...] = ()  # STUDIO_PREFETCH: model ids (or "defaults") loaded at start, in order

    @property
    def login_users(self) -> tuple[str, ...]:
        """The user names STUDIO_AUTH lets in (none: no login asked)."""
        return self.accounts.users if self.accounts else ()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, registry: str | Path | None = None) -> Settings:
        """Build settings from `env` (default: os.environ); `registry` adds a user registry."""
        env = dict(os.environ if env is None else env)
        persistent = _persistent_dir(env)
        cache = persistent / "enhance-studio" if persistent else _cache_home(env)  # persistent storage, when there
        if persistent and not env.get("HF_HOME"):
            env["HF_HOME"] = str(_persistent_hf_home(persistent))  # what use_persistent_storage gives huggingface_hub
        data_dir = Path(env.get("STUDIO_DATA_DIR") or cache / "data").expanduser()
        files = [BUILTIN_REGISTRY]
        trained = data_dir / TRAINED_REGISTRY
        if trained.is_file():  # what `studio train --register` added, when no user registry was named
            files.append(trained)
        for extra in (env.get("STUDIO_REGISTRY"), registry):
            if extra:
                files.append(Path(extra).expanduser().resolve())
        return cls(
            registry_files=tuple(files),
            weights_dir=Path(env.get("STUDIO_WEIGHTS_DIR") or cache / "weights").expanduser(),
            weights_mirror=env.get("STUDIO_WEIGHTS_MIRROR") or None,
            hub_offline=flag(env, "HF_HUB_OFFLINE") or flag(env, "STUDIO_OFFLINE"),
            offline=flag(env, "STUDIO_OFFLINE"),
            hf_cache=_hf_cache(env),
            require_pinned=flag(env, "STUDIO_REQUIRE_PINNED"),
            cache_mb=integer(env, "STUDIO_CACHE_MB", 4096),
            max_pixels=integer(env, "STUDIO_MAX_PIXELS", 16_000_000),
            threads=integer(env, "STUDIO_THREADS", max(1, os.cpu_count() or 1)),
            tile=integer(env, "STUDIO_TILE", 0, minimum=0),
            tile_budget_mb=integer(env, "STUDIO_TILE_MB", 1024, minimum=64),
            max_memory_mb=integer(env, "STUDIO_MAX_MEMORY_MB", 0, minimum=0) or None,
            data_dir=data_dir,
            db_url=db_url(env.get("STUDIO_DB_URL", "").strip()),
            hf_endpoint=(env.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/"),
            machine_class=choice(env, "STUDIO_MACHINE_CLASS", ("auto", *MACHINE_CLASSES), "auto"),
            autotune=flag({"STUDIO_AUTOTUNE": "1", **env}, "STUDIO_AUTOTUNE"),
            min_fidelity_db=decibels(env, "STUDIO_MIN_FIDELITY_DB", 50.0),
            tune_at_start=flag(env, "STUDIO_TUNE_AT_START"),
            demo_cache=flag({"STUDIO_DEMO_CACHE": "1", **env}, "STUDIO_DEMO_CACHE"),
            run_budget_s=seconds(env, "STUDIO_RUN_BUDGET_S"),
            run_timeout_s=limit_s(env, "STUDIO_RUN_TIMEOUT_S", 300.0),
            on_space=bool(env.get("SPACE_ID")),
            server_name=(
                env.get("GRADIO_SERVER_NAME", "").strip() or ("0.0.0.0" if env.get("SPACE_ID") else "127.0.0.1")
            ),
            server_port=integer(env, "PORT", 0, minimum=0) or integer(env, "GRADIO_SERVER_PORT", 7860),
            max_frames=integer(env, "STUDIO_MAX_FRAMES", 300),
            max_video_side=integer(env, "STUDIO_MAX_VIDEO_SIDE", 1920, minimum=16),
            max_video_seconds=seconds(env, "STUDIO_MAX_VIDEO_SECONDS", "120") or 120.0,
            ray_address=env.get("STUDIO_RAY_ADDRESS", "").strip() or None,
            ray_cpus=integer(env, "STUDIO_RAY_CPUS", 0, minimum=0) or None,
            log_format=choice(env, "STUDIO_LOG_FORMAT", LOG_FORMATS, "plain"),
            allow_downloads=flag(env, "STUDIO_ALLOW_DOWNLOADS"),
            min_free_mb=integer(env, "STUDIO_MIN_FREE_MB", 1024, minimum=0),
            cors_origins=origins(env.get("STUDIO_CORS_ORIGINS", "")),
            mcp_server=flag(env, "STUDIO_MCP_SERVER"),
            fetch_timeout_s=seconds(env, "STUDIO_FETCH_TIMEOUT_S", "60") or 60.0,
            fetch_max_s=seconds(env, "STUDIO_FETCH_MAX_S", "1800") or 1800.0,
            hf_login=hf_login(env),
            accounts=Accounts.parse(env["STUDIO_AUTH"]) if env.get("STUDIO_AUTH", "").strip() else None,
            rate_runs=rate(env, "STUDIO_RATE_RUNS", Rate(5, 20) if env.get("SPACE_ID") else Rate()),
            rate_votes=rate(env, "STUDIO_RATE_VOTES", Rate(30, 120)),
            trusted_proxies=proxies(env.get("STUDIO_TRUSTED_PROXIES", "")),
            persistent_dir=persistent,
            persistent_unusable=(
                Path(env["STUDIO_PERSISTENT_DIR"]).expanduser()
                if env.get("STUDIO_PERSISTENT_DIR") and persistent is None
                else None
            ),
            data_persistent=(persistent is not None and _inside(data_dir, persistent)) if _storage_asked(env) else None,
            prefetch=prefetch(env),
        )
