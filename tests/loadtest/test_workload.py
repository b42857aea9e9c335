"""A client's loop: a vote only after a pair it was shown, a pause after a busy refusal, a new visitor after a few
actions, nothing past the deadline. A session stand-in records the calls; the real sessions against the real
server: tests/service/test_load.py."""

from __future__ import annotations

import itertools
import random
import threading
import time

from gradio_client.exceptions import AppError
from PIL import Image

from studio.loadtest.outcomes import BUSY, OK
from studio.loadtest.workload import Client, Workload, drive, write_test_image

SLOW_DOWN = "slow down: too many votes from this session in the last minute (try again in 9 s)"


class Recording:
    """Stands in for workload.Session: answers at once, or refuses draws with a busy message."""

    numbers = itertools.count()

    def __init__(self, busy: bool = False):
        self.index, self.busy, self.calls, self.waiting, self.left = 7, busy, [], None, False
        self.number = next(self.numbers)

    def compare(self, workload: Workload) -> None:
        self.calls.append("compare")

    def draw(self) -> None:
        self.calls.append("pair")
        if self.busy:
            raise AppError(SLOW_DOWN)

    def vote(self, winner: str) -> None:
        assert self.calls[-1] == "pair" and self.waiting[0] == "vote"
        self.calls.append(f"vote_{winner}")

    def leave(self) -> None:
        self.left = True


def run(client: Client, seconds: float, **workload) -> list:
    workload = Workload(image=None, models=("clahe",), **{"session_actions": 0, "backoff_s": 0.0, **workload})
    records: list = []
    origin = time.monotonic()
    drive(client, workload, origin, origin + seconds, random.Random(0), records, threading.Event())
    assert time.monotonic() - origin < seconds + 0.2  # nothing starts after the deadline
    return records


def test_each_vote_follows_the_pair_it_was_shown():
    session = Recording()
    records = run(Client(7, [session], Recording), seconds=0.05, compare_share=0.5)
    kinds = [record.kind for record in records]
    assert {"compare", "pair", "vote"} <= set(kinds) and all(r.outcome == OK and r.client == 7 for r in records)
    assert all(kinds[i - 1] == "pair" for i, kind in enumerate(kinds) if kind == "vote")
    assert kinds.count("vote") == kinds.count("pair") and session.waiting is None


def test_a_busy_refusal_pauses_the_client_and_casts_no_vote():
    records = run(Client(7, [Recording(busy=True)], Recording), seconds=1.0, compare_share=0.0, backoff_s=0.3)
    assert [record.kind for record in records] == ["pair"] * len(records) and 3 <= len(records) <= 5
    assert {(record.outcome, record.text) for record in records} == {(BUSY, SLOW_DOWN)}


def test_a_visitor_leaves_after_its_actions_and_a_new_session_takes_over():
    client = Client(7, [Recording()], Recording)
    records = run(client, seconds=0.05, compare_share=1.0, session_actions=3)
    kinds = [record.kind for record in records]
    assert kinds[:8] == ["compare"] * 3 + ["session"] + ["compare"] * 3 + ["session"]
    *old, last = client.sessions
    assert len(old) >= 2 and all(session.left and session.calls == ["compare"] * 3 for session in old)
    assert not last.left and len(last.calls) <= 3  # the one in use when the clock ran out
    assert len({session.number for session in client.sessions}) == len(client.sessions)


def test_the_test_image_is_a_small_rgb_png_the_same_for_a_seed(tmp_path):
    first = write_test_image(tmp_path / "a.png", 96, seed=1)
    again = write_test_image(tmp_path / "b.png", 96, seed=1)
    with Image.open(first) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (96, 96))
    assert first.read_bytes() == again.read_bytes()
