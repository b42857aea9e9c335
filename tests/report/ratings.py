"""A real SQLite ratings store filled through the store's own API: blind battles drawn and voted on by a
rater who always prefers the model ranked higher, and MOS scores, for the report's ratings section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from studio.core.config import Settings
from studio.ratings.store import Database
from studio.ratings.store_arena import ArenaPolicy, cast_vote, draw_battle
from studio.ratings.store_items import add_item
from studio.ratings.store_mos import draw_mos, score_mos
from studio.services import Services
from tests.ratings.helpers import OPEN

SLOW_VIEW = ArenaPolicy(min_view_s=3600.0, votes_per_minute_session=1_000_000, votes_per_minute_ip=1_000_000)


def open_store(data_dir: Path) -> Database:
    """The store `studio` opens with STUDIO_DATA_DIR=data_dir (SQLite under data_dir/ratings), created."""
    return Services(Settings.from_env({"STUDIO_DATA_DIR": str(data_dir)})).ratings


def add_outputs(db: Database, name: str, models: Sequence[str]) -> dict[str, str]:
    """One item with an output per model (the store keeps bytes by hash); returns stored file -> model."""
    outputs = {model: f"{name}: output of {model}".encode() for model in models}
    add_item(db, f"{name}: input".encode(), outputs, task="super-resolution", name=name)
    return {db.store_file(data): model for model, data in outputs.items()}  # the same bytes: the same file


def vote(db: Database, files: Mapping[str, str], preference: Sequence[str], policy: ArenaPolicy = OPEN) -> str:
    """Draw a battle (the pair with the fewest votes) and vote for the model earlier in `preference`
    (a model not in it loses; `preference` reversed for a contrary vote); returns the winning model."""
    battle = draw_battle(db, "rater-1", "10.0.0.1", policy)
    left, right = files[battle.left_path], files[battle.right_path]
    rank = {model: index for index, model in enumerate(preference)}
    left_wins = rank.get(left, len(rank)) < rank.get(right, len(rank))
    cast_vote(db, battle.id, "rater-1", "a" if left_wins else "b", policy)
    return left if left_wins else right


def score_every_output(db: Database, files: Mapping[str, str], scores: Mapping[str, int]) -> None:
    """One MOS score for each stored output (drawn fewest-scored first), by model."""
    for _ in range(len(files)):
        task = draw_mos(db, "rater-2")
        score_mos(db, task.id, "rater-2", scores[files[task.path]], min_view_s=0.0)
