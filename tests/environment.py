"""Environments for subprocesses the tests start (the CLI, the app, a second downloader).

They never inherit the STUDIO_* and HF_* settings of the person running the tests:
each starts from the variables a process needs to run (PATH, HOME, the session's
caches), offline, plus exactly what the test states. A forced STUDIO_MACHINE_CLASS
is the one setting passed through, so CI can run the suite once per machine class.
"""

from __future__ import annotations

import os

FORCED_MACHINE_CLASS = os.environ.get("STUDIO_MACHINE_CLASS", "auto")
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "SYSTEMROOT")


def clean_env(extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """A minimal offline environment plus `extra` (a None value removes a variable)."""
    env = {key: os.environ[key] for key in _KEEP if key in os.environ}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "STUDIO_OFFLINE": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "STUDIO_MACHINE_CLASS": FORCED_MACHINE_CLASS,
            "STUDIO_AUTOTUNE": "0",  # the untuned defaults, the same on every machine
            "STUDIO_DEMO_CACHE": "0",  # no app builds the examples' results unless its test asks
        }
    )
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def default_sigint() -> None:
    """`preexec_fn` for a child a test sends Ctrl-C: a shell's background job starts with SIGINT ignored, and a
    Python started that way never raises KeyboardInterrupt (the test would wait on a run that cannot stop)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
