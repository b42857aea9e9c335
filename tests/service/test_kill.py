"""SIGKILL fault test against the real server (issue #13): killed during a run, right after answered votes and
with another vote in flight, the server restarts on the same data folder with every vote it had answered, and
what the killed process left in its temp folder (the run's upload, a half-sent upload) is gone once the
next server has started. Each server runs with its own TMPDIR here, so the test sees exactly what it left."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.ratings.store_transfer import votes_frame
from tests.appserver import AppServer, half_an_upload
from tests.ui.ratings import data_env, open_store, seed_round

pytestmark = [pytest.mark.slow, pytest.mark.network]  # real servers (conftest marks by fixture; none here)


@pytest.fixture
def start(tmp_path):
    """start(env, name): the real app on `env`, killed at the end whatever happened to it."""
    started: list[AppServer] = []

    def start_server(env: dict[str, str], name: str) -> AppServer:
        started.append(AppServer(env, tmp_path / f"{name}.log"))
        return started[-1].wait_ready()

    yield start_server
    for app in started:
        app.kill()


def session(app: AppServer) -> Client:
    return Client(app.url, verbose=False, download_files=False, httpx_kwargs={"timeout": 60})


def vote(client: Client) -> None:
    """One arena vote on a newly drawn pair, as a browser tab casts it."""
    client.predict("", "", api_name="/new_pair")
    client.predict(api_name="/vote_a")


def stored_votes(home: Path) -> int:
    store = open_store(home)
    try:
        return len(votes_frame(store, include_flagged=True))
    finally:
        store.dispose()


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_server_keeps_every_answered_vote_and_its_temp_files_go_at_the_next_start(tmp_path, photo, start):
    home, temp = tmp_path / "home", tmp_path / "tmp"
    temp.mkdir()
    store = open_store(home)
    seed_round(store, photo, items=2, side=48)
    store.dispose()
    env = {**data_env(home), "TMPDIR": str(temp)}
    big = tmp_path / "big.png"
    Image.fromarray(np.tile(photo, (2, 2, 1))).save(big)  # 1024x1024: the run takes seconds

    first = start(env, "first")
    first_folder = first.scratch_folder()
    answered = 0
    voter = session(first)
    for _ in range(3):
        vote(voter)
        answered += 1
    run_failed: list[BaseException] = []

    def run() -> None:
        try:
            models = ["nl-means", "richardson-lucy-gaussian"]  # over 10 s here: surely still running at the kill
            session(first).predict(handle_file(str(big)), models, [], "", None, 0, "{}", api_name="/compare")
        except BaseException as exc:  # the server was killed under it
            run_failed.append(exc)

    def keep_voting() -> None:  # until the server is killed under it
        nonlocal answered
        while True:
            try:
                vote(voter)
            except Exception:
                return
            answered += 1

    running = threading.Thread(target=run)
    running.start()
    wait_for(lambda: any((first_folder / "gradio").glob("*/big.png")))  # uploaded: the run is starting
    dropped = half_an_upload(first)
    voting = threading.Thread(target=keep_voting)
    voting.start()
    wait_for(lambda: answered >= 5)
    time.sleep(0.5)  # the run is computing, votes are in flight
    assert running.is_alive()
    first.kill()
    running.join()
    voting.join()
    dropped.close()
    assert run_failed and first_folder.is_dir()
    assert [p for p in (first_folder / "gradio").iterdir() if p.name.startswith("tmp") and p.is_file()]
    assert answered <= stored_votes(home) <= answered + 1  # every answered vote; at most the one in flight

    second = start(env, "second")
    assert not first_folder.exists()
    assert "removed the temporary folders of 1 server(s)" in second.log_path.read_text()
    ready = httpx.get(second.url + "readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "writable"
    before = stored_votes(home)
    client = session(second)
    vote(client)  # the database takes votes again
    client.close()  # its heartbeat stream would hold the clean stop for its 5 s grace
    assert stored_votes(home) == before + 1
    connection = sqlite3.connect(home / "data" / "ratings" / "ratings.sqlite3")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
    second_folder = second.scratch_folder()
    second.stop()  # a clean stop (SIGTERM) removes the server's own folder
    assert not second_folder.exists() and not any(second_folder.parent.iterdir())
