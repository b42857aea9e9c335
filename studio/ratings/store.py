"""The ratings database: SQLite by default (WAL, busy timeout, BEGIN IMMEDIATE), PostgreSQL by URL.

The only module that talks to SQLAlchemy's engine. Image files live under the
data directory (never in a served temp folder), named by content hash; rows only
point at them. Everything is append-only except a battle's state.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio.core.errors import ServerFaultError, StudioError

BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 7_300_011  # PostgreSQL advisory lock key: one process migrates at a time


class RatingsError(StudioError, ValueError):
    """A vote, score or import was refused; nothing was stored."""

    exit_code = 2


class DatabaseUnavailable(ServerFaultError):
    """The ratings database cannot be reached or opened: the server's (or the operator's) problem, not the input's."""


def sqlite_file(folder: Path) -> Path:
    return folder / "ratings.sqlite3"


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{sqlite_file(folder)}"


def engine_url(url: str) -> str:
    """postgresql:// and postgres:// mean the psycopg 3 driver (the one installed); other URLs pass through."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def content_id(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL` on a new file needs it alone for a moment, and SQLite answers
    "database is locked" at once instead of waiting through the busy handler: retry within the
    busy timeout (several processes opening a fresh database together hit this)."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Database:
    """An engine, the tables and transactions; migrations run on open."""

    def __init__(self, url: str, files_dir: Path):
        from sqlalchemy import create_engine, event

        from studio.ratings.schema import build_tables

        url = engine_url(url)
        self.url = url
        self.files_dir = files_dir
        self.tables = build_tables()
        if url.startswith("sqlite"):
            folder = Path(url.removeprefix("sqlite:///")).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot create the ratings database's folder {folder}: {exc.strerror or exc}"
                ) from exc
            self.engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi_connection.cursor()
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                _switch_to_wal(cursor)
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            @event.listens_for(self.engine, "begin")
            def _immediate(connection: Any) -> None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks

        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self.applied = self._open()  # the migrations this open ran (empty when up to date)

    def _open(self) -> list[str]:
        """Migrate; a database that cannot be reached or opened (a server down, a wrong password, an unwritable
        file) is one line naming it (without its password), not a driver's three-line message."""
        from sqlalchemy.exc import InterfaceError, OperationalError

        try:
            return self.migrate()
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig or exc).strip().splitlines()
            shown = self.engine.url.render_as_string(hide_password=True)
            raise DatabaseUnavailable(
                f"cannot open the ratings database {shown}: {reason[0] if reason else type(exc).__name__}"
            ) from exc

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.engine.begin() as connection:
            yield connection

    def migrate(self) -> list[str]:
        """Run the migrations this database has not seen, in order; returns their names."""
        from sqlalchemy import select

        from studio.ratings.schema import MIGRATIONS

        table = self.tables["migrations"]
        with self.transaction() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes opening a fresh database at once: the second waits, then finds the work done.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            table.create(connection, checkfirst=True)
            done = set(connection.execute(select(table.c.name)).scalars())
            applied = []
            for name, step in MIGRATIONS:
                if name not in done:
                    step(connection, self.tables)
                    connection.execute(table.insert().values(name=name, applied_at=time.time()))
                    applied.append(name)
        return applied

    def check_writable(self) -> None:
        """Prove the database takes a write now (the web server's readiness): a row goes into `migrations`
        inside a transaction that is rolled back, so nothing is ever stored. Raises what the database raises."""
        table = self.tables["migrations"]
        with self.engine.connect() as connection:
            transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE, the write lock itself
            try:
                connection.execute(table.insert().values(name=f"readiness-{uuid.uuid4().hex}", applied_at=time.time()))
            finally:
                transaction.rollback()

    def store_file(self, data: bytes, suffix: str = ".png") -> str:
        """Write `data` once under its content hash; returns the path relative to the files folder."""
        name = hashlib.sha256(data).hexdigest()
        relative = f"{name[:2]}/{name}{suffix}"
        path = self.files_dir / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            part = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")  # one per writer, threads and processes alike
            part.write_bytes(data)
            part.replace(path)
        return relative

    def file_path(self, relative: str) -> Path:
        return self.files_dir / relative

    def dispose(self) -> None:
        self.engine.dispose()


def insert_ignore(connection: Any, table: Any, **values: Any) -> None:
    """INSERT that does nothing when the primary or a unique key exists (concurrent first uses on PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    connection.execute(insert(table).values(**values).on_conflict_do_nothing())


def check_length(table: Any, column: str, value: str, what: str) -> str:
    """Refuse text longer than its column (PostgreSQL would fail with a database error, SQLite would store it)."""
    limit = getattr(table.c[column].type, "length", None)
    if limit is not None and len(value) > limit:
        raise RatingsError(f"{what} is too long ({len(value)} characters, at most {limit}): {value[:40]!r}...")
    return value
