"""Small builders shared by the ratings tests: items, policies, snapshots of everything stored."""

from __future__ import annotations

from typing import Any

from studio.ratings.store import Database
from studio.ratings.store_arena import ArenaPolicy
from studio.ratings.store_items import add_item

# Votes right after the draw are not "too fast", and no rate limit gets in the way.
OPEN = ArenaPolicy(min_view_s=0.0, votes_per_minute_session=1_000_000, votes_per_minute_ip=1_000_000)
MODELS = ("realesrgan-x4", "waifu2x-cunet", "bicubic")


def input_bytes(number: int) -> bytes:
    return f"input image {number}".encode()


def output_bytes(number: int, model: str) -> bytes:
    return f"output of {model} for image {number}".encode()


def seed(db: Database, models: tuple[str, ...] = MODELS, items: int = 1, task: str | None = "sr") -> list[str]:
    """`items` items, each with one output per model; returns their ids.

    Stored bytes need not be real PNGs: the store only hashes and keeps them."""
    return [
        add_item(db, input_bytes(n), {m: output_bytes(n, m) for m in models}, task=task, name=f"image {n}")
        for n in range(items)
    ]


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: equal snapshots mean nothing was stored or changed."""
    from sqlalchemy import select

    metadata = db.tables["metadata"]
    with db.engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def row_count(db: Database, table: str) -> int:
    from sqlalchemy import func, select

    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(db.tables[table])).scalar_one()
