"""The web app's build at start (STUDIO_DEMO_CACHE, on unless 0): a background thread builds what is stale."""

from __future__ import annotations

import pytest

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.demo import examples
from studio.demo.build import build_in_background
from studio.demo.cache import fresh_entry
from studio.services import Services


def test_the_switch_is_on_unless_turned_off(env):
    assert Settings.from_env(env).demo_cache is True
    assert Settings.from_env({**env, "STUDIO_DEMO_CACHE": "0"}).demo_cache is False
    with pytest.raises(UsageError, match="STUDIO_DEMO_CACHE='of' must be one of 1, true, yes, on"):
        Settings.from_env({**env, "STUDIO_DEMO_CACHE": "of"})


def test_a_stale_entry_is_built_in_the_background_and_then_left_alone(env, monkeypatch, caplog):
    monkeypatch.setattr(examples, "EXAMPLES", {"anime-frame.png": "anime x2"})  # the quick one only
    assert build_in_background(Services(Settings.from_env({**env, "STUDIO_DEMO_CACHE": "0"}))) is None
    services = Services(Settings.from_env(env))
    caplog.set_level("INFO", logger="studio.demo")
    build_in_background(services).join(timeout=60)
    (plan,) = examples.plan_examples(services, examples.current_states(services))
    assert fresh_entry(services.settings, plan) is not None
    assert "demo cache: built anime-frame.png (anime x2): bicubic-x2, lanczos-x2 in " in caplog.text
    caplog.clear()
    build_in_background(services).join(timeout=60)
    assert "demo cache: up to date anime-frame.png (anime x2)" in caplog.text
