"""What a rater is shown: the least-voted pairs first, random sides, nothing that names a model;
MOS with a hidden reference, and the raters it exposes."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re

import pandas as pd
import pytest

from studio.ratings.leaderboard import low_reference_raters
from studio.ratings.store import Database, RatingsError
from studio.ratings.store_arena import Battle, cast_vote, draw_battle, reveal
from studio.ratings.store_items import add_item, create_round
from studio.ratings.store_mos import REFERENCE, draw_mos, score_mos
from studio.ratings.store_transfer import scores_frame
from tests.ratings.helpers import MODELS, OPEN, input_bytes, output_bytes, seed

HASHED_PATH = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.png$")


def pair_of(db: Database, battle: Battle, rater: str) -> frozenset[str]:
    return frozenset(reveal(db, battle.id, rater))


def test_the_least_voted_pair_comes_first(sqlite_store: Database) -> None:
    """One item, three models, three pairs: a voted pair is not drawn again while others have fewer votes."""
    seed(sqlite_store)
    rng = random.Random(7)
    first = draw_battle(sqlite_store, "rater-1", None, OPEN, rng=rng)
    voted = cast_vote(sqlite_store, first.id, "rater-1", "a", OPEN)
    done = {frozenset((voted.model_a, voted.model_b))}
    drawn = {pair_of(sqlite_store, draw_battle(sqlite_store, f"r{n}", None, OPEN, rng=rng), f"r{n}") for n in range(12)}
    assert not drawn & done
    assert len(drawn) == 2  # both unvoted pairs come up
    # Vote on a second pair: now only the third is drawn.
    second = draw_battle(sqlite_store, "rater-1", None, OPEN, rng=rng)
    voted = cast_vote(sqlite_store, second.id, "rater-1", "b", OPEN)
    done.add(frozenset((voted.model_a, voted.model_b)))
    drawn = {pair_of(sqlite_store, draw_battle(sqlite_store, f"s{n}", None, OPEN, rng=rng), f"s{n}") for n in range(8)}
    assert len(drawn) == 1 and not drawn & done
    assert drawn | done == {frozenset(pair) for pair in [MODELS[:2], MODELS[1:], MODELS[::2]]}


def test_left_and_right_are_random(sqlite_store: Database) -> None:
    seed(sqlite_store, models=MODELS[:2])
    lefts = [reveal(sqlite_store, draw_battle(sqlite_store, "r", None, OPEN).id, "r")[0] for _ in range(80)]
    share = lefts.count(MODELS[0]) / len(lefts)
    assert 0.25 < share < 0.75, share  # outside with fair coin flips: about 1 run in 100,000


def test_a_battle_names_no_model(sqlite_store: Database) -> None:
    seed(sqlite_store)
    battle = draw_battle(sqlite_store, "rater-1", None, OPEN)
    assert {field.name for field in dataclasses.fields(Battle)} == {
        "id",
        "item_id",
        "left_path",
        "right_path",
        "input_path",
        "shown_at",
    }
    text = repr(battle).lower()
    assert not any(model in text or model.split("-")[0] in text for model in MODELS)
    for path in (battle.left_path, battle.right_path, battle.input_path):
        assert HASHED_PATH.match(path), path
        data = sqlite_store.file_path(path).read_bytes()
        assert path.split("/")[1] == hashlib.sha256(data).hexdigest() + ".png"  # named by content, nothing else
    shown = {sqlite_store.file_path(p).read_bytes() for p in (battle.left_path, battle.right_path)}
    assert shown <= {output_bytes(0, model) for model in MODELS}
    assert sqlite_store.file_path(battle.input_path).read_bytes() == input_bytes(0)


def test_draws_can_keep_to_a_task_or_round(sqlite_store: Database) -> None:
    seed(sqlite_store, task="sr")
    round_id = create_round(sqlite_store, "denoise round", "denoise", list(MODELS[:2]), None)
    denoise_item = add_item(
        sqlite_store, b"noisy", {m: m.encode() for m in MODELS[:2]}, "denoise", "noisy", round_id=round_id
    )
    assert create_round(sqlite_store, "denoise round", "denoise", [], None) == round_id  # a name is one round
    for _ in range(5):
        assert draw_battle(sqlite_store, "r", None, OPEN, task="denoise").item_id == denoise_item
        assert draw_battle(sqlite_store, "r", None, OPEN, round_name="denoise round").item_id == denoise_item
        assert draw_battle(sqlite_store, "r", None, OPEN, task="sr").item_id != denoise_item


def test_nothing_to_rate_says_so(sqlite_store: Database) -> None:
    with pytest.raises(RatingsError, match="nothing to rate yet"):
        draw_battle(sqlite_store, "r", None, OPEN)
    with pytest.raises(RatingsError, match="nothing to rate yet"):
        draw_mos(sqlite_store, "r")
    seed(sqlite_store, models=MODELS[:1])  # one output per item: no pair
    with pytest.raises(RatingsError, match="nothing to rate yet"):
        draw_battle(sqlite_store, "r", None, OPEN)


# ---- MOS -----------------------------------------------------------------------------------


def test_mos_draws_the_least_scored_output_first(sqlite_store: Database) -> None:
    seed(sqlite_store)
    seen = []
    for n in range(len(MODELS)):
        task = draw_mos(sqlite_store, "r", rng=random.Random(n))
        seen.append(score_mos(sqlite_store, task.id, "r", 3, now=task.shown_at + 5))
    assert sorted(seen) == sorted(MODELS)  # each once before any twice


def test_the_hidden_reference_shows_the_input(sqlite_store: Database) -> None:
    item_id = seed(sqlite_store)[0]
    input_path = sqlite_store.store_file(input_bytes(0))  # the same content: the same path
    task = draw_mos(sqlite_store, "rater-1", reference_rate=1.0)
    assert task.item_id == item_id and task.path == input_path
    assert score_mos(sqlite_store, task.id, "rater-1", 5, now=task.shown_at + 5) == REFERENCE
    plain = draw_mos(sqlite_store, "rater-1", reference_rate=0.0)
    assert plain.path != input_path
    score_mos(sqlite_store, plain.id, "rater-1", 2, now=plain.shown_at + 5)
    scores = scores_frame(sqlite_store).set_index("model")
    assert bool(scores.loc[REFERENCE, "hidden_reference"]) is True
    assert scores.loc[REFERENCE, "score"] == 5
    assert not scores.drop(index=REFERENCE)["hidden_reference"].astype(bool).any()


def test_raters_who_mark_down_the_reference_are_flagged(sqlite_store: Database) -> None:
    seed(sqlite_store)
    given = {"careless": [1, 2, 2], "careful": [5, 4, 5], "once": [1]}
    for rater, scores in given.items():
        for score in scores:
            task = draw_mos(sqlite_store, rater, reference_rate=1.0)
            score_mos(sqlite_store, task.id, rater, score, now=task.shown_at + 5)
    flagged = low_reference_raters(scores_frame(sqlite_store))
    assert list(flagged["rater"]) == ["careless"]
    assert flagged.loc[0, "reference_scores"] == 3
    assert flagged.loc[0, "reference_mean"] == pd.Series([1, 2, 2]).mean()
