"""The MOS tab: one output at a time, scored on the ITU-T P.913 absolute category rating scale (5-1).

Now and then (REFERENCE_RATE) the unprocessed input is shown as if it were an output: a
hidden reference, so raters who call an original "poor" can be found. What was rated is
said only after the score is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from studio.core.media import decode
from studio.core.ratelimit import VOTES
from studio.ratings.leaderboard import mos_summary
from studio.ratings.store_mos import MosTask, draw_mos, score_mos
from studio.ratings.store_transfer import scores_frame
from studio.services import Services
from studio.ui.limits import check
from studio.ui.raters import RATING_EVENT, Rater, counts_votes, rater_of, refusing
from studio.ui.ratings_views import ACR_QUESTION, acr_choices, mos_view, score_text

REFERENCE_RATE = 0.1  # share of draws that show the hidden reference
MIN_VIEW_S = 1.0  # store_mos.score_mos's default: faster scores are flagged too_fast
INTRO = (
    "One image at a time, without its model's name. Look at it for a moment, then answer: "
    f"*{ACR_QUESTION}* (ITU-T P.913 absolute category rating). The model is named after you score."
)


@dataclass(frozen=True, eq=False)
class MosTab:
    state: gr.State  # the MosTask shown to this session
    image: gr.Image
    score: gr.Radio
    next_image: gr.Button
    submit: gr.Button
    message: gr.Markdown
    table: gr.Dataframe


def build_layout() -> MosTab:
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            image = gr.Image(
                label="Image",
                alt_text="image to rate",
                type="numpy",
                format="png",
                interactive=False,
                elem_id="mos-image",
            )
        with gr.Column(scale=1, min_width=260):
            score = gr.Radio(acr_choices(), value=None, label=ACR_QUESTION, elem_id="mos-score")
            submit = gr.Button("Submit score", variant="primary", interactive=False, elem_id="mos-submit")
            next_image = gr.Button("Next image", elem_id="mos-next")
            message = gr.Markdown("Press **Next image** to start.", elem_id="mos-message")
    table = gr.Dataframe(
        value=mos_view(pd.DataFrame(columns=["model", "mos", "ci_low", "ci_high", "votes"])),
        label="Mean opinion score per model (95 % t-interval; flagged scores left out)",
        interactive=False,
        elem_id="mos-table",
    )
    return MosTab(gr.State(None), image, score, next_image, submit, message, table)


# ---- handlers ---------------------------------------------------------------------------------


def mos_table(services: Services) -> pd.DataFrame:
    return mos_view(mos_summary(scores_frame(services.ratings)))


def draw(services: Services, rater: Rater) -> list:
    db = services.ratings
    task = refusing(lambda: draw_mos(db, rater.id, REFERENCE_RATE))
    image = refusing(lambda: decode(db.file_path(task.path), services.settings.max_pixels)).rgb
    prompt = "Score this image, then press **Submit score**."
    return [task, image, gr.update(value=None), prompt, gr.update(interactive=True)]


@counts_votes("mos")
def submit(services: Services, rater: Rater, task: MosTask | None, score: int | None) -> list:
    if task is None:
        raise gr.Error("No image to score: press Next image first.")
    if score is None:
        raise gr.Error("Pick a score first: 5 Excellent, 4 Good, 3 Fair, 2 Poor or 1 Bad.")
    check(services, VOTES, rater.id, rater.ip)
    now = time.time()
    rated = refusing(lambda: score_mos(services.ratings, task.id, rater.id, score, MIN_VIEW_S, now))
    flags = "too_fast" if now - task.shown_at < MIN_VIEW_S else ""
    names = {spec.id: spec.name for spec in services.registry}
    text = score_text(rated, int(score), flags, names)
    return [text, mos_table(services), gr.update(interactive=False)]


# ---- wiring -------------------------------------------------------------------------------------


def build_mos_tab(services: Services, tab: gr.Tab) -> MosTab:
    view = build_layout()

    def next_image(request: gr.Request) -> list:
        return draw(services, rater_of(request, services.settings))

    def submit_score(task: MosTask | None, score: int | None, request: gr.Request) -> list:
        return submit(services, rater_of(request, services.settings), task, score)

    view.next_image.click(
        next_image,
        None,
        [view.state, view.image, view.score, view.message, view.submit],
        api_name="next_image",
        **RATING_EVENT,
    )
    view.submit.click(
        submit_score,
        [view.state, view.score],
        [view.message, view.table, view.submit],
        api_name="submit_score",
        **RATING_EVENT,
    )
    tab.select(lambda: mos_table(services), None, view.table, api_name="mos_table", **RATING_EVENT)
    return view
