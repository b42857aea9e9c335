"""The long-lived objects one process shares: settings, registry, loader (and its cache), ratings, speed book,
rate limits.

app.py and the CLI build one of these; the UI receives it rather than reaching
for globals.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from studio.core.config import Settings
from studio.core.ratelimit import FAILED_LOGINS, LOGINS, RUNS, VOTES, Rate, RateLimiter
from studio.models.loader import Loader
from studio.models.registry import Registry, load_registry

if TYPE_CHECKING:
    from studio.engine.prefetch import Prefetch
    from studio.engine.speed import SpeedBook
    from studio.ratings.store import Database


@dataclass
class Services:
    settings: Settings
    registry: Registry = field(init=False)
    loader: Loader = field(init=False)
    limits: RateLimiter = field(init=False, repr=False)  # the web app's runs, votes and failed logins per minute
    prefetch: Prefetch | None = field(init=False, default=None, repr=False)  # the web app's start-up prefetch, if any

    _ratings: Database | None = field(init=False, default=None, repr=False)
    _ratings_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _speed: SpeedBook | None = field(init=False, default=None, repr=False)
    _speed_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.registry = load_registry(self.settings)
        self.loader = Loader(self.settings)
        rates = {RUNS: self.settings.rate_runs, VOTES: self.settings.rate_votes, LOGINS: Rate(0, FAILED_LOGINS)}
        self.limits = RateLimiter(rates)

    @property
    def ratings(self) -> Database:
        """The ratings database, opened (and migrated) on first use: SQLite under STUDIO_DATA_DIR or STUDIO_DB_URL."""
        with self._ratings_lock:
            if self._ratings is None:
                from studio.ratings.store import Database, sqlite_url

                folder = self.settings.data_dir / "ratings"
                self._ratings = Database(self.settings.db_url or sqlite_url(folder), folder / "files")
            return self._ratings

    def forget_ratings_store(self) -> None:
        """Close the ratings database and remove its SQLite file (and journal files): for a store this process
        created only to restore into, when that restore failed. A STUDIO_DB_URL database is never removed."""
        from studio.ratings.store import sqlite_file

        with self._ratings_lock:
            if self._ratings is not None:
                self._ratings.dispose()
                self._ratings = None
        if self.settings.db_url:
            return
        folder = self.settings.data_dir / "ratings"
        database = sqlite_file(folder)
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            path.unlink(missing_ok=True)
        for empty in (folder / "files", folder):  # the folders it made, when nothing else is in them
            with contextlib.suppress(OSError):
                empty.rmdir()

    def ratings_if_any(self) -> Database | None:
        """The ratings database when there is one to read (STUDIO_DB_URL, or the SQLite file exists), else None:
        a reader such as `studio report` never creates an empty store."""
        from studio.ratings.store import sqlite_file

        folder = self.settings.data_dir / "ratings"
        if self._ratings is None and not self.settings.db_url and not sqlite_file(folder).is_file():
            return None
        return self.ratings

    @property
    def speed(self) -> SpeedBook:
        """The measured speed of each model form on this machine (STUDIO_DATA_DIR/speed.json), read on first use."""
        with self._speed_lock:
            if self._speed is None:
                from studio.engine.speed import SpeedBook

                self._speed = SpeedBook(self.settings.data_dir / "speed.json", self.registry, self.loader)
            return self._speed

    @classmethod
    def with_threads(cls, settings: Settings, threads: int) -> Services:
        """A worker's Services (a Ray actor's): the driver's settings on the worker's share of the CPUs."""
        return cls(replace(settings, threads=threads))

    @classmethod
    def from_env(cls) -> Services:
        return cls(Settings.from_env())
