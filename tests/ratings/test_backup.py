"""`studio ratings backup|restore`: a live store into one file and back into an empty one (SQLite and PostgreSQL),
and every refusal: a store that is not empty, a damaged, truncated or foreign file, the other kind of store."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from studio.cli.main import main
from studio.ratings import backup as backup_module
from studio.ratings import store_backup
from studio.ratings.backup import BackupFileError, backup, restore
from studio.ratings.store import Database, RatingsError, sqlite_url
from studio.ratings.store_arena import cast_vote, draw_battle
from studio.ratings.store_mos import draw_mos, score_mos
from studio.ratings.store_transfer import export_votes
from tests.cli.helpers import studio
from tests.postgres import SKIP_REASON, fresh_database, server_url
from tests.ratings.helpers import OPEN, seed, snapshot


def fill(db: Database, votes: int = 12, scores: int = 5) -> None:
    """Items with their image files, votes from several raters, MOS scores: everything a study stores."""
    seed(db, items=3)
    for number in range(votes):
        rater = f"rater-{number % 3}"
        battle = draw_battle(db, rater, "192.0.2.7", OPEN)
        cast_vote(db, battle.id, rater, ("a", "b", "tie", "both_bad")[number % 4], OPEN, ip="192.0.2.7")
    for number in range(scores):
        task = draw_mos(db, f"scorer-{number % 2}", reference_rate=0.3)
        score_mos(db, task.id, f"scorer-{number % 2}", 1 + number % 5, min_view_s=0)


def files_of(db: Database) -> dict[str, bytes]:
    """Every image file the store's rows point at, with its bytes."""
    _, _, names = store_backup.store_contents(db)
    return {name: db.file_path(name).read_bytes() for name in names}


def keep_voting(db: Database, stop: threading.Event, cast: list[str]) -> None:
    """The app, meanwhile: draws and votes on its own connection until told to stop."""
    while not stop.is_set():
        battle = draw_battle(db, "live-rater", None, OPEN)
        cast.append(cast_vote(db, battle.id, "live-rater", "a", OPEN).vote_id)


def rebuild(source: Path, out: Path, manifest: Callable[[dict], None] | None = None, keep_members: bool = True) -> Path:
    """A copy of a backup with its manifest edited (and, optionally, only the manifest kept)."""
    with tarfile.open(source) as tar, tarfile.open(out, "w") as new:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json" and manifest is not None:
                edited = json.loads(data)
                manifest(edited)
                data = json.dumps(edited).encode()
            elif not keep_members and member.name != "manifest.json":
                continue
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    return out


# ---- the round trip ------------------------------------------------------------------------------
def test_a_live_store_comes_back_whole_in_an_empty_one(
    store: Database, new_store: Callable[[], Database], tmp_path: Path
) -> None:
    fill(store)
    app = Database(store.url, store.files_dir)  # a second connection pool, voting while the backup runs
    stop, cast = threading.Event(), []
    voter = threading.Thread(target=keep_voting, args=(app, stop, cast))
    voter.start()
    try:
        while len(cast) < 3:
            stop.wait(0.01)
        taken = backup(store, tmp_path / "live.tar")
    finally:
        stop.set()
        voter.join()
        app.dispose()
    assert taken.counts["votes"] >= 12 + 3 and taken.counts["mos_scores"] == 5 and taken.counts["items"] == 3

    target = new_store()
    restored = restore(target, tmp_path / "live.tar")
    assert restored.counts == taken.counts and restored.replaced is None
    mine, theirs = snapshot(store), snapshot(target)
    assert set(theirs["votes"]) <= set(mine["votes"])  # a moment of the live store, every vote as it was
    voted = {row[0] for row in theirs["battles"] if row[6] == "voted"}
    assert voted == {row[1] for row in theirs["votes"]}  # consistent: each vote with its battle's state
    assert files_of(target) == files_of(store)
    assert restored.files == len(files_of(store)) == 12  # 3 inputs and 9 outputs

    # With nothing voting any more, a second backup brings back exactly what the store holds (--force).
    backup(store, tmp_path / "still.tar")
    again = restore(target, tmp_path / "still.tar", force=True)
    assert again.replaced == taken.counts
    assert snapshot(target) == snapshot(store)
    assert export_votes(target, "csv") == export_votes(store, "csv")


def test_a_sqlite_backup_moves_into_postgresql(sqlite_store: Database, tmp_path: Path) -> None:
    if server_url() is None:
        pytest.skip(SKIP_REASON)
    fill(sqlite_store)
    backup(sqlite_store, tmp_path / "study.tgz")
    with fresh_database() as url:
        server = Database(url, tmp_path / "server-files")
        try:
            restored = restore(server, tmp_path / "study.tgz")
            assert snapshot(server) == snapshot(sqlite_store)
            assert files_of(server) == files_of(sqlite_store) and restored.files == 12
            backup(server, tmp_path / "server.tar")
        finally:
            server.dispose()
    with pytest.raises(RatingsError, match="backup of a PostgreSQL store and this store is SQLite"):
        restore(Database(sqlite_url(tmp_path / "empty"), tmp_path / "empty-files"), tmp_path / "server.tar")


