"""Leaderboard statistics as pure functions over a frame of votes (after FastChat's rating_systems).

A votes frame has one row per vote with columns `model_a`, `model_b`, `winner`
(a, b, tie, both_bad) and optionally `item_id`. Ratings come from a Bradley-Terry
fit (choix's iterative Luce spectral ranking) on an Elo-like scale: base 10,
scale 400, the mean model at 1000. Ties and "both bad" count as half a win each.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

WINNERS = ("a", "b", "tie", "both_bad")
SCALE, BASE, ANCHOR = 400.0, 10.0, 1000.0
REGULARISATION = 0.01  # keeps the fit finite when a model never lost or never won


def _contributions(votes: pd.DataFrame, index: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vote, cell, weight) triples of the comparison matrix, cell = winner * n + loser.

    A decisive vote adds 2 to (winner, loser); a tie or "both bad" adds 1 each way:
    half a win for both.
    """
    n = len(index)
    a = votes["model_a"].map(index).to_numpy(dtype=int)
    b = votes["model_b"].map(index).to_numpy(dtype=int)
    winner = votes["winner"].to_numpy()
    rows = np.arange(len(votes))
    won_a, won_b = winner == "a", winner == "b"
    tie = ~(won_a | won_b)
    vote = np.concatenate([rows[won_a], rows[won_b], rows[tie], rows[tie]])
    cell = np.concatenate([a[won_a] * n + b[won_a], b[won_b] * n + a[won_b], a[tie] * n + b[tie], b[tie] * n + a[tie]])
    weight = np.concatenate([np.full(won_a.sum() + won_b.sum(), 2.0), np.ones(2 * tie.sum())])
    return vote, cell, weight


