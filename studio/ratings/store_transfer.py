"""Votes and scores out of and into the store: frames for the leaderboard, CSV/JSON export, import.

Votes carry a stable id, so files from several machines merge without
duplicates. An import needs only item_id, model_a, model_b and winner; a row
without vote_id gets an id derived from its content (and how many identical rows
precede it), so importing the same file twice adds nothing. Items the store does not know become placeholders.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

from studio.ratings.store import Database, RatingsError, check_length, content_id
from studio.ratings.store_arena import WINNERS
from studio.ratings.store_items import ensure_placeholder

REQUIRED = ("item_id", "model_a", "model_b", "winner")
OPTIONAL = ("vote_id", "rater", "round", "task", "shown_at", "voted_at", "flags")
EXPORT_COLUMNS = ("vote_id", *REQUIRED, *OPTIONAL[1:], "ip")


def votes_frame(
    db: Database, task: str | None = None, round_name: str | None = None, include_flagged: bool = False
) -> pd.DataFrame:
    """Every stored vote as a frame (vote_id first); flagged votes only when asked."""
    from sqlalchemy import select

    votes = db.tables["votes"]
    query = select(votes).order_by(votes.c.voted_at, votes.c.id)
    if task:
        query = query.where(votes.c.task == task)
    if round_name:
        query = query.where(votes.c.round == round_name)
    if not include_flagged:
        query = query.where(votes.c.flags == "")
    with db.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    frame = pd.DataFrame(rows, columns=[c.name for c in votes.columns])
    return frame.rename(columns={"id": "vote_id"})[list(EXPORT_COLUMNS)]


def scores_frame(db: Database, include_flagged: bool = False) -> pd.DataFrame:
    from sqlalchemy import select

    scores = db.tables["mos_scores"]
    query = select(scores) if include_flagged else select(scores).where(scores.c.flags == "")
    with db.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(query)]
    frame = pd.DataFrame(rows, columns=[c.name for c in scores.columns])
    return frame.rename(columns={"model_id": "model"})


def export_votes(db: Database, fmt: str = "csv") -> str:
    """All votes, flagged ones included (their `flags` say why), as CSV with a header or a JSON list."""
    frame = votes_frame(db, include_flagged=True)
    if fmt == "json":
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return json.dumps(records, indent=2)
    if fmt != "csv":
        raise RatingsError(f"export format is csv or json, not {fmt!r}")
    return frame.to_csv(index=False)


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise RatingsError(f"{path.name}: expected a JSON list of votes")
            return pd.DataFrame(data)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except RatingsError:
        raise
    except FileNotFoundError:
        raise RatingsError(f"no such file: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RatingsError(f"{path.name}: cannot read votes ({str(exc).splitlines()[0][:120]})") from None


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    return value


def _time(value: Any, column: str, where: str) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise RatingsError(f"{where}: {column} must be seconds since the epoch, not {value!r}")
    return number


def import_votes(db: Database, path: Path) -> tuple[int, int]:
    """Check the whole file first, then add the votes not stored yet; returns (added, already there)."""
    from sqlalchemy import select

    frame = _read(path)
    missing = [column for column in REQUIRED if column not in frame.columns]
    if missing:
        raise RatingsError(f"{path.name}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})")
    votes = db.tables["votes"]
    records = []
    repeats: dict[str, int] = {}
    for line, row in enumerate(frame.to_dict(orient="records"), start=2):
        where = f"{path.name} line {line}"
        values = {column: _clean(row.get(column)) for column in (*REQUIRED, *OPTIONAL)}
        for column in REQUIRED:
            if values[column] is None:
                raise RatingsError(f"{where}: {column} is empty")
        if values["vote_id"] is None:  # the nth identical row is the nth vote, not a duplicate of the first
            content = content_id(*(str(row.get(c)) for c in frame.columns))
            repeat = repeats[content] = repeats.get(content, -1) + 1
            values["vote_id"] = "imported-" + (content_id(content, str(repeat)) if repeat else content)
        for column in ("vote_id", "item_id", "model_a", "model_b", "rater", "round", "task", "flags"):
            if values[column] is not None:
                # JSON may hold numbers; PostgreSQL refuses text longer than its column where SQLite stores it.
                values[column] = str(values[column])
                check_length(votes, "id" if column == "vote_id" else column, values[column], f"{where}: {column}")
        if values["winner"] not in WINNERS:
            raise RatingsError(f"{where}: winner must be one of {', '.join(WINNERS)}, not {values['winner']!r}")
        if values["model_a"] == values["model_b"]:
            raise RatingsError(f"{where}: model_a and model_b are the same model")
        values["shown_at"] = _time(values["shown_at"], "shown_at", where)
        values["voted_at"] = _time(values["voted_at"], "voted_at", where)
        records.append(values)
    added = 0
    with db.transaction() as connection:
        known = set(connection.execute(select(votes.c.id)).scalars())
        for values in records:
            if values["vote_id"] in known:
                continue
            ensure_placeholder(connection, db, values["item_id"], values["task"])
            connection.execute(
                votes.insert().values(
                    id=values["vote_id"],
                    battle_id=None,
                    item_id=values["item_id"],
                    model_a=values["model_a"],
                    model_b=values["model_b"],
                    winner=values["winner"],
                    rater=values["rater"],
                    round=values["round"],
                    task=values["task"],
                    shown_at=values["shown_at"],
                    voted_at=values["voted_at"],
                    flags=values["flags"] or "",
                    created_at=time.time(),
                )
            )
            known.add(values["vote_id"])
            added += 1
    return added, len(records) - added
