"""Access on the real server (app.py in a subprocess): STUDIO_AUTH's login over the whole app with the probes
left open and no password in the log, and STUDIO_RATE_RUNS / STUDIO_RATE_VOTES refusing the event past the
limit in one line (429 with Retry-After where the path names the event) while the server goes on answering
and every accepted vote stays stored.

One server for the module, on a seeded ratings folder: two users, 2 runs a minute per session and 3 per
address, 3 votes a minute per session. The tests run in order and share its counts (the window is a minute).
"""

from __future__ import annotations

import re

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.core.ratelimit import FAILED_LOGINS
from studio.ratings.store_transfer import scores_frame, votes_frame
from tests.appserver import AppServer
from tests.service.test_server import metric_samples
from tests.ui.ratings import data_env, open_store, seed_round

PASSWORD = "pa:ss,wörd-7Qx"  # a colon and a comma: written `pa:ss\,wörd-7Qx` in STUDIO_AUTH
OTHER_PASSWORD = "bob-Secret-9Kd"
AUTH = "alice:pa:ss\\,wörd-7Qx,bob:bob-Secret-9Kd"
SLOW_DOWN = r"^slow down: too many {what} from this {scope} in the last minute \(try again in \d+ s\)$"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("access-app")


@pytest.fixture(scope="module")
def guarded_app(home, photo):
    db = open_store(home)
    seed_round(db, photo, items=1, side=32)
    db.dispose()
    env = {
        **data_env(home),
        "STUDIO_AUTH": AUTH,
        "STUDIO_RATE_RUNS": "2,3",
        "STUDIO_RATE_VOTES": "3,100",
        "STUDIO_LOG_FORMAT": "json",  # the most the server logs: every request's line too
    }
    app = AppServer(env, home / "app.log").wait_ready(timeout=180)
    yield app
    app.stop()


@pytest.fixture
def store(home, guarded_app):
    db = open_store(home)
    yield db
    db.dispose()


@pytest.fixture
def photo_path(tmp_path, photo):
    path = tmp_path / "in.png"
    Image.fromarray(photo[:48, :64]).save(path)
    return path


def login(app: AppServer, user: str, password: str) -> Client:
    return Client(app.url, verbose=False, auth=(user, password), httpx_kwargs={"timeout": 120})


def compare(client: Client, photo_path) -> None:
    client.predict(handle_file(str(photo_path)), ["clahe"], [], "", None, 512, "{}", api_name="/compare")


def value(app: AppServer, name: str, **labels: str) -> float:
    return metric_samples(app).get((name, frozenset(labels.items())), 0.0)


# ---- login ---------------------------------------------------------------------------------------


def test_without_a_login_the_app_answers_401_and_the_probes_stay_open(guarded_app):
    url = guarded_app.url
    for path in ("config", "gradio_api/info", f"gradio_api/file={guarded_app.log_path}"):
        assert httpx.get(url + path).status_code == 401, path
    call = httpx.post(url + "gradio_api/call/compare", json={"data": []})
    join = httpx.post(url + "gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"})
    assert call.status_code == join.status_code == 401
    assert call.json()["detail"]["error"] == "Not authenticated"
    page = httpx.get(url)
    assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")  # the login form
    assert httpx.get(url + "healthz").json() == {"status": "ok"}
    assert httpx.get(url + "readyz").status_code == 200
    assert httpx.get(url + "metrics").text.startswith("# HELP")
    with pytest.raises(Exception, match="credentials were not provided"):
        Client(url, verbose=False)


def test_a_wrong_password_or_user_is_refused_and_the_right_one_lets_in(guarded_app):
    for user, password in (("alice", "pa:ss"), ("alice", PASSWORD.upper()), ("mallory", PASSWORD)):
        answer = httpx.post(guarded_app.url + "login", data={"username": user, "password": password})
        assert answer.status_code == 400 and answer.json() == {"detail": "Incorrect credentials."}
    with pytest.raises(ValueError, match="Could not login"):
        login(guarded_app, "bob", PASSWORD)
    client = login(guarded_app, "alice", PASSWORD)
    assert "/compare" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    answer = httpx.post(guarded_app.url + "login", data={"username": " bob ", "password": OTHER_PASSWORD})
    assert answer.status_code == 200 and answer.json() == {"success": True}
    assert httpx.get(guarded_app.url + "gradio_api/info", cookies=answer.cookies).status_code == 200


# ---- rate limits -----------------------------------------------------------------------------------