# ---- refusals --------------------------------------------------------------------------------
def _truncate(path: Path, out: Path) -> Path:
    with tarfile.open(path) as tar:
        last = tar.getmembers()[-1].offset
    out.write_bytes(path.read_bytes()[:last])  # every member but the last
    return out


def _cut(path: Path, out: Path) -> Path:
    out.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # in the middle of the database
    return out


def _text(path: Path, out: Path) -> Path:
    out.write_text("vote_id,item_id\n", encoding="utf-8")
    return out


def _flip(path: Path, out: Path) -> Path:
    data = bytearray(path.read_bytes())
    at = data.index(b"output of bicubic for image 2")
    data[at] ^= 0x01  # one bit of one image: the tar still reads, its checksum does not match
    out.write_bytes(bytes(data))
    return out


DAMAGE = {
    "one flipped bit": (_flip, "does not match its checksum"),
    "truncated": (_truncate, "is truncated: 1 of"),
    "cut in the middle": (_cut, r"not a readable ratings backup \(unexpected end of data\)|is truncated"),
    "not an archive": (_text, r"not a readable ratings backup \(not a tar archive, plain or gzip-compressed\)$"),
    "another tar": (
        lambda p, o: rebuild(p, o, lambda m: m.update(format="something-else")),
        "is not a ratings backup",
    ),
    "a member the manifest lacks": (
        lambda p, o: rebuild(p, o, lambda m: m["members"].popitem()),
        "which its manifest does not list",
    ),
    "rows the manifest does not count": (
        lambda p, o: rebuild(p, o, lambda m: m["counts"].update(votes=999)),
        "does not hold the rows its manifest counts",
    ),
    "a PostgreSQL backup": (
        lambda p, o: rebuild(p, o, lambda m: m.update(kind="postgresql"), keep_members=False),
        "backup of a PostgreSQL store and this store is SQLite",
    ),
    "a newer schema": (
        lambda p, o: rebuild(p, o, lambda m: m["migrations"].append("9999_future")),
        "comes from a newer studio",
    ),
}