def _strengths(comparisons: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Bradley-Terry log-strengths (natural scale, mean 0) from a matrix of (doubled) win counts.

    `start` (an earlier estimate) only shortens the iteration: the fixed point is the same.
    """
    import choix

    strengths = choix.ilsr_pairwise_dense(comparisons, alpha=REGULARISATION, initial_params=start)
    return strengths - strengths.mean()


def _ratings(strengths: np.ndarray) -> np.ndarray:
    """Log-strengths on the Elo-like scale: base 10, scale 400, mean ANCHOR."""
    return ANCHOR + SCALE * strengths / math.log(BASE)


def models_in(votes: pd.DataFrame) -> list[str]:
    return sorted(set(votes["model_a"]) | set(votes["model_b"]))


def bradley_terry(votes: pd.DataFrame, models: Sequence[str] | None = None) -> pd.Series:
    """Ratings on the Elo-like scale, indexed by model (mean 1000)."""
    models = list(models or models_in(votes))
    if not models:
        return pd.Series(dtype=float)
    if len(models) == 1:
        return pd.Series([ANCHOR], index=models)
    n = len(models)
    _, cell, weight = _contributions(votes, {model: i for i, model in enumerate(models)})
    comparisons = np.bincount(cell, weights=weight, minlength=n * n).reshape(n, n)
    return pd.Series(_ratings(_strengths(comparisons)), index=models)


def _resampled(votes: pd.DataFrame, models: list[str], rounds: int, rng: np.random.Generator) -> pd.DataFrame:
    """Bradley-Terry ratings of `rounds` vote sets drawn with replacement (one row each)."""
    n = len(models)
    if n < 2:
        return pd.DataFrame([[ANCHOR] * n] * rounds, columns=models)
    vote, cell, weight = _contributions(votes, {model: i for i, model in enumerate(models)})
    start = _strengths(np.bincount(cell, weights=weight, minlength=n * n).reshape(n, n))
    samples = []
    for _ in range(rounds):
        times = np.bincount(rng.integers(0, len(votes), len(votes)), minlength=len(votes))
        comparisons = np.bincount(cell, weights=weight * times[vote], minlength=n * n).reshape(n, n)
        samples.append(_ratings(_strengths(comparisons, start)))
    return pd.DataFrame(samples, columns=models)


def bootstrap_intervals(votes: pd.DataFrame, rounds: int = 200, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Percentile intervals of each model's rating over resampled vote sets."""
    frame = _resampled(votes, models_in(votes), rounds, np.random.default_rng(seed))
    tail = (1 - level) / 2
    return pd.DataFrame({"ci_low": frame.quantile(tail), "ci_high": frame.quantile(1 - tail)})


def leaderboard(votes: pd.DataFrame, rounds: int = 200, seed: int = 0) -> pd.DataFrame:
    """model, rating, ci_low, ci_high, battles, wins, ties, losses: best first."""
    columns = ["model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"]
    if votes.empty:
        return pd.DataFrame(columns=columns)
    ratings = bradley_terry(votes)
    intervals = bootstrap_intervals(votes, rounds, seed)
    rows = []
    for model in ratings.index:
        as_a, as_b = votes[votes["model_a"] == model], votes[votes["model_b"] == model]
        wins = int((as_a["winner"] == "a").sum() + (as_b["winner"] == "b").sum())
        ties = int(as_a["winner"].isin(["tie", "both_bad"]).sum() + as_b["winner"].isin(["tie", "both_bad"]).sum())
        battles = len(as_a) + len(as_b)
        rows.append(
            {
                "model": model,
                "rating": round(float(ratings[model]), 1),
                "ci_low": round(float(intervals.loc[model, "ci_low"]), 1),
                "ci_high": round(float(intervals.loc[model, "ci_high"]), 1),
                "battles": battles,
                "wins": wins,
                "ties": ties,
                "losses": battles - wins - ties,
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values("rating", ascending=False, ignore_index=True)


def pair_matrices(votes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(win rate of the row model against the column model, battle counts); ties count half."""
    models = models_in(votes)
    wins = pd.DataFrame(0.0, index=models, columns=models)
    counts = pd.DataFrame(0, index=models, columns=models)
    for a, b, winner in zip(votes["model_a"], votes["model_b"], votes["winner"], strict=True):
        counts.loc[a, b] += 1
        counts.loc[b, a] += 1
        score = 1.0 if winner == "a" else 0.0 if winner == "b" else 0.5
        wins.loc[a, b] += score
        wins.loc[b, a] += 1 - score
    rate = wins / counts.where(counts > 0)
    return rate, counts


def mos_summary(scores: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per model: MOS, the t-interval around it, and the number of scores (column `score`, 1-5)."""
    from scipy import stats

    columns = ["model", "mos", "ci_low", "ci_high", "votes"]
    if scores.empty:
        return pd.DataFrame(columns=columns)
    grouped = scores.astype({"score": float}).groupby("model")["score"].agg(["mean", "std", "count"])
    count = grouped["count"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        # One score has no spread: its interval is NaN (stats.t.ppf of 0 degrees of freedom is NaN).
        half = stats.t.ppf((1 + level) / 2, count - 1) * grouped["std"].to_numpy() / np.sqrt(count)
    mean = grouped["mean"].to_numpy()
    frame = pd.DataFrame(
        {
            "model": grouped.index.to_numpy(),
            "mos": np.round(mean, 3),
            "ci_low": mean - half,
            "ci_high": mean + half,
            "votes": count.astype(int),
        }
    )
    return frame.sort_values("mos", ascending=False, ignore_index=True)


def metric_agreement(
    votes: pd.DataFrame,
    metric_means: pd.DataFrame,
    lower_better: Mapping[str, bool],
    rounds: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """How well each metric's model ranking agrees with the human one.

    `metric_means` is indexed by model with one column per metric (the model's mean
    score over the rated items). Returns Spearman and Kendall correlations between
    each metric (sign-flipped where lower is better) and the Bradley-Terry ratings,
    with bootstrap intervals over resampled votes.
    """
    from scipy import stats

    # Only votes between models the metrics scored: a model's rating then rests on votes that count here.
    votes = votes[votes["model_a"].isin(metric_means.index) & votes["model_b"].isin(metric_means.index)]
    models = models_in(votes)
    columns = [
        "metric",
        "models",
        "spearman",
        "spearman_low",
        "spearman_high",
        "kendall",
        "kendall_low",
        "kendall_high",
    ]
    if len(models) < 3:
        return pd.DataFrame(columns=columns)
    human = bradley_terry(votes, models)
    resampled = [row for _, row in _resampled(votes, models, rounds, np.random.default_rng(seed)).iterrows()]
    rows = []
    for metric in metric_means.columns:
        values = metric_means.loc[models, metric].astype(float)
        if values.isna().any():
            continue
        signed = -values if lower_better.get(metric, False) else values
        with warnings.catch_warnings():  # a constant metric has no correlation: NaN, said once in the table
            warnings.simplefilter("ignore", stats.ConstantInputWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            point = (stats.spearmanr(signed, human)[0], stats.kendalltau(signed, human)[0])
            spread = np.array([(stats.spearmanr(signed, r)[0], stats.kendalltau(signed, r)[0]) for r in resampled])
            low, high = np.nanquantile(spread, 0.025, axis=0), np.nanquantile(spread, 0.975, axis=0)
        rows.append(
            {
                "metric": metric,
                "models": len(models),
                "spearman": round(float(point[0]), 3),
                "spearman_low": round(float(low[0]), 3),
                "spearman_high": round(float(high[0]), 3),
                "kendall": round(float(point[1]), 3),
                "kendall_low": round(float(low[1]), 3),
                "kendall_high": round(float(high[1]), 3),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def low_reference_raters(scores: pd.DataFrame, threshold: float = 3.0, min_scores: int = 2) -> pd.DataFrame:
    """Raters whose mean score for the hidden reference (the unprocessed input) is below `threshold`.

    `scores` is a scores frame (columns `rater`, `score`, `hidden_reference`); only raters
    with at least `min_scores` hidden-reference scores are judged. Returns rater,
    reference_scores, reference_mean, lowest mean first.
    """
    columns = ["rater", "reference_scores", "reference_mean"]
    hidden = scores[scores["hidden_reference"].astype(bool)] if len(scores) else scores
    if hidden.empty:
        return pd.DataFrame(columns=columns)
    grouped = hidden.astype({"score": float}).groupby("rater")["score"].agg(["count", "mean"])
    flagged = grouped[(grouped["count"] >= min_scores) & (grouped["mean"] < threshold)]
    frame = pd.DataFrame(
        {
            "rater": flagged.index.to_numpy(),
            "reference_scores": flagged["count"].to_numpy(dtype=int),
            "reference_mean": flagged["mean"].to_numpy(),
        }
    )
    return frame.sort_values(["reference_mean", "rater"], ignore_index=True)[columns]
