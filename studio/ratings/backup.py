"""`studio ratings backup|restore`: the whole ratings store (database and rated images) in one archive file.

A backup is a tar file (gzip-compressed when its name ends in .gz or .tgz):
first `manifest.json` (kind of store, rows per table, migrations, studio
version, creation time, size and sha256 of every other member), then the
database dump (store_backup: taken from a live store) and the image files its
rows point at. It is written under a temporary name beside FILE and renamed, so
FILE is always either what it was or a whole backup.

A restore reads and checks the whole archive into a staging folder before it
touches the store; a damaged, truncated or foreign file changes nothing. The
store must be empty unless `force`; afterwards its counts are checked against
the manifest. A SQLite backup also restores into a PostgreSQL store (moving a
study onto a server); a PostgreSQL dump needs a PostgreSQL store.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

from studio.core.errors import StudioError
from studio.ratings import store_backup
from studio.ratings.schema import MIGRATIONS
from studio.ratings.store import Database, RatingsError
from studio.ratings.store_backup import BackupFileError

FORMAT, FORMAT_VERSION = "enhance-studio-ratings-backup", 1
MANIFEST = "manifest.json"
MANIFEST_LIMIT = 256 * 1024 * 1024
GZIP_SUFFIXES = (".gz", ".tgz")
BACKUP_SUFFIXES = (".tar", ".tar.gz", ".tgz")  # what a backup is named: a .zip name would hold a tar
SAFE_NAME = re.compile(r"(database|files)(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+")
HEADLINE = (("items", "item"), ("votes", "vote"), ("mos_scores", "MOS score"))
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Outcome:
    """What a backup wrote or a restore brought back."""

    path: Path
    manifest: dict[str, Any]
    counts: dict[str, int]
    files: int
    replaced: dict[str, int] | None = None  # what a forced restore replaced (None: the store was empty)


def describe(counts: dict[str, int], headline: tuple[tuple[str, str], ...] = HEADLINE) -> str:
    """'3 items, 12 votes, 1 MOS score': the rows people count."""
    numbers = [(counts.get(table, 0), word) for table, word in headline]
    return ", ".join(f"{number} {word}{'' if number == 1 else 's'}" for number, word in numbers)


def _version() -> str:
    try:
        return metadata.version("enhance-studio")
    except metadata.PackageNotFoundError:
        return "unknown"


def _failed(what: str, exc: OSError) -> StudioError:
    return StudioError(f"{what} failed: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""))


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


# ---- backup ----------------------------------------------------------------------------------
def backup(db: Database, target: Path, force: bool = False) -> Outcome:
    """Snapshot the live store and write it with its files and manifest to `target`, atomically. An existing
    file is replaced only when `force`: it may be the only copy of an earlier study."""
    if target.is_dir():
        raise RatingsError(f"{target} is a folder: name the backup file to write")
    if not target.name.lower().endswith(BACKUP_SUFFIXES):
        raise RatingsError(f"{target.name}: a backup is a tar archive: name it .tar, .tar.gz or .tgz")
    if not target.parent.is_dir():
        raise RatingsError(f"no such folder: {target.parent}")
    if target.exists() and not force:
        raise RatingsError(f"{target} exists: name a new file, or add --force to replace it")
    try:
        return _backup(db, target)
    except OSError as exc:  # a folder we may not write, a full disk, an unreadable image file
        raise _failed(f"backup to {target}", exc) from None


def _backup(db: Database, target: Path) -> Outcome:
    kind = store_backup.store_kind(db)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as work:
        folder = Path(work)
        snap = store_backup.snapshot(db, folder)
        members = {f"database/{snap.path.name}": snap.path}
        files = [name for name in snap.files if db.file_path(name).is_file() and _safe(f"files/{name}")]
        members.update({f"files/{name}": db.file_path(name) for name in files})
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "studio_version": _version(),
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": snap.counts,
            "files": len(files),
            "missing_files": sorted(set(snap.files) - set(files)),
            "migrations": snap.migrations,
            "database": f"database/{snap.path.name}",
            **snap.details,
            "members": {name: _digest(path) for name, path in members.items()},
        }
        part = folder / "backup.part"
        _write(part, manifest, members, gzipped=target.name.lower().endswith(GZIP_SUFFIXES))
        os.replace(part, target)
    return Outcome(target, manifest, snap.counts, len(files))


def _write(part: Path, manifest: dict[str, Any], members: dict[str, Path], gzipped: bool) -> None:
    body = json.dumps(manifest, indent=1).encode()
    now = time.time()
    with part.open("wb") as raw:
        options: dict[str, Any] = {"compresslevel": 6} if gzipped else {}
        with tarfile.open(fileobj=raw, mode="w:gz" if gzipped else "w", format=tarfile.PAX_FORMAT, **options) as tar:
            tar.addfile(_info(MANIFEST, len(body), now), io.BytesIO(body))
            for name, path in members.items():
                with path.open("rb") as handle:
                    tar.addfile(_info(name, manifest["members"][name]["size"], now), handle)
        raw.flush()
        os.fsync(raw.fileno())


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    return info


# ---- reading an archive --------------------------------------------------------------------------
def _safe(name: str) -> bool:
    return bool(SAFE_NAME.fullmatch(name)) and ".." not in name.split("/")


def _manifest(data: bytes, label: str) -> dict[str, Any]:
    """The manifest, checked field by field; anything off is 'not a ratings backup' or 'malformed'."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupFileError(f"{label} is not a ratings backup (its manifest is not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupFileError(f"{label} is not a ratings backup (`studio ratings backup` writes them)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupFileError(f"{label} was written by a newer studio (backup format {version}): upgrade to restore it")
    members, counts = manifest.get("members"), manifest.get("counts")
    good = (
        manifest.get("kind") in store_backup.KINDS
        and isinstance(counts, dict)
        and all(TABLE_NAME.fullmatch(str(k)) and isinstance(v, int) for k, v in counts.items())
        and isinstance(manifest.get("migrations"), list)
        and isinstance(manifest.get("missing_files"), list)
        and isinstance(manifest.get("files"), int)
        and all(isinstance(manifest.get(key), str) for key in ("created_at", "studio_version"))
        and isinstance(members, dict)
        and manifest.get("database") in members
        and all(
            _safe(name) and isinstance(m, dict) and isinstance(m.get("size"), int) and isinstance(m.get("sha256"), str)
            for name, m in members.items()
        )
    )
    if not good:
        raise BackupFileError(f"{label}: the manifest is malformed (a damaged or hand-edited backup)")
    return manifest


def _copy(source: BinaryIO, path: Path) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with path.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def read_archive(source: Path, staging: Path, kind: str) -> dict[str, Any]:
    """Every member into `staging`, each checked against the manifest's size and sha256; returns the manifest.

    The manifest comes first, so a backup this store cannot take is refused before anything else is read."""
    label = source.name
    try:
        with tarfile.open(source, "r:*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile() or first.size > MANIFEST_LIMIT:
                raise BackupFileError(f"{label} is not a ratings backup (it does not start with {MANIFEST})")
            manifest = _manifest(tar.extractfile(first).read(), label)  # type: ignore[union-attr]
            check_kind(manifest, kind, label)
            expected: dict[str, dict[str, Any]] = manifest["members"]
            seen: set[str] = set()
            while (member := tar.next()) is not None:  # iterating the TarFile would start again at the manifest
                name = member.name
                if name not in expected or name in seen or not member.isfile():
                    raise BackupFileError(f"{label} holds {name!r}, which its manifest does not list: a damaged backup")
                got = _copy(tar.extractfile(member), staging / name)  # type: ignore[arg-type]
                if got != {"size": expected[name]["size"], "sha256": expected[name]["sha256"]}:
                    raise BackupFileError(f"{label} is damaged: {name} does not match its checksum")
                seen.add(name)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")
        if "could not be opened" in reason:
            reason = "not a tar archive, plain or gzip-compressed"
        raise BackupFileError(f"{label} is not a readable ratings backup ({reason})") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupFileError(
            f"{label} is truncated: {len(missing)} of {len(expected)} members missing ({missing[0]}, ...)"
        )
    return manifest


def check_kind(manifest: dict[str, Any], kind: str, label: str) -> None:
    """Each kind into its own; a SQLite backup also into PostgreSQL (row by row), never the reverse."""
    made = manifest["kind"]
    if made != kind and made != store_backup.SQLITE:
        raise RatingsError(
            f"{label} is a backup of a PostgreSQL store and this store is SQLite: set STUDIO_DB_URL to a PostgreSQL "
            "database to restore it, or move the votes with `studio ratings export` and `studio ratings import`"
        )
    unknown = [name for name in manifest["migrations"] if name not in dict(MIGRATIONS)]
    if unknown:
        raise BackupFileError(f"{label} comes from a newer studio (schema {unknown[0]}): upgrade to restore it")


# ---- restore ---------------------------------------------------------------------------------
def restore(db: Database, source: Path, force: bool = False) -> Outcome:
    """Check the whole archive, then replace the (empty, unless `force`) store with it and verify the counts."""
    if not source.is_file():
        raise BackupFileError(f"no such file: {source}" if not source.exists() else f"not a file: {source}")
    try:
        return _restore(db, source, force)
    except OSError as exc:  # an unreadable file, a full disk under the data folder
        raise _failed(f"restore from {source}", exc) from None


def _restore(db: Database, source: Path, force: bool) -> Outcome:
    kind = store_backup.store_kind(db)
    db.files_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=db.files_dir.parent, prefix=".restore-") as work:
        staging = Path(work)
        manifest = read_archive(source, staging, kind)
        dump = staging / manifest["database"]
        if manifest["kind"] == store_backup.SQLITE:
            found = store_backup.check_sqlite_dump(dump, list(manifest["counts"]))
            if {k: found.get(k) for k in manifest["counts"]} != manifest["counts"]:
                raise BackupFileError(
                    f"{source.name} is damaged: its database does not hold the rows its manifest counts"
                )
        else:
            store_backup.check_pg_dump(dump)
        before = store_backup.store_contents(db)[0]
        held = {table: n for table, n in before.items() if n and table != "migrations"}
        if held and not force:
            raise RatingsError(
                f"the ratings store is not empty ({describe(before)}; {sum(held.values())} rows in all): restore "
                "goes into an empty store; --force replaces everything it holds"
            )
        store_backup.load(db, dump, manifest["kind"], staging)
        for name in manifest["members"]:
            if name.startswith("files/"):
                target = db.file_path(name.removeprefix("files/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
    db.migrate()  # a backup from an older studio: bring its schema up to date
    return _verified(db, source, manifest, before if held else None)


def _verified(db: Database, source: Path, manifest: dict[str, Any], replaced: dict[str, int] | None) -> Outcome:
    """The restored store's rows and files against the manifest; a difference is an error, not a note."""
    counts, _, files = store_backup.store_contents(db)
    expected = {table: n for table, n in manifest["counts"].items() if table != "migrations"}  # migrate() may add
    differ = [f"{t}: {counts.get(t)} (backup {n})" for t, n in expected.items() if counts.get(t) != n]
    present = [name for name in files if db.file_path(name).is_file()]
    if len(files) - len(present) != len(manifest["missing_files"]):
        differ.append(f"files: {len(present)} of {len(files)} present (backup {manifest['files']})")
    if differ:
        raise StudioError(f"restored {source.name}, but the store does not match its manifest: {'; '.join(differ)}")
    return Outcome(source, manifest, counts, len(present), replaced)
