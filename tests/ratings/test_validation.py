"""Every refusal says why in one line and leaves the store exactly as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.ratings.store import Database, RatingsError
from studio.ratings.store_arena import ArenaPolicy, cast_vote, draw_battle, reveal
from studio.ratings.store_mos import draw_mos, score_mos
from studio.ratings.store_transfer import export_votes, import_votes, scores_frame, votes_frame
from tests.ratings.helpers import MODELS, OPEN, seed, snapshot


def refused(db: Database, message: str, action: Callable[..., object], *args: object, **kwargs: object) -> None:
    """`action` raises RatingsError matching `message` (a regular expression) and nothing stored changes."""
    call = f"{action.__name__}{args[1:]}{kwargs or ''}"  # args[0] is the store
    before = snapshot(db)
    try:
        action(*args, **kwargs)
    except RatingsError as exc:
        assert re.search(message, str(exc)), f"{call}: {exc!r} does not say {message!r}"
        assert "\n" not in str(exc), f"{call}: not one line: {exc!r}"
    else:
        pytest.fail(f"{call} was accepted")
    assert snapshot(db) == before, f"{call} changed the store"


@pytest.fixture
def seeded(store: Database) -> Database:
    seed(store)
    return store


# ---- votes -------------------------------------------------------------------------------------


def test_a_replayed_vote_is_refused(seeded: Database) -> None:
    battle = draw_battle(seeded, "rater-1", "10.0.0.1", OPEN)
    first = cast_vote(seeded, battle.id, "rater-1", "a", OPEN, ip="10.0.0.1")
    refused(seeded, "already has a vote", cast_vote, seeded, battle.id, "rater-1", "a", OPEN, ip="10.0.0.1")
    refused(seeded, "already has a vote", cast_vote, seeded, battle.id, "rater-1", "b", OPEN)
    assert list(votes_frame(seeded)["vote_id"]) == [first.vote_id]


def test_a_vote_for_a_battle_never_shown_is_refused(seeded: Database) -> None:
    draw_battle(seeded, "rater-1", None, OPEN)
    refused(seeded, "unknown battle", cast_vote, seeded, "0" * 32, "rater-1", "a", OPEN)
    refused(seeded, "unknown battle", cast_vote, seeded, "not-an-id", "rater-1", "tie", OPEN)
    assert votes_frame(seeded, include_flagged=True).empty


def test_a_vote_by_another_rater_is_refused(seeded: Database) -> None:
    battle = draw_battle(seeded, "rater-1", None, OPEN)
    draw_battle(seeded, "rater-2", None, OPEN)  # rater-2 exists, but was shown another battle
    refused(seeded, "not shown to you", cast_vote, seeded, battle.id, "rater-2", "a", OPEN)
    refused(seeded, "not shown to you", cast_vote, seeded, battle.id, "someone-new", "a", OPEN)
    # The rightful rater still can.
    assert cast_vote(seeded, battle.id, "rater-1", "a", OPEN).winner == "a"


def test_a_vote_after_the_reveal_is_refused(seeded: Database) -> None:
    battle = draw_battle(seeded, "rater-1", None, OPEN)
    left, right = reveal(seeded, battle.id, "rater-1")
    assert {left, right} <= {"realesrgan-x4", "waifu2x-cunet", "bicubic"} and left != right
    refused(seeded, "already revealed", cast_vote, seeded, battle.id, "rater-1", "a", OPEN)
    # Revealing someone else's battle tells nothing.
    refused(seeded, "unknown battle", reveal, seeded, battle.id, "rater-2")


def test_a_vote_on_an_expired_battle_is_refused(seeded: Database) -> None:
    policy = ArenaPolicy(min_view_s=0.0, expire_s=60.0)
    battle = draw_battle(seeded, "rater-1", None, policy)
    refused(seeded, "expired", cast_vote, seeded, battle.id, "rater-1", "a", policy, now=battle.shown_at + 60.5)
    assert cast_vote(seeded, battle.id, "rater-1", "a", policy, now=battle.shown_at + 59.5).flags == ""


def test_a_winner_outside_the_four_choices_is_refused(seeded: Database) -> None:
    battle = draw_battle(seeded, "rater-1", None, OPEN)
    for winner in ["left", "A", "", "draw", None, 1]:
        refused(seeded, "one of a, b, tie, both_bad", cast_vote, seeded, battle.id, "rater-1", winner, OPEN)
    assert cast_vote(seeded, battle.id, "rater-1", "tie", OPEN).winner == "tie"


def test_every_valid_winner_is_stored(seeded: Database) -> None:
    for number, winner in enumerate(["a", "b", "tie", "both_bad"]):
        battle = draw_battle(seeded, f"rater-{number}", None, OPEN)
        assert cast_vote(seeded, battle.id, f"rater-{number}", winner, OPEN).winner == winner
    assert sorted(votes_frame(seeded)["winner"]) == ["a", "b", "both_bad", "tie"]


def test_too_fast_votes_are_kept_flagged_and_left_out(seeded: Database) -> None:
    policy = ArenaPolicy(min_view_s=2.0)
    fast = draw_battle(seeded, "rater-1", None, policy)
    fast_vote = cast_vote(seeded, fast.id, "rater-1", "a", policy, now=fast.shown_at + 0.5)
    slow = draw_battle(seeded, "rater-1", None, policy)
    slow_vote = cast_vote(seeded, slow.id, "rater-1", "b", policy, now=slow.shown_at + 2.5)
    assert (fast_vote.flags, slow_vote.flags) == ("too_fast", "")
    assert list(votes_frame(seeded)["vote_id"]) == [slow_vote.vote_id]
    everything = votes_frame(seeded, include_flagged=True).set_index("vote_id")
    assert everything.loc[fast_vote.vote_id, "flags"] == "too_fast"
    assert len(everything) == 2
    exported = json.loads(export_votes(seeded, "json"))
    assert {row["vote_id"]: row["flags"] for row in exported} == {fast_vote.vote_id: "too_fast", slow_vote.vote_id: ""}
    assert "too_fast" in export_votes(seeded, "csv")


def test_the_session_rate_limit_says_slow_down(seeded: Database) -> None:
    policy = ArenaPolicy(min_view_s=0.0, votes_per_minute_session=3, votes_per_minute_ip=1000)
    battles = [draw_battle(seeded, "eager", "10.0.0.1", policy) for _ in range(4)]
    for battle in battles[:3]:
        cast_vote(seeded, battle.id, "eager", "a", policy, ip="10.0.0.1")
    refused(seeded, "slow down", cast_vote, seeded, battles[3].id, "eager", "a", policy, ip="10.0.0.1")
    # A minute later the same battle takes the vote.
    assert cast_vote(seeded, battles[3].id, "eager", "a", policy, ip="10.0.0.1", now=battles[3].shown_at + 61)


def test_the_address_rate_limit_says_slow_down(seeded: Database) -> None:
    policy = ArenaPolicy(min_view_s=0.0, votes_per_minute_session=1000, votes_per_minute_ip=3)
    for number in range(3):
        battle = draw_battle(seeded, f"rater-{number}", "10.0.0.9", policy)
        cast_vote(seeded, battle.id, f"rater-{number}", "a", policy, ip="10.0.0.9")
    crowded = draw_battle(seeded, "rater-3", "10.0.0.9", policy)
    refused(seeded, "slow down.*address", cast_vote, seeded, crowded.id, "rater-3", "a", policy, ip="10.0.0.9")
    # Another address is not held back.
    elsewhere = draw_battle(seeded, "rater-4", "10.0.0.10", policy)
    assert cast_vote(seeded, elsewhere.id, "rater-4", "a", policy, ip="10.0.0.10")


def test_a_double_submitted_vote_is_stored_once(store: Database) -> None:
    """Eight requests for one battle at the same moment: one vote, seven clear refusals, no database errors."""
    seed(store)
    battle = draw_battle(store, "rater-1", None, OPEN)
    start, outcomes = threading.Barrier(8), []

    def submit() -> None:
        start.wait()
        try:
            outcomes.append(cast_vote(store, battle.id, "rater-1", "a", OPEN).vote_id)
        except RatingsError as exc:
            outcomes.append(str(exc))
        except Exception as exc:  # a database error instead of a refusal is the failure this test is for
            outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = list(votes_frame(store)["vote_id"])
    assert len(stored) == 1
    assert sorted(outcomes) == sorted([stored[0]] + ["this battle already has a vote"] * 7)


def test_an_over_long_rater_id_is_refused(seeded: Database) -> None:
    refused(seeded, "rater id is too long", draw_battle, seeded, "x" * 65, None, OPEN)


# ---- MOS ---------------------------------------------------------------------------------------


def test_a_mos_outside_one_to_five_is_refused(seeded: Database) -> None:
    task = draw_mos(seeded, "rater-1")
    for score in [0, 6, math.nan, 3.5, "good", "", None, True, -1, math.inf]:
        refused(seeded, "whole number from 1 to 5", score_mos, seeded, task.id, "rater-1", score)
    assert score_mos(seeded, task.id, "rater-1", 4, now=task.shown_at + 5) in MODELS
    assert list(scores_frame(seeded)["score"]) == [4]


def test_mos_checks_the_task_like_a_vote(seeded: Database) -> None:
    task = draw_mos(seeded, "rater-1", expire_s=60)
    refused(seeded, "not shown to you", score_mos, seeded, task.id, "rater-2", 3)
    refused(seeded, "not shown to you", score_mos, seeded, "0" * 32, "rater-1", 3)
    refused(seeded, "expired", score_mos, seeded, task.id, "rater-1", 3, now=task.shown_at + 61)
    score_mos(seeded, task.id, "rater-1", 3, now=task.shown_at + 5)
    refused(seeded, "already has your score", score_mos, seeded, task.id, "rater-1", 5, now=task.shown_at + 6)


# ---- imports -----------------------------------------------------------------------------------

GOOD_ROW = "item-1,realesrgan-x4,bicubic,a"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_IMPORTS = [
    (
        "winner.csv",
        f"item_id,model_a,model_b,winner\n{GOOD_ROW}\nitem-2,realesrgan-x4,bicubic,left\n",
        "winner.csv line 3: winner must be one of a, b, tie, both_bad, not 'left'",
    ),
    (
        "upper.csv",
        f"item_id,model_a,model_b,winner\n{GOOD_ROW}\nitem-2,realesrgan-x4,bicubic,A\n",
        "line 3: winner must be one of",
    ),
    ("columns.csv", "item_id,model_a,winner\nitem-1,realesrgan-x4,a\n", "missing column\\(s\\) model_b"),
    ("nothing.csv", "", "cannot read votes"),
    (
        "empty_cell.csv",
        f"item_id,model_a,model_b,winner\n{GOOD_ROW}\n,realesrgan-x4,bicubic,a\n",
        "item_id is empty",
    ),
    ("same.csv", "item_id,model_a,model_b,winner\nitem-1,bicubic,bicubic,tie\n", "the same model"),
    (
        "time.csv",
        f"item_id,model_a,model_b,winner,voted_at\n{GOOD_ROW},yesterday\n",
        "voted_at must be seconds since the epoch",
    ),
    ("long.csv", f"item_id,model_a,model_b,winner\n{'i' * 33},realesrgan-x4,bicubic,a\n", "item_id is too long"),
    (
        "winner.json",
        json.dumps(
            [
                {"item_id": "i", "model_a": "x", "model_b": "y", "winner": "a"},
                {"item_id": "i", "model_a": "x", "model_b": "y", "winner": "x"},
            ]
        ),
        "winner.json line 3: winner must be one of",
    ),
    (
        "columns.json",
        json.dumps([{"item_id": "i", "model_a": "x", "winner": "a"}]),
        "missing column\\(s\\) model_b",
    ),
    ("object.json", json.dumps({"votes": []}), "^object.json: expected a JSON list of votes$"),
    ("broken.json", "[{", "cannot read votes"),
]


def test_a_bad_import_stores_nothing(seeded: Database, tmp_path: Path) -> None:
    """Each file is checked whole before anything is written: a bad last line keeps the good ones out too."""
    battle = draw_battle(seeded, "rater-1", None, OPEN)
    cast_vote(seeded, battle.id, "rater-1", "a", OPEN)
    for name, text, message in BAD_IMPORTS:
        refused(seeded, message, import_votes, seeded, write(tmp_path, name, text))


def test_an_import_of_a_missing_file_is_refused(seeded: Database, tmp_path: Path) -> None:
    refused(seeded, "no such file", import_votes, seeded, tmp_path / "absent.csv")
