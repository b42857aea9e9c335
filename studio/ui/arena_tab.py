"""The Arena tab: a blind A/B battle between two outputs of one input, revealed after the vote.

Only the two images (as arrays Gradio serves from its own cache under neutral names), the
labels "A" and "B" and a common display size reach the page before the vote; the battle id
and the arrays stay on the server in the session's state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import gradio as gr
import numpy as np

from studio.core.media import decode
from studio.core.ratelimit import VOTES
from studio.ratings.store_arena import WINNERS, ArenaPolicy, cast_vote, draw_battle
from studio.services import Services
from studio.ui.limits import check
from studio.ui.raters import RATING_EVENT, Rater, counts_votes, rater_of, refusing, task_choices
from studio.ui.ratings_views import ALL, WINNER_LABELS, display_pair, reveal_text, same_crop

POLICY = ArenaPolicy()
INTRO = (
    "Two outputs of the same input, in random order, names hidden. Drag the slider, compare them side by side "
    "and zoom into the same region of both, then say which is better; the names are revealed after your vote. "
    f"Look for at least {POLICY.min_view_s:g} s: faster votes are stored but kept out of the leaderboard."
)
PROMPT = "Which is better, **A** or **B**?"


@dataclass(frozen=True, eq=False)
class ArenaPair:
    """What the session was shown: kept server-side in gr.State, never sent to the page."""

    battle_id: str
    left: np.ndarray  # A, at the common display size
    right: np.ndarray  # B


@dataclass(frozen=True, eq=False)
class ArenaTab:
    round: gr.Dropdown
    task: gr.Dropdown
    new_pair: gr.Button
    state: gr.State
    slider: gr.ImageSlider
    image_a: gr.Image
    image_b: gr.Image
    votes: dict[str, gr.Button]  # winner -> its button
    message: gr.Markdown
    zoom_x: gr.Slider
    zoom_y: gr.Slider
    zoom_size: gr.Slider
    zoom_a: gr.Image
    zoom_b: gr.Image

    def draw_outputs(self) -> list:
        return [self.state, self.slider, self.image_a, self.image_b, self.message, *self.votes.values()]


def _image(label: str, elem_id: str, height: int | None = None) -> gr.Image:
    return gr.Image(
        label=label, alt_text=label, type="numpy", format="png", interactive=False, height=height, elem_id=elem_id
    )


def build_layout() -> ArenaTab:
    gr.Markdown(INTRO)
    with gr.Row():
        round_pick = gr.Dropdown(  # app.py fills in the rounds when the page loads
            [("all rounds", ALL)], value=ALL, label="Round", allow_custom_value=True, elem_id="arena-round"
        )
        task = gr.Dropdown(task_choices(), value=ALL, label="Task", elem_id="arena-task")
        new_pair = gr.Button("New pair", variant="primary", elem_id="arena-new")
    slider = gr.ImageSlider(label="A ◀ ▶ B", type="numpy", format="png", interactive=False, elem_id="arena-slider")
    with gr.Row():
        image_a = _image("A", "arena-a")
        image_b = _image("B", "arena-b")
    with gr.Row():
        votes = {
            winner: gr.Button(WINNER_LABELS[winner], interactive=False, elem_id=f"vote-{winner.replace('_', '-')}")
            for winner in WINNERS
        }
    message = gr.Markdown("Press **New pair** to start.", elem_id="arena-message")
    with gr.Accordion("Synced zoom: the same region of A and B at 1:1", open=True):
        with gr.Row():
            zoom_x = gr.Slider(0, 1, value=0.5, step=0.01, label="Centre x")
            zoom_y = gr.Slider(0, 1, value=0.5, step=0.01, label="Centre y")
            zoom_size = gr.Slider(32, 512, value=128, step=16, label="Crop size (px)")
        with gr.Row():
            zoom_a = _image("A", "arena-zoom-a", height=320)
            zoom_b = _image("B", "arena-zoom-b", height=320)
    return ArenaTab(
        round_pick, task, new_pair, gr.State(None), slider, image_a, image_b, votes, message,
        zoom_x, zoom_y, zoom_size, zoom_a, zoom_b,
    )  # fmt: skip


# ---- handlers: plain functions from values to values ----------------------------------------


def policy(services: Services) -> ArenaPolicy:
    """POLICY with the store's own per-minute vote limits set to STUDIO_RATE_VOTES (0: off), so the database's
    check, which servers sharing one database also share, agrees with the in-memory one (ui/limits.py)."""
    rate = services.settings.rate_votes
    return replace(POLICY, votes_per_minute_session=rate.per_session, votes_per_minute_ip=rate.per_address)


def draw(services: Services, rater: Rater, round_name: str | None, task: str | None) -> list:
    """A new battle for this rater: the pair at one size, the vote buttons enabled."""
    db = services.ratings
    battle = refusing(lambda: draw_battle(db, rater.id, rater.ip, policy(services), round_name or None, task or None))
    left, right = (
        refusing(lambda path=path: decode(db.file_path(path), services.settings.max_pixels)).rgb
        for path in (battle.left_path, battle.right_path)
    )
    left, right = display_pair(left, right)
    enabled = [gr.update(interactive=True) for _ in WINNERS]
    return [ArenaPair(battle.id, left, right), (left, right), left, right, PROMPT, *enabled]


def zoom(pair: ArenaPair | None, x: float, y: float, size: float):
    if pair is None:
        return None, None
    return same_crop(pair.left, pair.right, float(x), float(y), int(size))


@counts_votes("arena")
def vote(services: Services, rater: Rater, pair: ArenaPair | None, winner: str) -> list:
    """Store the vote (the store checks it), reveal the names and disable voting until the next pair."""
    if pair is None:
        raise gr.Error("No pair to vote on: press New pair first.")
    check(services, VOTES, rater.id, rater.ip)
    rules = policy(services)
    result = refusing(lambda: cast_vote(services.ratings, pair.battle_id, rater.id, winner, rules, rater.ip))
    names = {spec.id: spec.name for spec in services.registry}
    text = reveal_text(result.model_a, result.model_b, result.winner, result.flags, names, POLICY.min_view_s)
    return [text, *(gr.update(interactive=False) for _ in WINNERS)]


# ---- wiring -----------------------------------------------------------------------------------


def _voter(services: Services, winner: str):
    def on_vote(pair: ArenaPair | None, request: gr.Request) -> list:
        return vote(services, rater_of(request, services.settings), pair, winner)

    return on_vote


def build_arena_tab(services: Services) -> ArenaTab:
    tab = build_layout()

    def new_pair(round_name: str | None, task: str | None, request: gr.Request) -> list:
        return draw(services, rater_of(request, services.settings), round_name, task)

    drawn = tab.new_pair.click(new_pair, [tab.round, tab.task], tab.draw_outputs(), api_name="new_pair", **RATING_EVENT)
    zoom_inputs = [tab.state, tab.zoom_x, tab.zoom_y, tab.zoom_size]
    drawn.success(zoom, zoom_inputs, [tab.zoom_a, tab.zoom_b], api_name="arena_zoom_after_draw", **RATING_EVENT)
    gr.on(
        [tab.zoom_x.release, tab.zoom_y.release, tab.zoom_size.release],
        zoom,
        zoom_inputs,
        [tab.zoom_a, tab.zoom_b],
        api_name="arena_zoom",
        **RATING_EVENT,
    )
    for winner, button in tab.votes.items():
        button.click(
            _voter(services, winner),
            tab.state,
            [tab.message, *tab.votes.values()],
            api_name=f"vote_{winner}",
            **RATING_EVENT,
        )
    return tab
