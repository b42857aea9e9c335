"""MOS: absolute category rating (ITU-T P.913 ACR, 1-5) of one output at a time.

A hidden reference (the item's input, shown as if it were an output) is mixed in
with probability `reference_rate`; raters whose mean score for it is low are
flagged, since an unprocessed original should not look "poor".
"""

from __future__ import annotations

import math
import random
import time
import uuid
from dataclasses import dataclass

from studio.ratings.store import Database, RatingsError
from studio.ratings.store_arena import ensure_rater

ACR_LABELS = {5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad"}
REFERENCE = "reference"


@dataclass(frozen=True)
class MosTask:
    id: str
    item_id: str
    path: str  # relative to the store's files folder
    shown_at: float


def draw_mos(
    db: Database,
    rater_id: str,
    reference_rate: float = 0.0,
    expire_s: float = 1800.0,
    rng: random.Random | None = None,
) -> MosTask:
    """One output (or, sometimes, the hidden reference), those with the fewest scores first."""
    from sqlalchemy import func, select

    rng = rng or random.Random()
    outputs, items, scores = db.tables["outputs"], db.tables["items"], db.tables["mos_scores"]
    now = time.time()
    with db.transaction() as connection:
        ensure_rater(connection, db, rater_id)
        rows = connection.execute(
            select(outputs.c.id, outputs.c.item_id, outputs.c.model_id, outputs.c.path, items.c.input_path).join(
                items, items.c.id == outputs.c.item_id
            )
        ).all()
        if not rows:
            raise RatingsError("nothing to rate yet: prepare a round (`studio ratings prepare`) or send a comparison")
        counts = dict(
            connection.execute(
                select(scores.c.item_id + ":" + scores.c.model_id, func.count()).group_by(
                    scores.c.item_id, scores.c.model_id
                )
            ).all()
        )
        fewest = min(counts.get(f"{r.item_id}:{r.model_id}", 0) for r in rows)
        row = rng.choice([r for r in rows if counts.get(f"{r.item_id}:{r.model_id}", 0) == fewest])
        hidden = rng.random() < reference_rate and row.input_path is not None
        task_id = uuid.uuid4().hex
        connection.execute(
            db.tables["mos_tasks"]
            .insert()
            .values(
                id=task_id,
                item_id=row.item_id,
                output_id=None if hidden else row.id,
                model_id=REFERENCE if hidden else row.model_id,
                rater_id=rater_id,
                state="shown",
                shown_at=now,
                expires_at=now + expire_s,
                created_at=now,
            )
        )
    return MosTask(task_id, row.item_id, row.input_path if hidden else row.path, now)


def check_score(score: object) -> int:
    """1-5 as an int; anything else (0, 6, NaN, text, 3.5) is refused."""
    if isinstance(score, bool):
        raise RatingsError(f"a MOS score is a whole number from 1 to 5, not {score!r}")
    try:
        number = float(score)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RatingsError(f"a MOS score is a whole number from 1 to 5, not {score!r}") from None
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= 5:
        raise RatingsError(f"a MOS score is a whole number from 1 to 5, not {score!r}")
    return int(number)


def score_mos(
    db: Database, task_id: str, rater_id: str, score: object, min_view_s: float = 1.0, now: float | None = None
) -> str:
    """Check and store one score; returns what was rated (a model id, or 'reference')."""
    from sqlalchemy import select

    value = check_score(score)
    now = time.time() if now is None else now
    tasks = db.tables["mos_tasks"]
    with db.transaction() as connection:
        task = connection.execute(select(tasks).where(tasks.c.id == task_id).with_for_update()).first()
        if task is None or task.rater_id != rater_id:
            raise RatingsError("this image was not shown to you: draw a new one")
        if task.state != "shown":
            raise RatingsError("this image already has your score")
        if now > task.expires_at:
            raise RatingsError("this rating expired: draw a new image")
        flags = "too_fast" if now - task.shown_at < min_view_s else ""
        connection.execute(
            db.tables["mos_scores"]
            .insert()
            .values(
                id=uuid.uuid4().hex,
                task_id=task_id,
                item_id=task.item_id,
                model_id=task.model_id,
                rater=rater_id,
                score=value,
                hidden_reference=task.model_id == REFERENCE,
                shown_at=task.shown_at,
                voted_at=now,
                flags=flags,
                created_at=now,
            )
        )
        connection.execute(tasks.update().where(tasks.c.id == task_id).values(state="scored"))
    return task.model_id
