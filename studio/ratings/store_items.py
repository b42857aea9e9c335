"""Rounds and items: inputs and the enhancers' outputs, stored as content-hashed files."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from studio.ratings.store import Database, check_length, content_id, insert_ignore


def create_round(db: Database, name: str, task: str | None, models: list[str], recipe: str | None) -> str:
    """A named round (every rater sees its items); an existing name is reused."""
    from sqlalchemy import select

    rounds = db.tables["rounds"]
    check_length(rounds, "name", name, "the round name")
    with db.transaction() as connection:
        found = connection.execute(select(rounds.c.id).where(rounds.c.name == name)).scalar_one_or_none()
        if found:
            return found
        # Two processes preparing the same round at once: the second insert does nothing and reads the first's id.
        insert_ignore(
            connection,
            rounds,
            id=uuid.uuid4().hex,
            name=name,
            task=task,
            recipe=recipe,
            models=json.dumps(models),
            created_at=time.time(),
        )
        return connection.execute(select(rounds.c.id).where(rounds.c.name == name)).scalar_one()


def find_round(db: Database, name: str) -> dict[str, Any] | None:
    """The round of that name (id, name, task, recipe, models as a list, created_at), or None."""
    from sqlalchemy import select

    rounds = db.tables["rounds"]
    with db.engine.connect() as connection:
        row = connection.execute(select(rounds).where(rounds.c.name == name)).first()
    return None if row is None else {**row._mapping, "models": json.loads(row.models or "[]")}


def add_item(
    db: Database,
    input_png: bytes,
    outputs: Mapping[str, bytes],
    task: str | None,
    name: str,
    round_id: str | None = None,
    metrics: Mapping[str, Mapping[str, float | None]] | None = None,
) -> str:
    """Store an input and its outputs (PNG bytes by model id); the same content twice is one item."""
    from sqlalchemy import select

    items, outputs_table = db.tables["items"], db.tables["outputs"]
    for model_id in outputs:
        check_length(outputs_table, "model_id", model_id, "the model id")
    item_id = content_id(input_png, round_id or "")
    input_path = db.store_file(input_png)
    paths = {model_id: db.store_file(data) for model_id, data in outputs.items()}
    now = time.time()
    with db.transaction() as connection:
        insert_ignore(
            connection,
            items,
            id=item_id,
            round_id=round_id,
            task=task,
            name=name[:200],  # a label (often a file name): cut to the column, not refused
            input_path=input_path,
            placeholder=False,
            created_at=now,
        )
        # An item first known from imported votes gets its images when they arrive.
        connection.execute(
            items.update()
            .where(items.c.id == item_id, items.c.placeholder.is_(True))
            .values(round_id=round_id, task=task, name=name[:200], input_path=input_path, placeholder=False)
        )
        known = set(
            connection.execute(select(outputs_table.c.model_id).where(outputs_table.c.item_id == item_id)).scalars()
        )
        for model_id, path in paths.items():
            if model_id in known:
                continue
            insert_ignore(
                connection,
                outputs_table,
                id=content_id(item_id, model_id, path),
                item_id=item_id,
                model_id=model_id,
                path=path,
                metrics=json.dumps(dict((metrics or {}).get(model_id) or {})),
                created_at=now,
            )
    return item_id


def ensure_placeholder(connection: Any, db: Database, item_id: str, task: str | None) -> None:
    """An item known only by id (from an imported vote file), so votes can refer to it."""
    items = db.tables["items"]
    now = time.time()
    insert_ignore(
        connection, items, id=item_id, task=task, name=item_id, input_path=None, placeholder=True, created_at=now
    )


def placeholder_count(db: Database) -> int:
    """How many items the store knows only by id (from imported votes), without their images."""
    from sqlalchemy import func, select

    items = db.tables["items"]
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(items.c.placeholder.is_(True))).scalar_one())


def output_metrics(db: Database) -> list[dict[str, Any]]:
    """One row per stored output with its engine metrics: what the metric-agreement table averages."""
    from sqlalchemy import select

    outputs, items = db.tables["outputs"], db.tables["items"]
    query = select(outputs.c.item_id, outputs.c.model_id, outputs.c.metrics, items.c.task).join(
        items, items.c.id == outputs.c.item_id
    )
    with db.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [{"item_id": r.item_id, "model": r.model_id, "task": r.task, **json.loads(r.metrics or "{}")} for r in rows]


def round_names(db: Database) -> list[str]:
    """Every round's name, oldest first (the arena's and leaderboard's round filters)."""
    rounds = db.tables["rounds"]
    with db.engine.connect() as connection:
        return [row.name for row in connection.execute(rounds.select().order_by(rounds.c.created_at))]
