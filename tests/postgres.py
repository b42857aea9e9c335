"""A real PostgreSQL server for tests: STUDIO_TEST_PG_URL names one (.ci/run starts a throwaway one).

Each test gets a database of its own, created with a unique name on that server
and dropped afterwards, so tests never see each other's rows and may run in any order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ENV = "STUDIO_TEST_PG_URL"
SKIP_REASON = "no PostgreSQL: set STUDIO_TEST_PG_URL (.ci/run starts one)"


def server_url() -> str | None:
    """The server's URL (postgresql://user@host:port/db) or None when no server is configured."""
    return os.environ.get(PG_ENV) or None


def _libpq_url(url: str) -> str:
    """psycopg takes postgresql:// URLs; accept a SQLAlchemy-style postgresql+psycopg:// one as well."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith(("postgresql", "postgres")) else url


@contextmanager
def fresh_database(prefix: str = "studio_test") -> Iterator[str]:
    """Create a uniquely named database on the server; yields its SQLAlchemy URL; drops it after."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = server_url()
    if base is None:
        raise RuntimeError(SKIP_REASON)
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq_url(base), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(_libpq_url(base)).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq_url(base), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
