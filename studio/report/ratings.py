"""Human ratings of a report's models, read from the ratings store: the leaderboard, MOS, metric agreement.

Every statistic is the ratings package's own (leaderboard.py: Bradley-Terry with bootstrap intervals,
MOS t-intervals, and the metric-agreement correlations), computed over the counted votes between the
report's models only (every round and task) and the counted MOS scores of those models. The metric
values are the report's own (a batch run's per-model means, or one comparison's values), so the
agreement says whether this run's numbers rank the models as the raters did. Lower-is-better metrics
are sign-flipped there (metric_agreement), so +1 always means "the same order as the raters".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from studio.metrics import get_metric
from studio.report.model import Cell, RatingsView, Table, number_cell

if TYPE_CHECKING:
    import pandas as pd

    from studio.ratings.store import Database

ROUNDS = 200  # bootstrap resamples, as the Leaderboard tab and `studio leaderboard` use by default
MIN_AGREEMENT_MODELS = 3  # metric_agreement's own floor: fewer models have no meaningful rank correlation
HOW_TO_RATE = (
    "rate them in the app's Arena and MOS tabs (after `studio ratings prepare` or the Compare tab's Send to "
    "arena), or bring votes in with `studio ratings import`"
)


def _interval(low: float, high: float, digits: int) -> str:
    import math

    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{low:.{digits}f} – {high:.{digits}f}"


def _leaderboard_table(board: pd.DataFrame) -> Table:
    headers = ["rank", "model", "rating", "95 % interval", "battles", "wins", "ties", "losses"]
    rows = [
        (
            row.model,
            [
                number_cell(str(rank), rank),
                Cell(row.model),
                number_cell(f"{row.rating:.0f}", row.rating),
                Cell(_interval(row.ci_low, row.ci_high, 0)),
                *(number_cell(str(int(v)), int(v)) for v in (row.battles, row.wins, row.ties, row.losses)),
            ],
        )
        for rank, row in enumerate(board.itertuples(index=False), start=1)
    ]
    better = ["lower", None, "higher", None, None, "higher", None, "lower"]  # rank 1, the highest rating first
    return Table(headers, rows, css="leaderboard", better=better)


def _mos_table(summary: pd.DataFrame) -> Table:
    headers = ["rank", "model", "MOS", "95 % interval", "scores"]
    rows = [
        (
            row.model,
            [
                number_cell(str(rank), rank),
                Cell(row.model),
                number_cell(f"{row.mos:.2f}", row.mos),
                Cell(_interval(row.ci_low, row.ci_high, 2)),
                number_cell(str(int(row.votes)), int(row.votes)),
            ],
        )
        for rank, row in enumerate(summary.itertuples(index=False), start=1)
    ]
    return Table(headers, rows, css="mos", better=["lower", None, "higher", None, None])


def _correlation(value: float, low: float, high: float) -> list[Cell]:
    import math

    shown = f"{value:.2f}" if math.isfinite(value) else "–"
    return [number_cell(shown, value if math.isfinite(value) else None), Cell(_interval(low, high, 2))]


def _agreement_table(agreement: pd.DataFrame) -> Table:
    headers = ["metric", "better", "models", "Spearman", "Spearman 95 %", "Kendall", "Kendall 95 %"]
    rows = []
    for row in agreement.itertuples(index=False):
        spec = get_metric(row.metric)
        rows.append(
            (
                row.metric,
                [
                    Cell(spec.name),
                    Cell("lower (sign-flipped)" if spec.lower_better else "higher"),
                    number_cell(str(int(row.models)), int(row.models)),
                    *_correlation(row.spearman, row.spearman_low, row.spearman_high),
                    *_correlation(row.kendall, row.kendall_low, row.kendall_high),
                ],
            )
        )
    better = [None, None, None, "higher", None, "higher", None]  # +1: the raters' order
    return Table(headers, rows, css="agreement", better=better)


def _means_frame(means: Mapping[str, Mapping[str, float | None]], metric_ids: Sequence[str]) -> pd.DataFrame:
    """Model x metric (NaN where missing); models without any value are left out (a model that failed)."""
    import pandas as pd

    frame = pd.DataFrame(
        {m: [(means.get(model) or {}).get(m) for model in means] for m in metric_ids}, index=list(means), dtype=float
    )
    return frame.dropna(how="all")


def _agreement(
    counted: pd.DataFrame,
    means: Mapping[str, Mapping[str, float | None]],
    metric_ids: Sequence[str],
    means_source: str,
) -> tuple[Table | None, list[str]]:
    from studio.ratings.leaderboard import metric_agreement, models_in

    frame = _means_frame(means, metric_ids)
    rated = models_in(counted[counted["model_a"].isin(frame.index) & counted["model_b"].isin(frame.index)])
    if not metric_ids:
        return None, ["Metric agreement: the report scored no metric."]
    if len(rated) < MIN_AGREEMENT_MODELS:
        return None, [
            f"Metric agreement needs counted votes between at least {MIN_AGREEMENT_MODELS} of the models that "
            f"have metric values; there {'is' if len(rated) == 1 else 'are'} {len(rated)}."
        ]
    lower = {m: get_metric(m).lower_better for m in metric_ids}
    agreement = metric_agreement(counted, frame, lower, rounds=ROUNDS)
    lines = [
        f"Rank correlation of each metric ({means_source}) with the arena ratings, over the {len(rated)} rated "
        "models: +1 means the metric orders them as the raters do, -1 the reverse (metrics where lower is "
        f"better are sign-flipped first). 95 % intervals from {ROUNDS} resamples of the votes."
    ]
    skipped = [get_metric(m).name for m in metric_ids if m not in set(agreement["metric"])]
    if skipped:
        lines.append(f"Not compared (no value for some rated model): {', '.join(skipped)}.")
    return _agreement_table(agreement), lines


def ratings_view(
    open_store: Callable[[], Database | None],
    models: Sequence[str],
    means: Mapping[str, Mapping[str, float | None]],
    metric_ids: Sequence[str],
    means_source: str,
    flagged: Sequence[str] = (),
) -> RatingsView:
    """The ratings section for `models`: `means` is model -> metric -> the report's value for it; `flagged`
    names the models whose values the report marks as not comparable with the others (another size).

    `open_store` gives the ratings store, or None when this machine has none; no store, or a store
    without ratings of these models, gives a one-line section saying so, and a store that cannot be
    opened or read gives one line with the reason (the rest of the report does not depend on it).
    """
    from studio.ratings.leaderboard import leaderboard, models_in, mos_summary
    from studio.ratings.store_transfer import scores_frame, votes_frame

    wanted = set(models)
    try:
        db = open_store()
        if db is None:
            return RatingsView([f"No human ratings: this machine has no ratings store yet; {HOW_TO_RATE}."])
        counted, everything, scores = votes_frame(db), votes_frame(db, include_flagged=True), scores_frame(db)
    except Exception as exc:  # an optional section: whatever the database says becomes its one line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RatingsView([f"The ratings store could not be read ({reason[:200]}): no human ratings shown."])

    def between(votes: pd.DataFrame) -> pd.DataFrame:
        return votes[votes["model_a"].isin(wanted) & votes["model_b"].isin(wanted)]

    counted, too_fast = between(counted), len(between(everything)) - len(between(counted))
    scores = scores[scores["model"].isin(wanted) & ~scores["hidden_reference"].astype(bool)]
    flagged_note = f" {too_fast} flagged vote(s) between them left out (cast too fast)." if too_fast else ""
    if counted.empty and scores.empty:
        return RatingsView(
            [
                f"No human ratings of these models yet (no counted arena vote between two of them, no MOS score): "
                f"{HOW_TO_RATE}.{flagged_note}"
            ]
        )
    lines, board_table, mos_table, agreement, agreement_lines = [], None, None, None, []
    if not counted.empty:
        board = leaderboard(counted, rounds=ROUNDS)
        rated = models_in(counted)
        lines.append(
            f"{len(counted)} counted arena vote(s) between {len(rated)} of these {len(wanted)} models, from every "
            "round and task in the ratings store. Bradley-Terry ratings on an Elo-like scale (mean 1000), fitted on "
            f"these votes only (so they can differ from the Leaderboard tab's), with 95 % bootstrap intervals "
            f"({ROUNDS} resamples).{flagged_note}"
        )
        missing = [m for m in models if m not in rated]
        if missing:
            lines.append(f"No counted votes: {', '.join(missing)}.")
        board_table = _leaderboard_table(board)
        agreement, agreement_lines = _agreement(counted, means, metric_ids, means_source)
        shown = [m for m in flagged if m in rated]
        if agreement is not None and shown:
            agreement_lines.append(
                f"Flagged in the table (scored at another size than the others, so their full-reference values "
                f"are not comparable): {', '.join(shown)}. They are ranked with the rest here."
            )
    else:
        lines.append(f"No counted arena vote between two of these models.{flagged_note}")
        agreement_lines = ["Metric agreement needs arena votes between these models."]
    mos_lines = []
    if not scores.empty:
        mos_table = _mos_table(mos_summary(scores))
        mos_lines.append(
            f"{len(scores)} counted MOS score(s) (ITU-T P.913 ACR: 1 Bad to 5 Excellent) of "
            f"{scores['model'].nunique()} of these models, with Student t 95 % intervals."
        )
    return RatingsView(lines, board_table, mos_table, mos_lines, agreement, agreement_lines)
