"""Export and import: frames, CSV and JSON, merging without duplicates, placeholders (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from studio.ratings.store import Database, content_id
from studio.ratings.store_arena import ArenaPolicy, cast_vote, draw_battle
from studio.ratings.store_items import add_item, create_round
from studio.ratings.store_transfer import EXPORT_COLUMNS, export_votes, import_votes, votes_frame
from tests.ratings.helpers import OPEN, input_bytes, row_count, seed

KEPT = [column for column in EXPORT_COLUMNS if column != "ip"]  # addresses stay on the machine that saw them


def vote_some(db: Database, count: int, policy: ArenaPolicy = OPEN) -> list[str]:
    ids = []
    for number, winner in zip(range(count), ["a", "b", "tie", "both_bad"] * count, strict=False):
        battle = draw_battle(db, f"rater-{number % 3}", "192.0.2.7", policy)
        ids.append(cast_vote(db, battle.id, f"rater-{number % 3}", winner, policy, ip="192.0.2.7").vote_id)
    return ids


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_elsewhere_and_back(
    store: Database, new_store: Callable[[], Database], tmp_path: Path, fmt: str
) -> None:
    round_id = create_round(store, "spring", "sr", ["realesrgan-x4", "bicubic"], None)
    add_item(store, input_bytes(0), {"realesrgan-x4": b"x", "bicubic": b"y"}, "sr", "image 0", round_id=round_id)
    vote_some(store, 5)
    fast = draw_battle(store, "hasty", None, ArenaPolicy())
    cast_vote(store, fast.id, "hasty", "a", ArenaPolicy())  # too fast: exported with its flag
    path = tmp_path / f"votes.{fmt}"
    path.write_text(export_votes(store, fmt), encoding="utf-8")

    other = new_store()
    assert import_votes(other, path) == (6, 0)
    assert import_votes(other, path) == (0, 6)  # merging the same file again adds nothing
    assert import_votes(store, path) == (0, 6)  # nor does bringing it home
    mine, theirs = votes_frame(store, include_flagged=True), votes_frame(other, include_flagged=True)
    pd.testing.assert_frame_equal(
        mine[KEPT].sort_values("vote_id", ignore_index=True),
        theirs[KEPT].sort_values("vote_id", ignore_index=True),
        check_dtype=False,
    )
    assert set(mine["round"]) == {"spring"} and set(mine["task"]) == {"sr"}
    assert theirs["ip"].isna().all()
    assert len(votes_frame(other)) == 5  # the flagged vote stays out of the leaderboard there too
    assert row_count(other, "items") == 1  # a placeholder for the one item
    assert row_count(store, "votes") == 6


def test_export_formats(store: Database) -> None:
    seed(store)
    ids = vote_some(store, 2)
    lines = export_votes(store, "csv").splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)
    assert len(lines) == 3
    records = json.loads(export_votes(store, "json"))
    assert [record["vote_id"] for record in records] == ids and set(records[0]) == set(EXPORT_COLUMNS)
    assert records[0]["round"] is None  # no NaN in JSON
    with pytest.raises(ValueError, match="csv or json"):
        export_votes(store, "xml")
    empty = votes_frame(store, task="denoise")
    assert empty.empty and list(empty.columns) == list(EXPORT_COLUMNS)


def test_a_minimal_file_imports_once_and_makes_placeholders(store: Database, tmp_path: Path) -> None:
    path = tmp_path / "from-a-spreadsheet.csv"
    path.write_text(
        "item_id,model_a,model_b,winner\nphoto-1,x,y,a\nphoto-1,y,x,tie\nphoto-2,x,y,both_bad\n", encoding="utf-8"
    )
    assert import_votes(store, path) == (3, 0)
    assert import_votes(store, path) == (0, 3)  # ids derived from the content
    frame = votes_frame(store)
    assert sorted(frame["winner"]) == ["a", "both_bad", "tie"]
    assert all(vote_id.startswith("imported-") for vote_id in frame["vote_id"])
    assert row_count(store, "items") == 2


def test_an_imported_item_gets_its_images_later(store: Database, tmp_path: Path) -> None:
    """Votes from another machine name an item by content id; when its images arrive it stops being a placeholder."""
    from sqlalchemy import select

    item_id = content_id(input_bytes(0), "")  # what add_item calls this input (no round)
    path = tmp_path / "votes.json"
    path.write_text(json.dumps([{"item_id": item_id, "model_a": "x", "model_b": "y", "winner": "a"}]))
    assert import_votes(store, path) == (1, 0)
    items = store.tables["items"]
    with store.engine.connect() as connection:
        assert connection.execute(select(items.c.placeholder).where(items.c.id == item_id)).scalar_one() is True
    assert add_item(store, input_bytes(0), {"x": b"1", "y": b"2"}, "sr", "image 0") == item_id
    with store.engine.connect() as connection:
        row = connection.execute(select(items).where(items.c.id == item_id)).one()
    assert row.placeholder is False and row.input_path is not None and row.name == "image 0"
    assert draw_battle(store, "rater-1", None, OPEN).input_path == row.input_path
