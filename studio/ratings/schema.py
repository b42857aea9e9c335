"""The ratings database's tables (SQLAlchemy Core) and its append-only, named migrations.

A migration is only ever added, never edited: the `migrations` table records
which names ran, so an old database is brought up to date by running the rest
in order (as simonw/llm does for SQLite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def build_tables() -> dict[str, Any]:
    """The table objects, built on demand so importing this module loads no SQLAlchemy."""
    from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

    metadata = MetaData()
    stamp = {"nullable": False}
    tables = {
        "migrations": Table(
            "migrations", metadata, Column("name", String(80), primary_key=True), Column("applied_at", Float, **stamp)
        ),
        "rounds": Table(
            "rounds",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("name", String(200), unique=True, nullable=False),
            Column("task", String(40)),
            Column("recipe", Text),
            Column("models", Text),  # JSON list of model ids
            Column("created_at", Float, **stamp),
        ),
        "items": Table(
            "items",
            metadata,
            Column("id", String(32), primary_key=True),  # content hash of the input
            Column("round_id", String(32), ForeignKey("rounds.id")),
            Column("task", String(40)),
            Column("name", String(200)),
            Column("input_path", Text),  # relative to the files folder; NULL for imported placeholders
            Column("placeholder", Boolean, nullable=False, default=False),
            Column("created_at", Float, **stamp),
        ),
        "outputs": Table(
            "outputs",
            metadata,
            Column("id", String(32), primary_key=True),  # content hash of item + model + image
            Column("item_id", String(32), ForeignKey("items.id"), nullable=False, index=True),
            Column("model_id", String(120), nullable=False),
            Column("path", Text, nullable=False),
            Column("metrics", Text),  # JSON {metric id: value} from the engine
            Column("created_at", Float, **stamp),
        ),
        "raters": Table(
            "raters",
            metadata,
            Column("id", String(64), primary_key=True),  # anonymous session id, or "login:<name>"
            Column("login", String(120)),
            Column("created_at", Float, **stamp),
        ),
        "battles": Table(
            "battles",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("item_id", String(32), ForeignKey("items.id"), nullable=False),
            Column("output_a", String(32), ForeignKey("outputs.id"), nullable=False),  # shown left
            Column("output_b", String(32), ForeignKey("outputs.id"), nullable=False),  # shown right
            Column("rater_id", String(64), ForeignKey("raters.id"), nullable=False, index=True),
            Column("ip", String(64)),
            Column("state", String(16), nullable=False),  # shown, voted, revealed
            Column("shown_at", Float, nullable=False),
            Column("expires_at", Float, nullable=False),
            Column("created_at", Float, **stamp),
        ),
        "votes": Table(
            "votes",
            metadata,
            Column("id", String(64), primary_key=True),  # stable across machines: merged without duplicates
            Column("battle_id", String(32), unique=True),  # NULL for imported votes
            Column("item_id", String(32), nullable=False, index=True),
            Column("model_a", String(120), nullable=False),
            Column("model_b", String(120), nullable=False),
            Column("winner", String(10), nullable=False),
            Column("rater", String(64)),
            Column("ip", String(64)),
            Column("round", String(200)),
            Column("task", String(40)),
            Column("shown_at", Float),
            Column("voted_at", Float),
            Column("flags", String(200), nullable=False, default=""),
            Column("created_at", Float, **stamp),
        ),
        "mos_tasks": Table(
            "mos_tasks",
            metadata,
            Column("id", String(32), primary_key=True),
            Column("item_id", String(32), ForeignKey("items.id"), nullable=False),
            Column("output_id", String(32)),  # NULL when the hidden reference (the input) is shown
            Column("model_id", String(120), nullable=False),  # "reference" for the hidden reference
            Column("rater_id", String(64), ForeignKey("raters.id"), nullable=False),
            Column("state", String(16), nullable=False),
            Column("shown_at", Float, nullable=False),
            Column("expires_at", Float, nullable=False),
            Column("created_at", Float, **stamp),
        ),
        "mos_scores": Table(
            "mos_scores",
            metadata,
            Column("id", String(64), primary_key=True),
            Column("task_id", String(32), unique=True),
            Column("item_id", String(32), nullable=False),
            Column("model_id", String(120), nullable=False),
            Column("rater", String(64)),
            Column("score", Integer, nullable=False),
            Column("hidden_reference", Boolean, nullable=False, default=False),
            Column("shown_at", Float),
            Column("voted_at", Float),
            Column("flags", String(200), nullable=False, default=""),
            Column("created_at", Float, **stamp),
        ),
    }
    tables["metadata"] = metadata
    return tables


def _initial(connection: Any, tables: dict[str, Any]) -> None:
    names = ["rounds", "items", "outputs", "raters", "battles", "votes", "mos_tasks", "mos_scores"]
    tables["metadata"].create_all(connection, tables=[tables[name] for name in names])


# Append only: (name, function(connection, tables)).
MIGRATIONS: list[tuple[str, Callable[[Any, dict[str, Any]], None]]] = [
    ("0001_initial", _initial),
]
