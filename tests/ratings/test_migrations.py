"""Named, append-only migrations: a fresh database records them, a reopened one runs nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.ratings import schema
from studio.ratings.store import Database
from tests.ratings.helpers import row_count, seed

TABLES = {"migrations", "rounds", "items", "outputs", "raters", "battles", "votes", "mos_tasks", "mos_scores"}


def migration_names(db: Database) -> list[str]:
    from sqlalchemy import select

    table = db.tables["migrations"]
    with db.engine.connect() as connection:
        return list(connection.execute(select(table.c.name).order_by(table.c.applied_at, table.c.name)).scalars())


def test_a_fresh_database_records_the_initial_migration(store: Database) -> None:
    from sqlalchemy import inspect

    assert store.applied == ["0001_initial"]
    assert migration_names(store) == ["0001_initial"]
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_reopening_runs_nothing_and_keeps_the_rows(store: Database) -> None:
    seed(store)
    items = row_count(store, "items")
    reopened = Database(store.url, store.files_dir)
    try:
        assert reopened.applied == []
        assert reopened.migrate() == []
        assert migration_names(reopened) == ["0001_initial"]
        assert row_count(reopened, "items") == items == 1
    finally:
        reopened.dispose()


def test_a_new_migration_runs_once_in_order(store: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def add_index(connection: Any, tables: dict[str, Any]) -> None:
        calls.append("0002")
        connection.exec_driver_sql("CREATE INDEX ix_votes_rater_test ON votes (rater)")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, ("0002_votes_rater_index", add_index)])
    reopened = Database(store.url, store.files_dir)
    again = Database(store.url, store.files_dir)
    try:
        assert reopened.applied == ["0002_votes_rater_index"]
        assert again.applied == []  # and never again
        assert calls == ["0002"]
        assert migration_names(again) == ["0001_initial", "0002_votes_rater_index"]
    finally:
        reopened.dispose()
        again.dispose()


def test_a_failed_migration_leaves_no_trace(store: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration and its record commit together: after a failure the next open tries it again."""

    def broken(connection: Any, tables: dict[str, Any]) -> None:
        connection.exec_driver_sql("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("disk full")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, ("0002_broken", broken)])
    with pytest.raises(RuntimeError, match="disk full"):
        Database(store.url, store.files_dir)
    from sqlalchemy import inspect

    assert "half_done" not in inspect(store.engine).get_table_names()
    assert migration_names(store) == ["0001_initial"]


def test_opening_a_fresh_database_from_several_places_at_once(new_store_url: Callable[[], str], tmp_path: Path) -> None:
    """The app and a CLI command starting together: one of them migrates, the others wait and find it done."""
    url, start, results = new_store_url(), threading.Barrier(4), []

    def open_it() -> None:
        start.wait()
        try:
            db = Database(url, tmp_path / "files")
        except Exception as exc:
            results.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        else:
            results.append(db.applied)
            db.dispose()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=len) == [[], [], [], ["0001_initial"]]


def test_a_database_that_cannot_be_opened_is_one_line_without_its_password(tmp_path: Path) -> None:
    from studio.core.errors import StudioError

    with pytest.raises(StudioError) as refused:  # nothing listens on port 1
        Database("postgresql://rater:secret@127.0.0.1:1/votes", tmp_path / "files")
    text = str(refused.value)
    assert text.startswith("cannot open the ratings database postgresql+psycopg://rater:***@127.0.0.1:1/votes: ")
    assert "Connection refused" in text and "secret" not in text and "\n" not in text
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = r"^cannot create the ratings database's folder .*a-file/ratings: Not a directory$"
    with pytest.raises(StudioError, match=unwritable):
        Database(f"sqlite:///{blocker}/ratings/ratings.sqlite3", tmp_path / "files")


def test_the_cli_says_the_database_is_unreachable_in_one_line() -> None:
    from tests.cli.helpers import studio

    result = studio("leaderboard", env={"STUDIO_DB_URL": "postgresql://rater:secret@127.0.0.1:1/votes"})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot open the ratings database postgresql+psycopg://rater:***@127.0.0.1:1/votes")