@pytest.fixture(scope="module")
def good_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small, whole SQLite backup that each damage case spoils in a copy of its own."""
    folder = tmp_path_factory.mktemp("good")
    db = Database(sqlite_url(folder / "db"), folder / "files")
    try:
        fill(db, votes=3, scores=1)
        return backup(db, folder / "good.tar").path
    finally:
        db.dispose()


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_bad_file_is_refused_and_changes_nothing(
    good_backup: Path, tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    make, message = DAMAGE[damage]
    bad = make(good_backup, tmp_path / "bad.tar")
    data = tmp_path / "data"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(data))
    monkeypatch.delenv("STUDIO_DB_URL", raising=False)

    assert main(["ratings", "restore", str(bad)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and re.search(message, line), line
    assert not data.joinpath("ratings").exists()  # there was no store: the failed restore leaves none
    target = Database(sqlite_url(data / "ratings"), data / "ratings" / "files")
    try:
        assert all(not rows for name, rows in snapshot(target).items() if name != "migrations")
        assert not any(path.is_file() for path in (data / "ratings" / "files").rglob("*"))
        assert not [p.name for p in (data / "ratings").iterdir() if p.name.startswith(".restore")]  # no staging left
    finally:
        target.dispose()


def test_the_cli_backs_up_and_restores_and_refuses_a_store_that_holds_votes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    source = Database(sqlite_url(tmp_path / "a" / "ratings"), tmp_path / "a" / "ratings" / "files")
    fill(source)
    monkeypatch.delenv("STUDIO_DB_URL", raising=False)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "a"))
    assert main(["ratings", "backup", str(tmp_path / "study.tar")]) == 0
    assert capsys.readouterr().out.startswith("backed up 3 items, 12 votes, 5 MOS scores and 12 files of the SQLite")

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "b"))
    assert main(["ratings", "restore", str(tmp_path / "study.tar")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == f"restored 3 items, 12 votes, 5 MOS scores (0 rounds, 9 outputs, 12 files) from {tmp_path}/study.tar"
    )
    assert out[1].startswith("the counts match the manifest of this SQLite backup")

    target = Database(sqlite_url(tmp_path / "b" / "ratings"), tmp_path / "b" / "ratings" / "files")
    before = snapshot(target)
    assert main(["ratings", "restore", str(tmp_path / "study.tar")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "error: the ratings store is not empty (3 items, 12 votes, 5 MOS scores; 51 rows in all): restore goes "
        "into an empty store; --force replaces everything it holds"
    )
    assert snapshot(target) == before
    assert main(["ratings", "restore", "--force", str(tmp_path / "study.tar")]) == 0
    assert capsys.readouterr().out.startswith("replaced what the store held: 3 items, 12 votes, 5 MOS scores\n")
    assert snapshot(target) == snapshot(source)
    target.dispose()
    source.dispose()

    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "nothing"))
    assert main(["ratings", "backup", str(tmp_path / "none.tar")]) == 2
    assert "nothing to back up: no ratings store in" in capsys.readouterr().err
    assert not (tmp_path / "nothing").exists() and not (tmp_path / "none.tar").exists()


def test_a_backup_never_replaces_a_file_unasked_and_is_named_as_the_tar_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    source = Database(sqlite_url(tmp_path / "a" / "ratings"), tmp_path / "a" / "ratings" / "files")
    fill(source, votes=2, scores=0)
    source.dispose()
    monkeypatch.delenv("STUDIO_DB_URL", raising=False)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "a"))
    earlier = tmp_path / "monday.tar"
    earlier.write_bytes(b"the only copy of Monday's study")

    assert main(["ratings", "backup", str(earlier)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {earlier} exists: name a new file, or add --force to replace it"
    assert earlier.read_bytes() == b"the only copy of Monday's study"
    assert main(["ratings", "backup", str(tmp_path / "study.zip")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: study.zip: a backup is a tar archive: name it .tar, .tar.gz or .tgz"
    )
    assert not (tmp_path / "study.zip").exists()

    assert main(["ratings", "backup", "--force", str(earlier)]) == 0
    assert capsys.readouterr().out.startswith("backed up ")
    with tarfile.open(earlier) as archive:
        assert "manifest.json" in archive.getnames()


@pytest.mark.slow  # two real processes
def test_python_m_studio_backs_up_a_store_the_app_holds_open(tmp_path: Path) -> None:
    app = Database(sqlite_url(tmp_path / "a" / "ratings"), tmp_path / "a" / "ratings" / "files")
    fill(app, votes=4, scores=2)  # and the pool stays open, as the serving app's would
    made = studio("ratings", "backup", str(tmp_path / "s.tgz"), env={"STUDIO_DATA_DIR": str(tmp_path / "a")})
    assert made.returncode == 0, made.stderr
    back = studio("ratings", "restore", str(tmp_path / "s.tgz"), env={"STUDIO_DATA_DIR": str(tmp_path / "b")})
    assert back.returncode == 0 and "restored 3 items, 4 votes, 2 MOS scores" in back.stdout, back.stderr
    restored = Database(sqlite_url(tmp_path / "b" / "ratings"), tmp_path / "b" / "ratings" / "files")
    assert snapshot(restored) == snapshot(app) and files_of(restored) == files_of(app)
    restored.dispose()
    app.dispose()


# ---- writing atomically, the PostgreSQL programs ----------------------------------------------------
def test_an_interrupted_backup_leaves_the_old_file_and_nothing_else(
    sqlite_store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(sqlite_store, votes=2, scores=0)
    target = tmp_path / "out" / "study.tar"
    target.parent.mkdir()
    target.write_bytes(b"yesterday's backup")
    real_write = backup_module._write

    def interrupted(part: Path, *args, **kwargs) -> None:
        real_write(part, *args, **kwargs)
        part.write_bytes(part.read_bytes()[:700])  # half written when Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(backup_module, "_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backup(sqlite_store, target, force=True)
    assert [p.name for p in target.parent.iterdir()] == ["study.tar"]
    assert target.read_bytes() == b"yesterday's backup"


def test_missing_or_failing_postgresql_programs_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(store_backup, "PG_LIB", tmp_path / "lib")
    with pytest.raises(store_backup.BackupToolError, match=r"^pg_dump not found: install the PostgreSQL client"):
        store_backup.run_pg("pg_dump", "--version")
    for version in ("9.6", "16", "13"):  # the newest version's program, not the last in name order
        program = tmp_path / "lib" / version / "bin" / "pg_restore"
        program.parent.mkdir(parents=True)
        program.write_text(
            f"#!/bin/sh\necho 'pg_restore: error: version {version} says no' >&2\necho more >&2\nexit 1\n"
        )
        program.chmod(0o755)
    with pytest.raises(store_backup.BackupToolError) as refused:
        store_backup.run_pg("pg_restore", "--list", "x")
    assert str(refused.value) == "pg_restore failed: pg_restore: error: version 16 says no"


def test_a_folder_or_a_missing_file_is_refused(sqlite_store: Database, tmp_path: Path) -> None:
    with pytest.raises(RatingsError, match="is a folder"):
        backup(sqlite_store, tmp_path)
    with pytest.raises(RatingsError, match="no such folder"):
        backup(sqlite_store, tmp_path / "nowhere" / "b.tar")
    with pytest.raises(BackupFileError, match="no such file"):
        restore(sqlite_store, tmp_path / "nothing.tar")


def test_the_password_goes_into_a_private_passfile_never_onto_a_command_line(tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    url = make_url("postgresql+psycopg://ann:s%3Acr%5Cet@db.example:5433/votes?sslmode=require")
    conninfo = store_backup._conninfo(SimpleNamespace(engine=SimpleNamespace(url=url)), tmp_path)
    passfile = tmp_path / "pgpass"
    assert (
        conninfo == f"postgresql://ann@db.example:5433/votes?passfile={quote(str(passfile), safe='')}&sslmode=require"
    )
    assert passfile.read_text(encoding="utf-8") == "*:*:*:*:s\\:cr\\\\et\n"  # libpq's escapes for : and \
    assert passfile.stat().st_mode & 0o077 == 0
