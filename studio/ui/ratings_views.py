"""What the Arena, MOS and Leaderboard tabs show, and what Send to arena stores (pure: no Gradio).

Nothing here may let a model's identity reach the page before a vote: the arena pair
is shown at one common size, so an x2 and an x4 output look alike in size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from studio.core.resize import resize_to
from studio.engine.export import rating_item
from studio.engine.results import Results
from studio.metrics import METRICS
from studio.ratings.store_mos import ACR_LABELS, REFERENCE

WINNER_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}
ACR_QUESTION = "How would you rate the quality of this image?"  # ITU-T P.913, absolute category rating
ALL = ""  # the filters' "everything" value


def acr_choices() -> list[tuple[str, int]]:
    return [(f"{score} {label}", score) for score, label in sorted(ACR_LABELS.items(), reverse=True)]


def display_pair(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images at one common size (the larger width and height), so sizes say nothing about the model."""
    width, height = max(left.shape[1], right.shape[1]), max(left.shape[0], right.shape[0])
    return resize_to(left, width, height), resize_to(right, width, height)


def same_crop(
    left: np.ndarray, right: np.ndarray, centre_x: float, centre_y: float, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same region of two same-sized images, 1:1: a `size` px square centred at (x, y) in 0..1."""
    height, width = left.shape[:2]
    side = int(max(4, min(size, width, height)))
    x0 = int(np.clip(round(centre_x * width - side / 2), 0, width - side))
    y0 = int(np.clip(round(centre_y * height - side / 2), 0, height - side))
    window = (slice(y0, y0 + side), slice(x0, x0 + side))
    return np.ascontiguousarray(left[window]), np.ascontiguousarray(right[window])


def model_name(model_id: str, names: Mapping[str, str]) -> str:
    """'**Name** (`id`)' for a registry model; the id alone for one the registry does not know."""
    if model_id == REFERENCE:
        return "the hidden reference (the unprocessed input)"
    name = names.get(model_id)
    return f"**{name}** (`{model_id}`)" if name and name != model_id else f"`{model_id}`"


def reveal_text(model_a: str, model_b: str, winner: str, flags: str, names: Mapping[str, str], min_view: float) -> str:
    lines = [
        f"A was {model_name(model_a, names)}, B was {model_name(model_b, names)}.",
        f"Your vote: {WINNER_LABELS.get(winner, winner)}. Press **New pair** for another.",
    ]
    if "too_fast" in flags.split(","):
        lines.append(f"Voted within {min_view:g} s of seeing the pair: stored, but kept out of the leaderboard.")
    return "  \n".join(lines)


def score_text(model_id: str, score: int, flags: str, names: Mapping[str, str]) -> str:
    text = f"You gave {score} ({ACR_LABELS[score]}) to {model_name(model_id, names)}. Press **Next image** for another."
    if "too_fast" in flags.split(","):
        text += "  \nScored very quickly: stored, but kept out of the MOS table."
    return text


def interval(low: float, high: float, digits: int) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{low:.{digits}f} – {high:.{digits}f}"


def leaderboard_view(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard with its 95 % interval as one column, best first."""
    columns = ["rank", "model", "rating", "95 % interval", "battles", "wins", "ties", "losses"]
    rows = [
        {
            "rank": rank,
            "model": row.model,
            "rating": row.rating,
            "95 % interval": interval(row.ci_low, row.ci_high, 0),
            "battles": row.battles,
            "wins": row.wins,
            "ties": row.ties,
            "losses": row.losses,
        }
        for rank, row in enumerate(board.itertuples(index=False), start=1)
    ]
    return pd.DataFrame(rows, columns=columns)


def mos_view(summary: pd.DataFrame) -> pd.DataFrame:
    columns = ["model", "MOS", "95 % interval", "votes"]
    rows = [
        {
            "model": "reference (hidden input)" if row.model == REFERENCE else row.model,
            "MOS": round(float(row.mos), 2),
            "95 % interval": interval(row.ci_low, row.ci_high, 2),
            "votes": int(row.votes),
        }
        for row in summary.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=columns)


def metric_means(rows: Iterable[Mapping], item_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Per model, the mean of each known metric over the stored outputs (of the given items only)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame()
    if item_ids is not None:
        frame = frame[frame["item_id"].isin(set(item_ids))]
    metrics = [column for column in frame.columns if column in METRICS]
    if frame.empty or not metrics:
        return pd.DataFrame()
    numbers = frame[metrics].apply(pd.to_numeric, errors="coerce")
    return numbers.groupby(frame["model"]).mean().dropna(axis=1, how="all")


def lower_better(metric_ids: Iterable[str]) -> dict[str, bool]:
    return {metric_id: METRICS[metric_id].lower_better for metric_id in metric_ids if metric_id in METRICS}


def agreement_view(agreement: pd.DataFrame) -> pd.DataFrame:
    columns = ["metric", "models", "Spearman", "Spearman 95 %", "Kendall", "Kendall 95 %"]
    rows = [
        {
            "metric": METRICS[row.metric].label if row.metric in METRICS else row.metric,
            "models": row.models,
            "Spearman": row.spearman,
            "Spearman 95 %": interval(row.spearman_low, row.spearman_high, 2),
            "Kendall": row.kendall,
            "Kendall 95 %": interval(row.kendall_low, row.kendall_high, 2),
        }
        for row in agreement.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class ArenaItem:
    """A comparison as the ratings store takes it: PNG bytes of the input and of each successful output."""

    input_png: bytes
    outputs: dict[str, bytes]
    task: str | None
    metrics: dict[str, dict[str, float | None]]


def comparison_item(results: Results, task_of: Callable[[str], str]) -> ArenaItem:
    """The run's input and successful outputs; the task when every model shares one, else None."""
    input_png, outputs, metrics = rating_item(results)  # the same item `studio ratings prepare` stores
    tasks = {task_of(model_id) for model_id in outputs}
    return ArenaItem(
        input_png=input_png, outputs=outputs, task=tasks.pop() if len(tasks) == 1 else None, metrics=metrics
    )
