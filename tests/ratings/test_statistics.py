"""The leaderboard statistics against votes simulated from known strengths.

Votes come from a Bradley-Terry model on the Elo-like scale (base 10, scale 400): model i
beats model j with probability 1 / (1 + 10 ** ((R_j - R_i) / 400)). The true ratings are
centred at 1000, as the fitted ones are, so the two are directly comparable.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from studio.ratings import leaderboard as lb

MODELS = ["model-a", "model-b", "model-c", "model-d", "model-e"]
TRUTH = pd.Series([1150.0, 1060.0, 1000.0, 940.0, 850.0], index=MODELS)  # mean 1000


def simulate(rng: np.random.Generator, votes: int, truth: pd.Series = TRUTH, tie_rate: float = 0.0) -> pd.DataFrame:
    """`votes` battles between uniformly drawn pairs in random left/right order."""
    names, strength = np.array(truth.index), truth.to_numpy()
    n = len(names)
    a = rng.integers(0, n, votes)
    b = (a + rng.integers(1, n, votes)) % n
    p_a = 1 / (1 + 10 ** ((strength[b] - strength[a]) / 400))  # written out: the code's constants are under test
    draw = rng.random(votes)
    winner = np.where(draw < p_a, "a", "b")
    winner = np.where(rng.random(votes) < tie_rate, "tie", winner)
    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner})


def votes_of(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])


# ---- Bradley-Terry -----------------------------------------------------------------------


def test_fit_recovers_the_order_and_the_scale() -> None:
    ratings = lb.bradley_terry(simulate(np.random.default_rng(1), 4000))
    assert list(ratings.sort_values(ascending=False).index) == MODELS
    assert ratings.mean() == pytest.approx(1000.0)
    assert (ratings - TRUTH).abs().max() < 30  # about 2 standard errors at 4000 votes


def test_bootstrap_intervals_cover_the_truth() -> None:
    """40 simulations x 5 models, 600 decisive votes each, 100 bootstrap rounds.

    Measured: 0.92 over 1000 intervals (200 simulations) at 100 rounds, 0.93 at 200 rounds;
    a percentile interval from 100 resamples is a little narrow. The widths are checked too:
    intervals wide enough to cover anything would also pass a coverage test.
    """
    covered, total, widths = 0, 0, []
    for simulation in range(40):
        votes = simulate(np.random.default_rng(1000 + simulation), 600)
        intervals = lb.bootstrap_intervals(votes, rounds=100, seed=simulation)
        assert list(intervals.index) == MODELS
        inside = (intervals["ci_low"] <= TRUTH) & (intervals["ci_high"] >= TRUTH)
        covered, total = covered + int(inside.sum()), total + len(inside)
        widths.append(float((intervals["ci_high"] - intervals["ci_low"]).mean()))
    coverage = covered / total
    print(f"bootstrap coverage {coverage:.3f} over {total} intervals, mean width {np.mean(widths):.1f}")
    assert coverage >= 0.90
    # The standard error of a rating here is about 20 points: a 95% interval is about 80 wide.
    assert 50 < np.mean(widths) < 120


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    votes = simulate(np.random.default_rng(2), 300)
    first = lb.bootstrap_intervals(votes, rounds=30, seed=5)
    pd.testing.assert_frame_equal(first, lb.bootstrap_intervals(votes, rounds=30, seed=5))
    assert not first.equals(lb.bootstrap_intervals(votes, rounds=30, seed=6))


def test_ties_only_give_equal_ratings() -> None:
    votes = votes_of(("x", "y", "tie"), ("y", "z", "tie"), ("z", "x", "both_bad"), ("x", "y", "tie"))
    ratings = lb.bradley_terry(votes)
    assert ratings.to_dict() == pytest.approx({"x": 1000.0, "y": 1000.0, "z": 1000.0})


def test_a_tie_is_half_a_win() -> None:
    """x beat y 3 times and tied once: 3.5 wins of 4, odds 7, so R_x - R_y = 400 log10(7) = 338.0."""
    votes = votes_of(("x", "y", "a"), ("y", "x", "b"), ("x", "y", "a"), ("y", "x", "tie"))
    ratings = lb.bradley_terry(votes)
    assert ratings.mean() == pytest.approx(1000.0)
    # The regulariser pulls 4 votes' worth a few points in; 25 times the votes, a fraction of a point.
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(7), abs=4.0)
    many = lb.bradley_terry(pd.concat([votes] * 25, ignore_index=True))
    assert many["x"] - many["y"] == pytest.approx(400 * math.log10(7), abs=0.5)
    # "both bad" counts exactly like a tie; a decisive win in place of the tie makes the gap bigger.
    both_bad = lb.bradley_terry(votes.replace({"winner": {"tie": "both_bad"}}))
    pd.testing.assert_series_equal(both_bad, ratings)
    assert lb.bradley_terry(votes.replace({"winner": {"tie": "b"}}))["x"] > ratings["x"]
    # Two decisive votes each way plus ties: even.
    even = votes_of(("x", "y", "a"), ("x", "y", "b"), ("y", "x", "tie"), ("x", "y", "tie"))
    assert lb.bradley_terry(even).to_dict() == pytest.approx({"x": 1000.0, "y": 1000.0})


def test_leaderboard_table() -> None:
    votes = votes_of(("x", "y", "a"), ("y", "x", "b"), ("x", "y", "a"), ("y", "x", "tie"), ("y", "z", "both_bad"))
    board = lb.leaderboard(votes, rounds=20)
    assert list(board.columns) == ["model", "rating", "ci_low", "ci_high", "battles", "wins", "ties", "losses"]
    assert list(board["model"]) == ["x", "z", "y"]  # best first
    rows = board.set_index("model")
    assert rows.loc["x", ["battles", "wins", "ties", "losses"]].tolist() == [4, 3, 1, 0]
    assert rows.loc["y", ["battles", "wins", "ties", "losses"]].tolist() == [5, 0, 2, 3]
    assert rows.loc["z", ["battles", "wins", "ties", "losses"]].tolist() == [1, 0, 1, 0]
    assert (rows["ci_low"] <= rows["rating"]).all() and (rows["rating"] <= rows["ci_high"]).all()
    assert lb.leaderboard(votes.iloc[:0]).empty


# ---- matrices ------------------------------------------------------------------------------


def test_win_rate_and_count_matrices() -> None:
    votes = votes_of(
        ("A", "B", "a"),  # A beats B
        ("B", "A", "a"),  # B beats A
        ("A", "B", "tie"),  # half each
        ("A", "C", "a"),
        ("C", "A", "b"),  # A beats C twice
        ("C", "B", "b"),  # B beats C
        ("C", "B", "both_bad"),  # half each
    )
    rate, counts = lb.pair_matrices(votes)
    assert list(rate.index) == list(rate.columns) == ["A", "B", "C"]
    expected_counts = pd.DataFrame([[0, 3, 2], [3, 0, 2], [2, 2, 0]], index=list("ABC"), columns=list("ABC"))
    pd.testing.assert_frame_equal(counts, expected_counts)
    assert rate.loc["A", "B"] == pytest.approx(0.5) and rate.loc["B", "A"] == pytest.approx(0.5)
    assert rate.loc["A", "C"] == 1.0 and rate.loc["C", "A"] == 0.0
    assert rate.loc["B", "C"] == pytest.approx(0.75) and rate.loc["C", "B"] == pytest.approx(0.25)
    assert np.isnan(np.diag(rate.to_numpy())).all()  # a model never plays itself


# ---- MOS -------------------------------------------------------------------------------------

# Score distributions over 1..5 per model; their means are the true MOS.
SCORE_PROBABILITIES = {
    "sharp": [0.02, 0.05, 0.15, 0.38, 0.40],
    "fair": [0.10, 0.20, 0.40, 0.20, 0.10],
    "blurry": [0.35, 0.35, 0.20, 0.08, 0.02],
}


def test_mos_t_intervals_cover_the_truth() -> None:
    """500 simulations x 3 models x 25 scores: the 95% t-intervals hold the true mean >= 90% of the time.

    Each (simulation, model) is its own "model" in one frame, so one summary scores them all.
    """
    rng = np.random.default_rng(2000)
    names, scores, truth = [], [], {}
    for model, p in SCORE_PROBABILITIES.items():
        for simulation, drawn in enumerate(rng.choice(5, size=(500, 25), p=p) + 1):
            truth[f"{model}-{simulation}"] = float(np.dot(p, [1, 2, 3, 4, 5]))
            names += [f"{model}-{simulation}"] * 25
            scores.append(drawn)
    summary = lb.mos_summary(pd.DataFrame({"model": names, "score": np.concatenate(scores)})).set_index("model")
    assert len(summary) == len(truth) and (summary["votes"] == 25).all()
    true_mos = pd.Series(truth)[summary.index]
    coverage = float(((summary["ci_low"] <= true_mos) & (true_mos <= summary["ci_high"])).mean())
    print(f"MOS coverage {coverage:.3f} over {len(summary)} intervals")
    assert coverage >= 0.90


def test_mos_summary_table() -> None:
    scores = pd.DataFrame({"model": ["x", "x", "x", "y"], "score": [5, 4, 3, 2]})
    summary = lb.mos_summary(scores)
    assert list(summary["model"]) == ["x", "y"]  # best first
    x, y = summary.iloc[0], summary.iloc[1]
    assert x["mos"] == 4.0 and x["votes"] == 3
    # t(0.975, 2 df) = 4.303, sd 1, n 3: half width 2.484
    assert x["ci_high"] - x["mos"] == pytest.approx(4.3027 / math.sqrt(3), abs=1e-3)
    assert y["votes"] == 1 and math.isnan(y["ci_low"])  # one score has no interval


def test_low_reference_raters() -> None:
    scores = pd.DataFrame(
        [
            {"rater": "careless", "model": "reference", "score": 2, "hidden_reference": True},
            {"rater": "careless", "model": "reference", "score": 1, "hidden_reference": True},
            {"rater": "careless", "model": "m", "score": 5, "hidden_reference": False},
            {"rater": "careful", "model": "reference", "score": 5, "hidden_reference": True},
            {"rater": "careful", "model": "reference", "score": 4, "hidden_reference": True},
            {"rater": "careful", "model": "m", "score": 1, "hidden_reference": False},  # low scores elsewhere: fine
            {"rater": "once", "model": "reference", "score": 1, "hidden_reference": True},  # too few to judge
            {"rater": "borderline", "model": "reference", "score": 3, "hidden_reference": True},
            {"rater": "borderline", "model": "reference", "score": 3, "hidden_reference": True},
        ]
    )
    flagged = lb.low_reference_raters(scores)
    assert flagged.to_dict(orient="records") == [{"rater": "careless", "reference_scores": 2, "reference_mean": 1.5}]
    assert list(lb.low_reference_raters(scores, min_scores=1)["rater"]) == ["once", "careless"]
    assert list(lb.low_reference_raters(scores, threshold=3.5)["rater"]) == ["careless", "borderline"]
    assert lb.low_reference_raters(scores[~scores["hidden_reference"]]).empty
    assert lb.low_reference_raters(scores.iloc[:0]).empty


# ---- metric agreement -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def clear_votes() -> pd.DataFrame:
    """Enough votes that the human ranking is the true one."""
    votes = simulate(np.random.default_rng(3), 3000)
    assert list(lb.bradley_terry(votes).sort_values(ascending=False).index) == MODELS
    return votes


def test_metric_agreement_signs(clear_votes: pd.DataFrame) -> None:
    means = pd.DataFrame(
        {
            "like_truth": TRUTH / 40 + 3,  # any increasing function of the truth
            "reversed": -(TRUTH**2),
            "lpips_like": 1 / TRUTH,  # lower is better and orders like the truth
        }
    )
    table = lb.metric_agreement(clear_votes, means, {"lpips_like": True}, rounds=30).set_index("metric")
    assert table.loc["like_truth", ["spearman", "kendall"]].tolist() == [1.0, 1.0]
    assert table.loc["reversed", ["spearman", "kendall"]].tolist() == [-1.0, -1.0]
    assert table.loc["lpips_like", ["spearman", "kendall"]].tolist() == [1.0, 1.0]
    assert (table["models"] == 5).all()
    assert (table["spearman_low"] <= table["spearman"]).all() and (table["spearman"] <= table["spearman_high"]).all()
    # Without the lower-is-better flag the same metric reads as perfectly wrong.
    flipped = lb.metric_agreement(clear_votes, means[["lpips_like"]], {}, rounds=5)
    assert flipped.loc[0, "spearman"] == -1.0


def test_metric_agreement_needs_three_models(clear_votes: pd.DataFrame) -> None:
    means = pd.DataFrame({"psnr": TRUTH.iloc[:2]})
    assert lb.metric_agreement(clear_votes, means, {}, rounds=5).empty
    # A metric with a missing model is left out, the others kept.
    gappy = pd.DataFrame({"psnr": TRUTH, "brisque": TRUTH.where(TRUTH > 900)})
    assert list(lb.metric_agreement(clear_votes, gappy, {}, rounds=5)["metric"]) == ["psnr"]
    # Three scored models whose votes were all against an unscored one: nothing to compare.
    against_q = votes_of(("x", "q", "a"), ("y", "q", "a"), ("z", "q", "b"))
    assert lb.metric_agreement(against_q, pd.DataFrame({"psnr": [1.0, 2.0, 3.0]}, index=list("xyz")), {}).empty


@pytest.mark.filterwarnings("error")
def test_a_constant_metric_has_no_correlation(clear_votes: pd.DataFrame) -> None:
    flat = lb.metric_agreement(clear_votes, pd.DataFrame({"flat": 1.0}, index=MODELS), {}, rounds=5)
    assert flat.loc[0, ["spearman", "kendall"]].isna().all()