def test_the_run_past_the_limit_is_refused_in_one_line_and_the_server_goes_on(guarded_app, photo_path):
    alice, bob = login(guarded_app, "alice", PASSWORD), login(guarded_app, "bob", OTHER_PASSWORD)
    compare(alice, photo_path)
    compare(alice, photo_path)
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="runs", scope="session")):
        compare(alice, photo_path)  # a login is one session, whatever its tabs
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="runs", scope="session")):
        alice.predict(None, [], [], "", 512, 30, "", "{}", "auto", "auto", api_name="/video")  # before any checks
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="runs", scope="session")):
        alice.predict(handle_file(str(photo_path)), None, "png", api_name="/run")  # the page's Run
    compare(bob, photo_path)  # the address's third
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="runs", scope="address")):
        compare(bob, photo_path)
    for headers in ({}, {"X-Forwarded-For": "203.0.113.9"}):  # a forged client address changes nothing
        answer = httpx.post(
            guarded_app.url + "gradio_api/call/compare", json={"data": []}, cookies=bob.cookies, headers=headers
        )
        assert answer.status_code == 429
        assert re.match(SLOW_DOWN.format(what="runs", scope="address"), answer.json()["detail"])
        assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert httpx.get(guarded_app.url + "healthz").status_code == 200
    assert bob.predict(api_name="/mos_table")["headers"]  # what is not limited still runs
    assert value(guarded_app, "studio_rate_limited_total", kind="runs", scope="session") == 3
    assert value(guarded_app, "studio_rate_limited_total", kind="runs", scope="address") == 3
    assert value(guarded_app, "studio_errors_total", endpoint="compare", kind="user") == 2
    assert value(guarded_app, "studio_requests_total", endpoint="compare") == 5


def test_the_vote_past_the_limit_is_refused_and_no_accepted_vote_is_lost(guarded_app, store):
    votes, scores = len(votes_frame(store, include_flagged=True)), len(scores_frame(store, include_flagged=True))
    alice = login(guarded_app, "alice", PASSWORD)
    for winner in ("a", "b", "tie"):
        alice.predict("", "", api_name="/new_pair")
        assert "Your vote:" in alice.predict(api_name=f"/vote_{winner}")
    alice.predict("", "", api_name="/new_pair")
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="votes", scope="session")):
        alice.predict(api_name="/vote_both_bad")
    alice.predict(api_name="/next_image")
    with pytest.raises(Exception, match=SLOW_DOWN.format(what="votes", scope="session")):
        alice.predict(4, api_name="/submit_score")  # MOS scores share the votes' budget
    bob = login(guarded_app, "bob", OTHER_PASSWORD)
    bob.predict("", "", api_name="/new_pair")
    assert "Your vote:" in bob.predict(api_name="/vote_a")
    stored = votes_frame(store, include_flagged=True)
    assert len(stored) == votes + 4 and len(scores_frame(store, include_flagged=True)) == scores
    assert sorted(stored["rater"].value_counts().to_dict().items()) == [("login:alice", 3), ("login:bob", 1)]
    assert value(guarded_app, "studio_rate_limited_total", kind="votes", scope="session") == 2
    assert value(guarded_app, "studio_votes_total", kind="arena", outcome="rejected") == 1
    assert value(guarded_app, "studio_votes_total", kind="mos", outcome="rejected") == 1
    assert value(guarded_app, "studio_votes_total", kind="arena", outcome="accepted") == 4


def test_no_password_reaches_the_log(guarded_app):
    text = guarded_app.log_path.read_text(encoding="utf-8")
    assert "Login required (STUDIO_AUTH): 2 user(s)" in text
    assert text.count("user error: slow down") == 6  # each refused event (4 runs, 2 votes): one line, no traceback
    assert "Traceback" not in text
    for secret in (PASSWORD, OTHER_PASSWORD, "pa:ss", "wörd", "Secret-9Kd", PASSWORD.upper()):
        assert secret not in text, secret


def test_after_too_many_failed_logins_the_address_gets_429_even_with_the_right_password(guarded_app):
    url = guarded_app.url + "login"
    for _ in range(FAILED_LOGINS):  # three failed already in this module's minute: some of these are 429
        assert httpx.post(url, data={"username": "alice", "password": "guess"}).status_code in (400, 429)
    answer = httpx.post(url, data={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 429 and 1 <= int(answer.headers["retry-after"]) <= 60
    assert answer.json()["detail"].startswith("slow down: too many failed logins from this address")
    assert httpx.get(guarded_app.url + "healthz").status_code == 200
    assert value(guarded_app, "studio_rate_limited_total", kind="logins", scope="address") >= 2
