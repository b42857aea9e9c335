"""The Arena, MOS, Leaderboard and Send-to-arena events through gradio_client, against the real app.

Each Client is its own session (its own gr.State), as each browser tab is. The app runs on a
fresh data folder seeded with a round of three fake models before it starts.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.ratings.leaderboard import leaderboard
from studio.ratings.store_arena import WINNERS, ArenaPolicy
from studio.ratings.store_transfer import scores_frame, votes_frame
from tests.ui.ratings import FAKE_MODELS, open_store, seed_round, start_app
from tests.ui.test_page_events import form

SESSIONS = 50


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("ratings-app")


@pytest.fixture(scope="module")
def app_server(home, photo):
    """This module's own app (named like conftest's, so the network/slow markers apply) on a seeded data dir."""
    db = open_store(home)
    seed_round(db, photo, items=2, side=48)
    db.dispose()
    app = start_app(home)
    yield app
    app.stop()


@pytest.fixture
def store(home, app_server):
    db = open_store(home)
    yield db
    db.dispose()


def session(app_server) -> Client:
    """A new session (its own gr.State); generous timeouts, as 2 cores serve many at once."""
    return Client(app_server.url, verbose=False, download_files=False, httpx_kwargs={"timeout": 120})


def stored_votes(store) -> int:
    return len(votes_frame(store, include_flagged=True))


def test_a_drawn_pair_names_no_model_and_shows_both_at_one_size(app_server):
    """What the API (and so the page) receives before the vote: neutral file names, one size, no model id."""
    client = session(app_server)
    slider, image_a, image_b, message = client.predict("", "", api_name="/new_pair")  # (buttons are not returned)
    served = json.dumps([slider, image_a, image_b, message])
    assert not [model for model in FAKE_MODELS if model in served]
    files = [*slider, image_a, image_b]
    assert {file["orig_name"] for file in files} == {"image.png"}  # Gradio's cache: hashed folder, neutral name
    assert all(file["url"].endswith("/image.png") for file in files)
    assert [file["path"] for file in slider] == [image_a["path"], image_b["path"]]  # the slider is A then B
    assert len({Image.open(file["path"]).size for file in files}) == 1
    assert message == "Which is better, **A** or **B**?"
    # A pair with the x2 output (96 px) shows its partner (48 px) at 96 px too, so size says nothing.
    # Each draw picks one of the 6 unvoted pairs at random, 4 of which hold the x2 output.
    shown = set()
    for _ in range(10):
        _, image_a, image_b, _ = client.predict("", "", api_name="/new_pair")
        shown.add((Image.open(image_a["path"]).size, Image.open(image_b["path"]).size))
    assert shown == {((96, 96), (96, 96)), ((48, 48), (48, 48))} or shown == {((96, 96), (96, 96))}
    crop_a, crop_b = client.predict(0.5, 0.5, 32, api_name="/arena_zoom")
    assert Image.open(crop_a["path"]).size == Image.open(crop_b["path"]).size == (32, 32)


def test_fifty_sessions_draw_and_vote_at_once(app_server, store):
    """Every accepted vote is stored, nothing else is, and every failure is a clean one-line refusal.

    The app's queue holds 32 waiting events (README, "Hugging Face Spaces"), so a burst of 50 may
    be told "Queue is full"; a session then tries again, as a person would click again.
    """
    before = stored_votes(store)
    with ThreadPoolExecutor(4) as pool:  # opening a session fetches the page's config: a few at a time
        clients = list(pool.map(lambda _: session(app_server), range(SESSIONS)))
    barrier = threading.Barrier(SESSIONS, timeout=120)
    refusals: list[str] = []

    def ask(client: Client, *args, api_name: str):
        for attempt in range(5):
            try:
                return client.predict(*args, api_name=api_name)
            except Exception as exc:
                refusals.append(f"{type(exc).__name__}: {exc}")
                if type(exc).__name__ != "QueueError" or attempt == 4:
                    raise
                time.sleep(0.5 + random.random())

    def rate(index: int) -> bool:
        client = clients[index]
        barrier.wait()  # every session draws at the same moment, then votes at once
        try:
            ask(client, "", "", api_name="/new_pair")
            ask(client, api_name=f"/vote_{WINNERS[index % len(WINNERS)]}")
        except Exception:
            return False
        return True

    started = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:
        accepted = sum(pool.map(rate, range(SESSIONS)))
    elapsed = time.monotonic() - started
    clean = ("QueueError: Queue is full! Please try again.", "AppError: ")
    assert not [r for r in refusals if "locked" in r or "\n" in r or not r.startswith(clean)], refusals
    assert accepted == SESSIONS, refusals  # 50 votes from one address stay under its per-minute limit
    assert stored_votes(store) - before == accepted
    assert elapsed < 60


def test_a_replayed_vote_is_refused_and_stores_nothing(app_server, store):
    client = session(app_server)
    client.predict("", "", api_name="/new_pair")
    reveal = client.predict(api_name="/vote_tie")
    assert reveal.startswith("A was `") and "Your vote: Tie." in reveal
    assert sum(model in reveal for model in FAKE_MODELS) == 2
    count = stored_votes(store)
    with pytest.raises(Exception, match=r"^this battle already has a vote$"):
        client.predict(api_name="/vote_a")
    assert stored_votes(store) == count


def test_a_vote_without_a_pair_is_refused(app_server, store):
    count = stored_votes(store)
    with pytest.raises(Exception, match=r"^No pair to vote on: press New pair first\.$"):
        session(app_server).predict(api_name="/vote_b")
    assert stored_votes(store) == count


def test_an_unknown_round_is_a_one_line_refusal(app_server):
    with pytest.raises(Exception, match=r"^nothing to rate yet: prepare a round"):
        session(app_server).predict("no such round", "", api_name="/new_pair")


def test_a_mos_score_is_stored_and_counted(app_server, store):
    client = session(app_server)
    with pytest.raises(Exception, match=r"^No image to score: press Next image first\.$"):
        client.predict(4, api_name="/submit_score")
    before = len(scores_frame(store, include_flagged=True))
    client.predict(api_name="/next_image")
    time.sleep(1.1)  # the minimum viewing time: a faster score is stored but flagged
    message, table = client.predict(4, api_name="/submit_score")
    assert message.startswith("You gave 4 (Good) to ")
    rated = next(m for m in (*FAKE_MODELS, "hidden reference") if m in message)
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    name = "reference (hidden input)" if rated == "hidden reference" else rated
    assert rows[name]["votes"] >= 1 and rows[name]["MOS"] >= 1
    assert len(scores_frame(store, include_flagged=True)) == before + 1
    with pytest.raises(Exception, match=r"^this image already has your score$"):
        client.predict(5, api_name="/submit_score")
    assert len(scores_frame(store, include_flagged=True)) == before + 1


def test_the_leaderboard_counts_the_stored_votes(app_server, store):
    quick = session(app_server)  # one vote too fast to count: stored, flagged, left out
    quick.predict("", "", api_name="/new_pair")
    assert "kept out of the leaderboard" in quick.predict(api_name="/vote_b")
    votes = votes_frame(store)
    if len(votes) < 3:  # all votes so far were too fast to count: cast some that count
        client = session(app_server)
        for winner in ("a", "b", "tie"):
            client.predict("", "", api_name="/new_pair")
            time.sleep(ArenaPolicy().min_view_s + 0.1)
            client.predict(api_name=f"/vote_{winner}")
        votes = votes_frame(store)
    flagged = stored_votes(store) - len(votes)
    assert flagged >= 1
    summary, table, win_rate, counts, agreement, _ = Client(app_server.url, verbose=False).predict(
        "", "", api_name="/leaderboard"
    )
    assert summary.startswith(f"{len(votes)} vote(s) between ") and f"{flagged} flagged vote(s)" in summary
    shown = {row[1]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    expected = leaderboard(votes).set_index("model")
    assert {model: row["battles"] for model, row in shown.items()} == expected["battles"].to_dict()
    assert sum(row["battles"] for row in shown.values()) == 2 * len(votes)
    assert all(model in win_rate and model in counts for model in shown)
    if len(shown) >= 3:
        assert agreement["visible"] is True
        assert {row[0] for row in agreement["value"]["data"]} == {"Sharpness ↑", "Colourfulness ↑"}


def test_send_to_arena_stores_the_comparison(app_server, store, tmp_path, photo):
    path = tmp_path / "send.png"
    Image.fromarray(photo[:48, :64]).save(path)
    client = Client(app_server.url, verbose=False)
    with pytest.raises(Exception, match=r"^Run a comparison first"):
        client.predict(handle_file(str(path)), api_name="/send_to_arena")
    fields = form(
        client,
        Image=handle_file(str(path)),
        **{"Metrics": ["sharpness"], "Super resolution": ["bicubic-x2"], "Sharpen": ["unsharp-mask"]},
    )
    client.predict(*fields, api_name="/build_request")
    client.predict(handle_file(str(path)), None, "png", api_name="/run")
    message = client.predict(handle_file(str(path)), api_name="/send_to_arena")
    assert message.startswith("sent: item ") and message.endswith(" with 2 outputs")
    item_id = message.split()[2]
    rows = {row["model"]: row for row in _outputs(store) if row["item_id"] == item_id}
    assert sorted(rows) == ["bicubic-x2", "unsharp-mask"]
    assert rows["bicubic-x2"]["task"] is None  # super-resolution and sharpen: no shared task
    assert rows["unsharp-mask"]["sharpness"] > 0

    other = tmp_path / "other.png"  # another input: the same input again would add to the same item
    Image.fromarray(photo[100:148, 100:164]).save(other)
    fields = form(client, Image=handle_file(str(other)), **{"Super resolution": ["bicubic-x2", "lanczos-x2"]})
    client.predict(*fields, api_name="/build_request")
    client.predict(handle_file(str(other)), None, "png", api_name="/run")
    message = client.predict(handle_file(str(other)), api_name="/send_to_arena")
    item_id = message.split()[2]
    rows = {row["model"]: row for row in _outputs(store) if row["item_id"] == item_id}
    assert sorted(rows) == ["bicubic-x2", "lanczos-x2"] and rows["lanczos-x2"]["task"] == "super-resolution"

    fields = form(client, Image=handle_file(str(path)), **{"Super resolution": ["bicubic-x2"]})
    client.predict(*fields, api_name="/build_request")
    client.predict(handle_file(str(path)), None, "png", api_name="/run")
    with pytest.raises(Exception, match=r"^Send to arena needs at least 2 successful outputs; this run has 1\.$"):
        client.predict(handle_file(str(path)), api_name="/send_to_arena")


def _outputs(store) -> list[dict]:
    from studio.ratings.store_items import output_metrics

    return output_metrics(store)
