"""The Leaderboard tab: Bradley-Terry ratings with bootstrap intervals, pair heatmaps, metric agreement.

Flagged votes (cast faster than the minimum viewing time) are stored but left out, and the
summary line says how many. It refreshes when the tab is opened, on Refresh, and when a
filter changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from studio.ratings.leaderboard import leaderboard, low_reference_raters, metric_agreement, pair_matrices
from studio.ratings.store_items import output_metrics
from studio.ratings.store_transfer import scores_frame, votes_frame
from studio.services import Services
from studio.ui.heatmap import counts_html, win_rate_html
from studio.ui.raters import rounds_update, task_choices
from studio.ui.ratings_views import ALL, agreement_view, leaderboard_view, lower_better, metric_means

MIN_MODELS_FOR_AGREEMENT = 3
INTRO = (
    "Ratings from the arena's votes (Bradley-Terry on an Elo-like scale, mean 1000; ties and 'both bad' count "
    "half a win each) with 95 % bootstrap intervals. Votes cast faster than the minimum viewing time are left out."
)


@dataclass(frozen=True, eq=False)
class LeaderboardTab:
    task: gr.Dropdown
    round: gr.Dropdown
    refresh: gr.Button
    summary: gr.Markdown
    table: gr.Dataframe
    win_rate: gr.HTML
    counts: gr.HTML
    agreement: gr.Dataframe

    def outputs(self) -> list:
        return [self.summary, self.table, self.win_rate, self.counts, self.agreement, self.round]


def build_layout() -> LeaderboardTab:
    gr.Markdown(INTRO)
    with gr.Row():
        task = gr.Dropdown(task_choices(), value=ALL, label="Task", elem_id="board-task")
        round_pick = gr.Dropdown(
            [("all rounds", ALL)], value=ALL, label="Round", allow_custom_value=True, elem_id="board-round"
        )
        refresh = gr.Button("Refresh", elem_id="board-refresh")
    summary = gr.Markdown(elem_id="board-summary")
    table = gr.Dataframe(label="Leaderboard", interactive=False, elem_id="board-table")
    with gr.Row(equal_height=False):
        win_rate = gr.HTML(elem_id="board-win-rate")
        counts = gr.HTML(elem_id="board-counts")
    agreement = gr.Dataframe(
        label="Do the metrics agree with the raters? Rank correlation of each metric's per-model mean with the "
        "ratings (sign flipped where lower is better), 95 % bootstrap intervals",
        interactive=False,
        visible=False,
        elem_id="board-agreement",
    )
    return LeaderboardTab(task, round_pick, refresh, summary, table, win_rate, counts, agreement)


# ---- handlers -----------------------------------------------------------------------------------


def summary_text(counted: int, flagged: int, models: int, doubtful_raters: int = 0) -> str:
    doubt = (
        f" {doubtful_raters} MOS rater(s) scored the hidden reference (the unprocessed input) below 3 on average:"
        " treat their MOS scores with care."
        if doubtful_raters
        else ""
    )
    if not counted and not flagged:
        return "No votes yet: vote in the **Arena** tab." + doubt
    return (
        f"{counted} vote(s) between {models} model(s) counted; {flagged} flagged vote(s) left out (too fast)." + doubt
    )


def agreement_frame(services: Services, votes: pd.DataFrame, models: int) -> pd.DataFrame | None:
    """Metric agreement over the rated items, or None with fewer than three models."""
    if models < MIN_MODELS_FOR_AGREEMENT:
        return None
    means = metric_means(output_metrics(services.ratings), votes["item_id"])
    if means.empty:
        return None
    return agreement_view(metric_agreement(votes, means, lower_better(means.columns)))


def board(services: Services, task: str | None, round_name: str | None) -> list:
    db = services.ratings
    task, round_name = task or None, round_name or None
    votes = votes_frame(db, task, round_name)
    flagged = len(votes_frame(db, task, round_name, include_flagged=True)) - len(votes)
    ranked = leaderboard(votes)
    order = list(ranked["model"])
    rate, counts = pair_matrices(votes)
    rate, counts = rate.loc[order, order], counts.loc[order, order]
    agreement = agreement_frame(services, votes, len(order))
    return [
        summary_text(len(votes), flagged, len(order), len(low_reference_raters(scores_frame(db)))),
        leaderboard_view(ranked),
        win_rate_html(rate, counts),
        counts_html(counts),
        gr.update(value=agreement, visible=agreement is not None),
        rounds_update(db, round_name or ALL),
    ]


# ---- wiring -------------------------------------------------------------------------------------


def build_leaderboard_tab(services: Services, tab: gr.Tab) -> LeaderboardTab:
    view = build_layout()
    gr.on(
        [view.refresh.click, tab.select, view.task.input, view.round.input],
        lambda task, round_name: board(services, task, round_name),
        [view.task, view.round],
        view.outputs(),
        api_name="leaderboard",
    )
    return view
