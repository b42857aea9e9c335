"""Sign in with Hugging Face (STUDIO_HF_LOGIN) on the real app started as on a Space with `hf_oauth: true`:
Gradio's login routes and authlib against a local OpenID Connect provider (tests/fakeoidc.py), no mock.
Before signing in, rating is refused in one line; after it, votes are stored as `hf:<user>`."""

from __future__ import annotations

import subprocess
import sys
import types
import urllib.parse

import httpx
import pytest
from gradio_client import Client

from studio.core.config import Settings
from studio.core.errors import UsageError
from studio.ratings.store_transfer import votes_frame
from studio.ui.hf_login import SIGN_IN, hf_user, require_hf_user
from tests.appserver import AppServer
from tests.environment import clean_env
from tests.fakeoidc import CLIENT_ID, CLIENT_SECRET, FakeOpenIdProvider
from tests.paths import REPO_ROOT
from tests.ui.browser import launch_chromium, require_chromium
from tests.ui.ratings import data_env, open_store, seed_round

SPACE = {"SYSTEM": "spaces", "SPACE_ID": "someone/enhance-studio"}
REFUSED = r"^Sign in with Hugging Face \(the button at the top of the page\) to rate\.$"


@pytest.fixture(scope="module")
def provider():
    running = FakeOpenIdProvider(user="alice").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("hf-login-app")


@pytest.fixture(scope="module")
def app_server(home, photo, provider):
    """Named like conftest's, so the network and slow markers apply."""
    db = open_store(home)
    seed_round(db, photo, items=1, side=32)
    db.dispose()
    env = {
        **data_env(home),
        **SPACE,
        "OAUTH_CLIENT_ID": CLIENT_ID,
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_SCOPES": "openid profile",
        "OPENID_PROVIDER_URL": provider.url,
        "STUDIO_HF_LOGIN": "ratings",
        "STUDIO_PREFETCH": "none",
    }
    app = AppServer(env, home / "app.log").wait_ready(timeout=180)
    yield app
    app.stop()


def sign_in(app: AppServer) -> str:
    """The browser's round trip: /login/huggingface -> the provider -> /login/callback; the signed session
    cookie it ends with (Secure, so carried by hand over this test's plain HTTP)."""
    with httpx.Client(timeout=30) as http:
        start = http.get(app.url + "login/huggingface")
        assert start.status_code in (302, 307), start.text
        session = start.cookies["session"]
        at_provider = http.get(start.headers["location"])
        assert at_provider.status_code == 302
        callback = at_provider.headers["location"]
        assert urllib.parse.urlparse(callback).path == "/login/callback"
        back = http.get(callback, headers={"Cookie": f"session={session}"})
        assert back.status_code in (302, 307) and back.headers["location"].startswith("/"), back.text
        return back.cookies["session"]


def test_rating_needs_a_hugging_face_sign_in_and_is_stored_under_the_user(app_server, provider, home):
    assert "Sign in with Hugging Face" in httpx.get(app_server.url + "config", timeout=30).text  # the LoginButton
    anonymous = Client(app_server.url, verbose=False)
    with pytest.raises(Exception, match=REFUSED):
        anonymous.predict("", "", api_name="/new_pair")

    cookie = sign_in(app_server)
    assert provider.tokens_issued == 1  # authlib exchanged the code and checked the signed id token
    alice = Client(app_server.url, verbose=False, headers={"Cookie": f"session={cookie}"})
    alice.predict("", "", api_name="/new_pair")
    assert "Your vote:" in alice.predict(api_name="/vote_a")
    db = open_store(home)
    try:
        assert votes_frame(db, include_flagged=True)["rater"].tolist() == ["hf:alice"]
    finally:
        db.dispose()
    assert httpx.get(app_server.url + "healthz").json() == {"status": "ok"}
    assert "Traceback" not in app_server.log_path.read_text()


def test_a_forged_session_cookie_is_no_sign_in(app_server):
    forged = Client(app_server.url, verbose=False, headers={"Cookie": "session=eyJvYXV0aF9pbmZvIjp7fX0=.x.y"})
    with pytest.raises(Exception, match=REFUSED):
        forged.predict("", "", api_name="/new_pair")


# ---- the settings and the rule, on their own ------------------------------------------------------
def request_with(session: dict) -> types.SimpleNamespace:
    """What Gradio hands a queued event: a gr.Request rebuilt with the session as a plain attribute."""
    return types.SimpleNamespace(request=types.SimpleNamespace(session=session), username=None, session_hash="s")


def test_who_must_sign_in_follows_the_mode():
    oauth = {**SPACE, "OAUTH_CLIENT_ID": CLIENT_ID, "OPENID_PROVIDER_URL": "http://127.0.0.1:1"}
    ratings = Settings.from_env({**oauth, "STUDIO_HF_LOGIN": "ratings"})
    everything = Settings.from_env({**oauth, "STUDIO_HF_LOGIN": "all"})
    nobody = request_with({})
    signed = request_with({"oauth_info": {"userinfo": {"preferred_username": "bob"}, "expires_at": 4e9}})
    expired = request_with({"oauth_info": {"userinfo": {"preferred_username": "bob"}, "expires_at": 1.0}})
    assert hf_user(signed) == "bob" and hf_user(expired) is None and hf_user(None) is None
    assert require_hf_user(ratings, nobody, "run models", scope="all") is None  # runs stay open under `ratings`
    with pytest.raises(Exception, match=SIGN_IN.format(what="run models").replace("(", r"\(").replace(")", r"\)")):
        require_hf_user(everything, nobody, "run models", scope="all")
    with pytest.raises(Exception, match="to rate"):
        require_hf_user(ratings, expired, "rate")
    assert require_hf_user(everything, signed, "rate") == "bob"


@pytest.mark.parametrize("missing", ["SYSTEM", "SPACE_ID", "OAUTH_CLIENT_ID", "OPENID_PROVIDER_URL"])
def test_hf_login_off_a_space_with_oauth_is_refused_in_one_line(missing):
    env = {**SPACE, "OAUTH_CLIENT_ID": CLIENT_ID, "OPENID_PROVIDER_URL": "http://127.0.0.1:1", "STUDIO_HF_LOGIN": "all"}
    del env[missing]
    with pytest.raises(UsageError, match=r"^STUDIO_HF_LOGIN=all needs a Hugging Face Space with `hf_oauth: true`"):
        Settings.from_env(env)


@pytest.mark.browser
def test_the_page_signs_in_with_hugging_face_and_back(app_server):
    """Chromium clicks "Sign in with Hugging Face", goes through the provider and comes back signed in."""
    require_chromium()
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(app_server.url, wait_until="load")
        button = page.locator("#hf-login")
        button.wait_for(timeout=60_000)
        assert "Sign in with Hugging Face" in button.inner_text()
        button.click()
        page.wait_for_url(app_server.url + "*", timeout=60_000)  # back from the provider
        page.locator("#hf-login", has_text="Logout (alice)").wait_for(timeout=60_000)
        context.close()


@pytest.mark.slow  # a real process
def test_the_app_started_with_hf_login_off_a_space_says_why_in_one_line(tmp_path):
    started = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=clean_env({**data_env(tmp_path), "STUDIO_HF_LOGIN": "ratings", "GRADIO_SERVER_PORT": "1"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2
    assert started.stderr.strip().splitlines() == [
        "error: STUDIO_HF_LOGIN=ratings needs a Hugging Face Space with `hf_oauth: true` in its README "
        "(SYSTEM=spaces, SPACE_ID, OAUTH_CLIENT_ID and OPENID_PROVIDER_URL are not all set)"
    ]
