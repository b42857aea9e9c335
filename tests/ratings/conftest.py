"""Stores for the ratings tests: every store test runs on SQLite and, when a server is
configured (STUDIO_TEST_PG_URL), on a fresh PostgreSQL database of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from studio.ratings.store import Database, sqlite_url
from tests.postgres import SKIP_REASON, fresh_database, server_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and server_url() is None:
        pytest.skip(SKIP_REASON)
    return request.param


@pytest.fixture
def new_store_url(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes the URL of another empty database of this test's backend (dropped at the end)."""
    with ExitStack() as stack:
        made = 0

        def make() -> str:
            nonlocal made
            made += 1
            if backend == "sqlite":
                return sqlite_url(tmp_path / f"db{made}")
            return stack.enter_context(fresh_database())

        yield make


@pytest.fixture
def new_store(new_store_url: Callable[[], str], tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Opens another empty store of this test's backend (its files in a folder of its own)."""
    opened: list[Database] = []

    def make() -> Database:
        db = Database(new_store_url(), tmp_path / f"files{len(opened)}")
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.dispose()


@pytest.fixture
def store(new_store: Callable[[], Database]) -> Database:
    """An empty, migrated store: SQLite, or a fresh PostgreSQL database."""
    return new_store()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Database]:
    """For the tests that are about logic, not the database: SQLite only."""
    db = Database(sqlite_url(tmp_path / "db"), tmp_path / "files")
    yield db
    db.dispose()
