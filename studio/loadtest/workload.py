"""What each client does: its own gradio_client session comparing a small image with quick models and voting in
the arena, each request timed and judged (outcomes.py). Also the setup a fresh server needs: a pair to vote on.

Every session is a rater of its own (the server keys votes by Gradio's session hash), so after the run the votes
the server acknowledged to each session can be looked up in its ratings database.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from studio.core.errors import UsageError
from studio.loadtest.outcomes import OK, Record, UnexpectedAnswer, judge, timed_call
from studio.ratings.store_arena import WINNERS

PROMPT = "Which is better, **A** or **B**?"  # what /new_pair says with a drawn pair (ui/arena_tab.py)
NOTHING_TO_RATE = "nothing to rate yet"  # /new_pair on a store without items (ratings/store_arena.py)
# The Compare form's fields (/build_request's parameters, matched by the start of their labels) that hold models.
MODEL_GROUPS = ("Super resolution", "Denoise", "Deblur", "Sharpen", "Contrast")


@dataclass(frozen=True)
class Workload:
    """The requests the clients send: /compare of `image` with `models` (scored with `metrics`), or a vote."""

    image: Path
    models: tuple[str, ...]
    metrics: tuple[str, ...] = ("sharpness",)
    compare_share: float = 0.5  # of a client's actions; the rest draw a pair and vote on it
    backoff_s: float = 1.0  # a client told the server is busy waits this long, as a person would before retrying
    session_actions: int = 10  # a visitor leaves after this many actions and a new one comes (0: one session)


def write_test_image(path: Path, side: int, seed: int = 0) -> Path:
    """A small RGB PNG with smooth gradients, edges and some noise: something every quick model changes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / max(side - 1, 1)
    squares = ((np.floor(x * 6) + np.floor(y * 6)) % 2) * 60
    channels = [120 * x + squares, 120 * y + squares, 90 * (1 - x) + squares]
    image = np.stack(channels, axis=-1) + rng.normal(0, 8, (side, side, 3))
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    return path


class Session:
    """One client: a gradio_client session of its own, and the votes the server acknowledged to it."""

    def __init__(self, index: int, url: str, timeout_s: float, tls: ssl.SSLContext):
        """`tls`: one context for every session. gradio_client opens a new httpx client for each request, and each
        loaded the CA bundle again when given no context: 60-70 ms of the driver's CPU per request, measured here
        (6 ms with a shared context), which with 20 clients took a core from the server under test."""
        from gradio_client import Client

        self.index = index
        self.client = Client(
            url, verbose=False, download_files=False, httpx_kwargs={"timeout": timeout_s}, ssl_verify=tls,
            analytics_enabled=False,
        )  # fmt: skip
        self.acknowledged = 0
        self.waiting: tuple[str, float] | None = None  # the kind of request in flight and when it started

    @property
    def rater_id(self) -> str:
        """What the server stores as this session's rater (ui/raters.py: Gradio's session hash)."""
        return self.client.session_hash

    def compare(self, workload: Workload) -> None:
        from gradio_client import handle_file

        image, models, metrics = handle_file(str(workload.image)), list(workload.models), list(workload.metrics)
        gallery, _, details = self.client.predict(image, models, metrics, "", None, 512, "{}", api_name="/compare")
        failed = [row["model"] for row in details.get("rows", []) if row.get("error")]
        if len(gallery) != len(workload.models) or failed or details.get("cancelled"):
            raise UnexpectedAnswer(
                f"/compare gave {len(gallery)} of {len(workload.models)} outputs (failed: {failed or 'none'}, "
                f"cancelled: {details.get('cancelled')})"
            )

    def draw(self) -> None:
        answer = self.client.predict("", "", api_name="/new_pair")
        if answer[-1] != PROMPT:
            raise UnexpectedAnswer(f"/new_pair said {str(answer[-1])[:80]!r}")

    def vote(self, winner: str) -> None:
        reveal = self.client.predict(api_name=f"/vote_{winner}")
        if not str(reveal).startswith("A was "):
            raise UnexpectedAnswer(f"/vote_{winner} said {str(reveal)[:80]!r}")
        self.acknowledged += 1

    def close(self) -> None:
        self.client.close()

    def leave(self) -> None:
        """Close in the background: gradio_client's close waits up to 1 s for its heartbeat thread."""
        threading.Thread(target=self.close, name=f"close-session-{self.index}", daemon=True).start()


