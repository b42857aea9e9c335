"""Parsing one environment value each: the variables come in as a dict, so studio/core/config.py stays the one
place that reads the environment, and each rule (what a flag accepts, what a number may be) is written once.

Every parser refuses a value it cannot read with a one-line UsageError naming the variable, rather than
falling back to a default the user did not ask for.
"""

from __future__ import annotations

import ipaddress

from studio.core.errors import UsageError
from studio.core.ratelimit import Rate

PREFETCH_DEFAULTS = "defaults"  # STUDIO_PREFETCH's word for the Compare tab's preselected models
NO_PREFETCH = {"0", "none", "off", "no", "false"}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"", "0", "false", "no", "off"}


def flag(env: dict[str, str], name: str) -> bool:
    """On/off variables: a word that is neither (a typo) is refused rather than read as off."""
    raw = env.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise UsageError(f"{name}={raw!r} must be one of 1, true, yes, on (or 0, false, no, off)")


def integer(env: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise UsageError(f"{name}={raw!r} must be at least {minimum}")
    return value


def positive(env: dict[str, str], name: str, unit: str, unset: str) -> float | None:
    """A finite number above 0 of `unit` (seconds, dB), or None when unset; `unset` says what unset means."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number of {unit}") from None
    if not 0 < value < float("inf"):
        raise UsageError(f"{name}={raw!r} must be a number of {unit} above 0 (unset: {unset})")
    return value


def seconds(env: dict[str, str], name: str, unset: str = "no budget") -> float | None:
    """A positive number of seconds, or None when unset."""
    return positive(env, name, "seconds", unset)


def limit_s(env: dict[str, str], name: str, default: float) -> float | None:
    """A time limit in seconds: `default` when unset, None (no limit) for 0."""
    raw = env.get(name, "").strip()
    if raw:
        try:
            if float(raw) == 0:
                return None
        except ValueError:
            pass  # seconds() says why
    return seconds(env, name, f"{default:g}; 0: no limit") or default


def decibels(env: dict[str, str], name: str, default: float) -> float:
    """A PSNR floor in dB (any positive number; unset: `default`)."""
    found = positive(env, name, "dB", f"{default:g}")
    return default if found is None else found


def choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in choices:
        raise UsageError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def db_url(raw: str) -> str | None:
    """A SQLAlchemy URL for PostgreSQL or SQLite; postgresql:// means the psycopg 3 driver."""
    if not raw:
        return None
    if raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if raw.startswith(("postgresql+psycopg://", "sqlite:///")):
        return raw
    raise UsageError(f"STUDIO_DB_URL={raw!r} must start with postgresql:// or sqlite:///")


def origins(raw: str) -> tuple[str, ...]:
    """Comma-separated web origins (scheme://host[:port]) that may call the app from other pages."""
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise UsageError(f"STUDIO_CORS_ORIGINS={raw!r}: {origin!r} is not an origin like https://example.org")
    return origins


def rate(env: dict[str, str], name: str, default: Rate) -> Rate:
    """Events a minute: `N` (from one session and from one address) or `SESSION,ADDRESS`; 0 turns a limit off."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) > 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise UsageError(
            f"{name}={raw!r} must be a count a minute, or two (per session,per address) like 5,20; 0 turns a limit off"
        )
    counts = [int(part) for part in parts]
    return Rate(counts[0], counts[-1])


def proxies(raw: str) -> tuple[str, ...]:
    """Addresses or networks of the proxies whose X-Forwarded-For is believed; `*` believes any sender."""
    proxies = tuple(part.strip() for part in raw.split(",") if part.strip())
    if proxies == ("*",):
        return proxies
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise UsageError(
                f"STUDIO_TRUSTED_PROXIES={raw!r}: {proxy!r} is not an IP address or network like 10.0.0.0/8 "
                "(or * alone, for any)"
            ) from None
    return proxies


def prefetch(env: dict[str, str]) -> tuple[str, ...]:
    """STUDIO_PREFETCH: comma-separated model ids and/or `defaults`; none, 0 or off for nothing.
    Unset: the default models on a Space, nothing elsewhere. The ids are checked against the registry at start."""
    words = [word.strip() for word in env.get("STUDIO_PREFETCH", "").split(",") if word.strip()]
    if not words:
        return (PREFETCH_DEFAULTS,) if env.get("SPACE_ID") else ()
    if len(words) == 1 and words[0].lower() in NO_PREFETCH:
        return ()
    named = (PREFETCH_DEFAULTS if word.lower() in (PREFETCH_DEFAULTS, "default") else word for word in words)
    return tuple(dict.fromkeys(named))
