"""The database half of a backup: a consistent snapshot of a live store, and loading one back.

SQLite: Python's online backup API copies the database in one step under one
read transaction (WAL: voting goes on meanwhile). PostgreSQL: a REPEATABLE READ
transaction exports its snapshot, counts the rows in it and hands it to
`pg_dump --snapshot`, so the dump and the manifest's counts see the same
instant. Loading goes through the same two roads: the backup API into the live
SQLite file (one write transaction), `pg_restore --clean --single-transaction`;
a SQLite dump goes into a PostgreSQL store row by row (moving a study to PostgreSQL).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.ratings.store import BUSY_TIMEOUT_MS, Database

SQLITE, POSTGRESQL = "sqlite", "postgresql"
KINDS = (SQLITE, POSTGRESQL)
KIND_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
DUMP_NAMES = {SQLITE: "ratings.sqlite3", POSTGRESQL: "ratings.pgdump"}
PG_LIB = Path("/usr/lib/postgresql")  # Debian's versioned client programs, when none is on PATH
FILES_QUERY = "SELECT input_path FROM items WHERE input_path IS NOT NULL UNION SELECT path FROM outputs"


class BackupToolError(StudioError, RuntimeError):
    """A program or database step of a backup or restore failed (pg_dump missing, SQLite refusing)."""


class BackupFileError(StudioError, ValueError):
    """The file is not a ratings backup, or a damaged one: refused before the store is touched."""

    exit_code = 2


@dataclass
class Snapshot:
    """A database dump on disk and what it holds: rows per table, migrations, the files its rows point at."""

    path: Path
    counts: dict[str, int]
    migrations: list[str]
    files: list[str]
    details: dict[str, str] = field(default_factory=dict)  # e.g. the PostgreSQL server's version


def store_kind(db: Database) -> str:
    return SQLITE if db.url.startswith("sqlite") else POSTGRESQL


def table_names(db: Database) -> list[str]:
    """Every table of the schema, parents before children (the order rows can be inserted in)."""
    return [table.name for table in db.tables["metadata"].sorted_tables]


def _contents(execute: Any, names: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """(rows per table, migration names, referenced files) through `execute(sql) -> rows` (sqlite3 or SQLAlchemy)."""
    counts = {name: int(execute(f'SELECT count(*) FROM "{name}"')[0][0]) for name in names}
    migrations = sorted(row[0] for row in execute("SELECT name FROM migrations"))
    files = sorted({row[0] for row in execute(FILES_QUERY)})
    return counts, migrations, files


def store_contents(db: Database) -> tuple[dict[str, int], list[str], list[str]]:
    """What the store holds now: rows per table, migrations applied, files its rows point at."""
    with db.engine.connect() as connection:
        return _contents(lambda sql: connection.exec_driver_sql(sql).all(), table_names(db))


def snapshot(db: Database, folder: Path) -> Snapshot:
    """Dump the live store into `folder`; the counts and file list describe exactly that dump."""
    return _sqlite_snapshot(db, folder) if store_kind(db) == SQLITE else _pg_snapshot(db, folder)


def sqlite_path(db: Database) -> Path:
    return Path(db.url.removeprefix("sqlite:///"))


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _sqlite_snapshot(db: Database, folder: Path) -> Snapshot:
    out = folder / DUMP_NAMES[SQLITE]
    try:
        source, target = _sqlite_connect(sqlite_path(db)), sqlite3.connect(out)
        try:
            source.backup(target)  # pages=-1: one step, one read transaction: a consistent copy
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            counts, migrations, files = _contents(lambda sql: target.execute(sql).fetchall(), table_names(db))
        finally:
            source.close()
            target.close()
    except sqlite3.Error as exc:
        raise BackupToolError(f"SQLite could not copy {sqlite_path(db)}: {exc}") from None
    return Snapshot(out, counts, migrations, files, {"sqlite_version": sqlite3.sqlite_version})


def check_sqlite_dump(path: Path, names: list[str]) -> dict[str, int]:
    """A staged SQLite dump that passes `PRAGMA integrity_check`; returns its rows per table."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupFileError(f"the backup's database fails SQLite's integrity check: {verdict}")
            return _contents(lambda sql: connection.execute(sql).fetchall(), names)[0]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise BackupFileError(f"the backup's database cannot be read as SQLite: {exc}") from None


