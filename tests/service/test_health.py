"""Readiness (/readyz's answer): models that can run here, a database that takes a write, free disk."""

from __future__ import annotations

import dataclasses

from studio.core.config import Settings
from studio.service.health import readiness
from studio.services import Services


def test_a_fresh_data_dir_is_ready_and_the_write_probe_stores_nothing(settings):
    services = Services(settings)
    result = readiness(services)
    assert result.ready and result.reason is None, result.checks
    assert result.checks["database"] == "writable"
    assert result.checks["models"].endswith("models can run here without a download")
    assert result.as_json()["status"] == "ready"
    from sqlalchemy import select

    table = services.ratings.tables["migrations"]
    with services.ratings.transaction() as connection:
        names = list(connection.execute(select(table.c.name)).scalars())
    assert names and not [name for name in names if name.startswith("readiness-")]


def test_a_database_that_cannot_be_written_is_not_ready(env, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    services = Services(Settings.from_env({**env, "STUDIO_DATA_DIR": str(tmp_path / "a-file")}))
    result = readiness(services)
    assert not result.ready
    assert result.reason.startswith(
        "database: not writable: DatabaseUnavailable: cannot create the ratings database's folder"
    )
    assert result.as_json() == {"status": "not ready", "checks": result.checks, "reason": result.reason}
    assert "\n" not in result.reason


def test_too_little_free_disk_is_not_ready(settings):
    services = Services(dataclasses.replace(settings, min_free_mb=10**12))  # a petabyte free: never here
    result = readiness(services)
    assert not result.ready and result.reason.startswith("disk: ")
    assert "under STUDIO_MIN_FREE_MB=1000000000000" in result.checks["disk"]
    assert result.checks["database"] == "writable"  # every check still ran


def test_a_data_dir_not_made_yet_is_measured_on_its_disk(env, tmp_path):
    services = Services(
        Settings.from_env({**env, "STUDIO_DATA_DIR": str(tmp_path / "not" / "yet"), "STUDIO_MIN_FREE_MB": "0"})
    )
    assert readiness(services).ready
