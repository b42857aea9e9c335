"""Many writers at once, and a writer killed mid-transaction: every accepted vote is stored, nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import pytest

from studio.ratings.store import Database, sqlite_url
from studio.ratings.store_arena import cast_vote, draw_battle
from studio.ratings.store_transfer import votes_frame
from tests.environment import clean_env
from tests.paths import REPO_ROOT
from tests.ratings.helpers import OPEN, row_count, seed

THREADS, VOTES_EACH = 50, 3


def test_many_raters_at_once(store: Database) -> None:
    """50 threads, each its own rater, draw and vote 3 times, all starting together."""
    seed(store, items=3)
    start = threading.Barrier(THREADS)
    accepted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def rater(number: int) -> None:
        start.wait()
        for _ in range(VOTES_EACH):
            try:
                battle = draw_battle(store, f"rater-{number}", f"10.0.{number}.1", OPEN)
                vote = cast_vote(store, battle.id, f"rater-{number}", "a", OPEN, ip=f"10.0.{number}.1")
            except Exception:
                with lock:
                    errors.append(traceback.format_exc(limit=1))
            else:
                with lock:
                    accepted.append(vote.vote_id)

    threads = [threading.Thread(target=rater, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []  # no "database is locked", no deadlock, no refusal
    assert len(accepted) == THREADS * VOTES_EACH
    stored = votes_frame(store, include_flagged=True)
    assert sorted(stored["vote_id"]) == sorted(accepted)
    assert row_count(store, "battles") == THREADS * VOTES_EACH
    assert row_count(store, "raters") == THREADS
    assert (stored["flags"] == "").all()


def test_one_rater_in_many_tabs(store: Database) -> None:
    """A new session drawing from 10 tabs at once is recorded once (no duplicate-key error)."""
    seed(store)
    start, errors = threading.Barrier(10), []

    def tab() -> None:
        start.wait()
        try:
            draw_battle(store, "fresh-session", None, OPEN)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=tab) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert row_count(store, "raters") == 1 and row_count(store, "battles") == 10


CHILD = """
import sys
from pathlib import Path
from studio.ratings.store import Database
from studio.ratings.store_arena import ArenaPolicy, cast_vote, draw_battle

db = Database(sys.argv[1], Path(sys.argv[2]))
policy = ArenaPolicy(min_view_s=0.0, votes_per_minute_session=10**9, votes_per_minute_ip=10**9)
print("ready", flush=True)
number = 0
while True:
    rater = f"child-{number % 5}"
    battle = draw_battle(db, rater, None, policy)
    vote = cast_vote(db, battle.id, rater, "tie", policy)
    print(vote.vote_id, flush=True)  # only after the commit returned
    number += 1
"""


@pytest.mark.slow  # starts subprocesses
def test_a_writer_killed_mid_run_loses_no_committed_vote(tmp_path: Path) -> None:
    """SIGKILL a process that writes votes in a loop, three times; reopen; check the file and the votes."""
    url, files = sqlite_url(tmp_path / "db"), tmp_path / "files"
    db = Database(url, files)
    seed(db, items=2)
    db.dispose()
    reported: list[str] = []
    for cycle, kill_after in enumerate((5, 23, 41)):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(files)],
            cwd=REPO_ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
            for _ in range(kill_after):
                line = child.stdout.readline().strip()
                assert line, child.stderr.read() if child.stderr else "the writer stopped"
                reported.append(line)
            os.kill(child.pid, signal.SIGKILL)  # the child is writing its next vote by now
            remaining, _ = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL
        reported += [line for line in remaining.splitlines() if line]  # printed before the kill, read after
        assert Path(str(tmp_path / "db" / "ratings.sqlite3") + "-wal").exists()  # a WAL left behind to recover
        reopened = Database(url, files)
        try:
            assert reopened.applied == []
            with reopened.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            stored = set(votes_frame(reopened, include_flagged=True)["vote_id"])
        finally:
            reopened.dispose()
        assert set(reported) <= stored, "a vote reported as committed is missing"
        # At most one vote per kill was committed but not printed (killed between the two).
        assert len(stored) - len(reported) <= cycle + 1
    assert len(set(reported)) == len(reported) >= 5 + 23 + 41