def _sqlite_load(db: Database, dump: Path) -> None:
    """Copy the dump over the live database in one write transaction (page sizes made equal first: WAL needs it)."""
    db.dispose()
    try:
        source, target = sqlite3.connect(dump), _sqlite_connect(sqlite_path(db))
        try:
            page_size = target.execute("PRAGMA page_size").fetchone()[0]
            if source.execute("PRAGMA page_size").fetchone()[0] != page_size:
                source.execute(f"PRAGMA page_size={int(page_size)}")
                source.execute("VACUUM")
            source.backup(target)
        finally:
            source.close()
            target.close()
    except sqlite3.Error as exc:
        raise BackupToolError(f"SQLite could not restore into {sqlite_path(db)}: {exc}") from None


# ---- PostgreSQL --------------------------------------------------------------------------------
def pg_program(name: str) -> str:
    """`name` on PATH, else the newest one under /usr/lib/postgresql/*/bin; refused in one line when neither."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        PG_LIB.glob(f"*/bin/{name}"), key=lambda path: [int(n) for n in re.findall(r"\d+", path.parts[-3])]
    )
    if versions:
        return str(versions[-1])
    raise BackupToolError(
        f"{name} not found: install the PostgreSQL client programs (Debian: postgresql-client) or put {name} on PATH"
    )


def run_pg(name: str, *args: str) -> str:
    """Run a PostgreSQL program; a failure is one line naming it and its first line of stderr."""
    program = pg_program(name)
    try:
        result = subprocess.run([program, *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupToolError(f"{name} could not start ({program}): {exc.strerror or exc}") from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        first = lines[0] if lines else f"exit status {result.returncode}"
        raise BackupToolError(f"{name} failed: {first}")
    return result.stdout


def _conninfo(db: Database, folder: Path) -> str:
    """A libpq URI for the programs; the password goes into a private passfile, never onto a command line."""
    url = db.engine.url
    query = dict(url.query)
    if url.password is not None:
        passfile = folder / "pgpass"
        passfile.touch(mode=0o600)
        secret = str(url.password).replace("\\", "\\\\").replace(":", "\\:")
        passfile.write_text(f"*:*:*:*:{secret}\n", encoding="utf-8")
        query["passfile"] = str(passfile)
    from sqlalchemy.engine import URL

    plain = URL.create("postgresql", url.username, None, url.host, url.port, url.database, query)
    return plain.render_as_string(hide_password=False)


def _pg_snapshot(db: Database, folder: Path) -> Snapshot:
    out = folder / DUMP_NAMES[POSTGRESQL]
    names = table_names(db)
    conninfo = _conninfo(db, folder)
    tables = [f"--table={name}" for name in names]
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            counts, migrations, files = _contents(lambda sql: connection.exec_driver_sql(sql).all(), names)
            server = connection.exec_driver_sql("SHOW server_version").scalar_one()
            # The transaction stays open while pg_dump reads: its snapshot lives as long as this transaction.
            run_pg("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot_id}",
                   f"--file={out}", *tables, f"--dbname={conninfo}")  # fmt: skip
    return Snapshot(out, counts, migrations, files, {"server_version": str(server)})


def check_pg_dump(path: Path) -> None:
    """`pg_restore --list`: this pg_restore can read the dump (before anything in the store changes)."""
    listing = run_pg("pg_restore", "--list", str(path))
    if "TABLE DATA" not in listing:
        raise BackupToolError("the backup's PostgreSQL dump holds no table data")


def _pg_load(db: Database, dump: Path, folder: Path) -> None:
    """Drop and recreate the store's tables from the dump, all in one transaction (a failure changes nothing)."""
    db.dispose()
    run_pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
           "--exit-on-error", f"--dbname={_conninfo(db, folder)}", str(dump))  # fmt: skip
    db.dispose()  # pooled connections may hold plans of the dropped tables


def _copy_rows(db: Database, dump: Path, folder: Path) -> None:
    """A SQLite dump into a PostgreSQL store, row by row in one transaction: the dump is opened as a store of
    its own first (so an older schema is migrated), then every table is emptied and filled, parents first."""
    source = Database(f"sqlite:///{dump}", folder / "unused")
    tables = db.tables["metadata"].sorted_tables
    try:
        with db.transaction() as target, source.engine.connect() as reading:
            for table in reversed(tables):
                target.execute(table.delete())
            for table in tables:
                rows = [dict(row._mapping) for row in reading.execute(source.tables[table.name].select())]
                for start in range(0, len(rows), 1000):
                    target.execute(table.insert(), rows[start : start + 1000])
    finally:
        source.dispose()


def load(db: Database, dump: Path, kind: str, folder: Path) -> None:
    """Replace everything the store's tables hold with a dump of `kind` (SQLite into PostgreSQL: row by row)."""
    if store_kind(db) == SQLITE:
        _sqlite_load(db, dump)
    elif kind == SQLITE:
        _copy_rows(db, dump, folder)
    else:
        _pg_load(db, dump, folder)