@dataclass
class Client:
    """One of the concurrent clients: a visitor after another, each its own session (the first opened before the
    clock started). Every session it used stays in `sessions`, for counting its votes afterwards."""

    index: int
    sessions: list[Session]
    open_session: Callable[[], Session]


def drive(
    client: Client,
    workload: Workload,
    origin: float,
    deadline: float,
    rng: random.Random,
    records: list[Record],
    stop: threading.Event,
) -> None:
    """Send requests one after another until `deadline` (time.monotonic()): a closed loop, as a person waits for
    each answer. A vote follows its pair at once; a refusal or an error is followed by a pause of `backoff_s`;
    after `session_actions` actions the visitor leaves and a new session opens (the page loaded again)."""
    session, actions = client.sessions[-1], 0

    def call(kind: str, action: Callable[[], Any]) -> Record:
        session.waiting = (kind, time.monotonic())
        try:
            return timed_call(kind, client.index, origin, action)
        finally:
            session.waiting = None

    while time.monotonic() < deadline and not stop.is_set():
        if workload.session_actions and actions >= workload.session_actions:
            opened: list[Session] = []
            done = [call("session", partial(_open_into, client, opened))]
            if opened:
                session.leave()
                session, actions = opened[0], 0
                client.sessions.append(session)
        elif rng.random() < workload.compare_share:
            done, actions = [call("compare", partial(session.compare, workload))], actions + 1
        else:
            done, actions = [call("pair", session.draw)], actions + 1
            if done[0].outcome == OK:
                done.append(call("vote", partial(session.vote, rng.choice(WINNERS))))
        records.extend(done)  # list.extend is atomic under the GIL: the clients share one list
        if done[-1].outcome != OK:
            stop.wait(min(workload.backoff_s, max(0.0, deadline - time.monotonic())))


def _open_into(client: Client, opened: list[Session]) -> None:
    opened.append(client.open_session())


def ensure_pairs(session: Session, workload: Workload) -> str:
    """Make sure the arena has a pair to vote on: when it has none, run the workload's models on its image the way
    the page does (/build_request, /run) and send the run to the arena. Says what it did."""
    try:
        session.draw()
        return "the arena already had pairs to vote on"
    except Exception as exc:
        if NOTHING_TO_RATE not in str(exc):
            raise UsageError(f"cannot draw an arena pair: {judge(exc)[1]}") from None
    from gradio_client import handle_file

    if len(workload.models) < 2:
        raise UsageError("the arena is empty and one model cannot make a pair: give at least two models")
    image = handle_file(str(workload.image))
    session.client.predict(*_form(session, image, workload), api_name="/build_request")
    session.client.predict(image, None, "png", api_name="/run")
    sent = session.client.predict(image, api_name="/send_to_arena")
    session.draw()
    return f"the arena was empty: {sent} (through /build_request, /run and /send_to_arena)"


def _form(session: Session, image: Any, workload: Workload) -> list[Any]:
    """/build_request's arguments: the form's defaults, the image, the workload's metrics, and each model in the
    group whose choices hold it."""
    endpoints = session.client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    values: list[Any] = []
    placed: set[str] = set()
    for parameter in endpoints["/build_request"]["parameters"]:
        label, value = parameter["label"], parameter["parameter_default"]
        if label.startswith("Image"):
            value = image
        elif label.startswith("Metrics"):
            value = list(workload.metrics)
        elif label.startswith(MODEL_GROUPS):
            choices = set(parameter["type"].get("items", {}).get("enum", []))
            value = [model for model in workload.models if model in choices]
            placed.update(value)
        values.append(value)
    missing = [model for model in workload.models if model not in placed]
    if missing:
        raise UsageError(f"the Compare form offers no {', '.join(missing)}: cannot send a run to the arena")
    return values
