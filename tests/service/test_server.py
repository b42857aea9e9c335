"""The real server (app.py in a subprocess): service endpoints, metrics after real calls, the hardened
launch settings and path safety, each measured problem of issue #13 with its own test.

Two servers: the session's `app_server` (ready; Download weights on), and `unready_app`, whose data dir
is a file (so the ratings database cannot be opened), with JSON logs and the default settings.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.appserver import AppServer, app_env
from tests.paths import REPO_ROOT


@pytest.fixture(scope="module")
def unready_app(tmp_path_factory, model_settings):
    home = tmp_path_factory.mktemp("unready-app")
    (home / "data-is-a-file").write_text("not a folder")
    env = app_env(
        home, model_settings.weights_mirror, STUDIO_DATA_DIR=str(home / "data-is-a-file"), STUDIO_LOG_FORMAT="json"
    )
    app = AppServer(env, home / "app.log").wait_ready()
    yield app
    app.stop()


@pytest.fixture
def photo_path(tmp_path, photo) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(photo[:64, :96]).save(path)
    return path


def log_records(app: AppServer) -> list[dict]:
    """The JSON server's log, one object per line (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in app.log_path.read_text().splitlines() if line.strip()]


def logged_record(app: AppServer, wanted, timeout: float = 10.0) -> dict:
    """The one log record `wanted` accepts, waiting for it: the access line is written after the response
    has gone out, so it may land a moment after the client has read the answer."""
    deadline = time.monotonic() + timeout
    while True:
        found = [record for record in log_records(app) if wanted(record)]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"expected one matching log record, found {len(found)}"
            return found[0]
        time.sleep(0.05)


def metric_samples(app: AppServer) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(app.url + "metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def raw_get(app: AppServer, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written: no client normalises its dots, slashes or escapes."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ---- /healthz, /readyz, /metrics ---------------------------------------------------------------


def test_healthz_answers_even_where_the_database_is_broken(unready_app):
    response = httpx.get(unready_app.url + "healthz", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-request-id"] == "probe-1"
    access = logged_record(unready_app, lambda r: r.get("path") == "/healthz" and r.get("request_id") == "probe-1")
    assert access["status"] == 200 and access["logger"] == "studio.access"


def test_readyz_is_ready_with_each_check(app_server):
    response = httpx.get(app_server.url + "readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready" and set(body["checks"]) == {"models", "database", "disk"}


def test_readyz_is_503_with_the_reason_when_the_database_cannot_be_written(unready_app):
    response = httpx.get(unready_app.url + "readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["reason"].startswith(
        "database: not writable: DatabaseUnavailable: cannot create the ratings database's folder"
    )


def test_metrics_count_a_real_compare_its_models_and_a_refused_vote(app_server, photo_path):
    client = Client(app_server.url, verbose=False)
    client.predict(handle_file(str(photo_path)), ["clahe", "lanczos-x2"], [], "", None, 512, "{}", api_name="/compare")
    with pytest.raises(Exception, match="No pair to vote on"):
        client.predict(api_name="/vote_a")
    found = metric_samples(app_server)

    def value(name: str, **labels: str) -> float:
        return found.get((name, frozenset(labels.items())), 0.0)

    assert value("studio_requests_total", endpoint="compare") >= 1
    assert value("studio_model_latency_seconds_count", model="clahe", backend="classical") >= 1
    assert value("studio_model_latency_seconds_count", model="lanczos-x2", backend="classical") >= 1
    assert value("studio_models_loaded", model="clahe", backend="classical") == 1
    assert value("studio_model_cache_misses_total") >= 1 and ("studio_model_cache_hits_total", frozenset()) in found
    assert ("studio_queue_length", frozenset()) in found
    assert value("studio_votes_total", kind="arena", outcome="rejected") >= 1
    assert value("studio_errors_total", endpoint="vote_a", kind="user") >= 1
    assert value("studio_http_requests_total", route="/gradio_api/queue/join", method="POST", code="200") >= 2
    assert all(name.startswith("studio_") for name, _ in found)


# ---- hardened launch: the measured problems ---------------------------------------------------


def test_monitoring_is_off_and_its_secret_url_never_reaches_the_log(app_server):
    for path in ("monitoring", "monitoring/", "monitoring/summary", "monitoring/not-the-key"):
        assert httpx.get(app_server.url + path).status_code == 404
    text = app_server.log_path.read_text()
    assert "Monitoring URL" not in text and "/monitoring/" not in text


def test_download_model_is_not_served_unless_the_operator_allows_it(unready_app):
    named = httpx.get(unready_app.url + "gradio_api/info").json()["named_endpoints"]
    assert "/download_model" not in named and "/models" in named
    with pytest.raises(Exception, match="download_model"):
        Client(unready_app.url, verbose=False).predict("fsrcnn-small-x3", api_name="/download_model")
    assert not list(Path(unready_app.env["STUDIO_WEIGHTS_DIR"]).rglob("*.pb"))  # nothing was downloaded


def test_cors_gives_a_foreign_origin_nothing_and_never_credentials(app_server):
    for origin in ("http://localhost:9999", "http://127.0.0.1:1", "null", "https://evil.example"):
        page = httpx.get(app_server.url + "config", headers={"Origin": origin})
        post = httpx.post(app_server.url + "gradio_api/queue/join", json={}, headers={"Origin": origin})
        for response in (page, post):
            assert "access-control-allow-origin" not in response.headers, origin
            assert "access-control-allow-credentials" not in response.headers, origin
        preflight = httpx.options(
            app_server.url + "gradio_api/queue/join",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("endpoint", ["gradio_api/queue/join", "gradio_api/run/predict", "gradio_api/call/compare"])
def test_a_multipart_body_is_refused_with_415_and_leaves_the_log_as_it_was(app_server, endpoint):
    body = os.urandom(2_000_000)  # random bytes: not UTF-8, what made Gradio answer 500 and log 3x the body
    before = app_server.log_path.stat().st_size
    multipart = httpx.post(app_server.url + endpoint, files={"file": ("x.bin", body)}, timeout=60)
    text = httpx.post(app_server.url + endpoint, content=body, headers={"content-type": "text/plain"}, timeout=60)
    for response in (multipart, text):
        assert response.status_code == 415
        assert response.json() == {"detail": "this endpoint takes a JSON body (Content-Type: application/json)"}
    assert app_server.log_path.stat().st_size - before < 2000


# ---- errors in the log and on the page ---------------------------------------------------------


def test_a_user_error_is_one_line_and_a_fault_logs_its_traceback_under_the_id_the_user_sees(unready_app, photo_path):
    client = Client(unready_app.url, verbose=False)
    with pytest.raises(Exception, match=r"^unknown model 'nope' \(see `studio models`\)$"):
        client.predict(handle_file(str(photo_path)), ["nope"], [], "", None, 512, "{}", api_name="/compare")
    with pytest.raises(Exception) as fault:
        client.predict(api_name="/leaderboard")  # opens the ratings database under a data dir that is a file
    message = str(fault.value)
    assert message.startswith("Something went wrong on the server (error id ") and "NotADirectory" not in message
    error_id = message.split("error id ")[1].split(")")[0]
    records = log_records(unready_app)
    user = [r for r in records if r.get("event") == "user_error"]
    assert [r["message"] for r in user] == ["user error: unknown model 'nope' (see `studio models`)"]
    assert "traceback" not in user[0]
    [logged] = [r for r in records if r.get("error_id") == error_id]
    assert logged["level"] == "error" and logged["endpoint"] == "leaderboard"
    assert logged["traceback"].startswith("Traceback (most recent call last):")
    assert "NotADirectoryError" in logged["traceback"]


# ---- path safety -------------------------------------------------------------------------------

PASSWD = "/etc/passwd"
TRAVERSALS = [  # the file= value, as sent
    "/etc/passwd",
    "//etc/passwd",
    "/etc/./passwd",
    "/etc//passwd",
    "/etc/passwd/",
    "../../../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    ".%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/.%2e/etc/passwd",
    "....//....//....//....//....//etc/passwd",
    "..%5c..%5c..%5c..%5c..%5c..%5cetc%5cpasswd",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "%2Fetc%2Fpasswd",
    "%2fetc%2fpasswd",
    "/ETC/PASSWD",
    "/Etc/Passwd",
    "/etc/passwd%00.png",
    "/etc/passwd%2500.png",
    "file:///etc/passwd",
    "file:/etc/passwd",
    "/etc/shadow",
    "/proc/self/environ",
    "/proc/self/cmdline",
    "~/.bashrc",
    "~root/.bashrc",
    f"{tempfile.gettempdir()}/gradio/../../etc/passwd",
    f"{tempfile.gettempdir()}/gradio/%2e%2e/%2e%2e/etc/passwd",
    str(REPO_ROOT / "app.py"),
    "/proc/self/cwd/app.py",
]


def planted(app: AppServer) -> dict[str, Path]:
    """Files the server must never serve, each holding a marker: the ratings database (created by /readyz),
    a rated image, a weights file, a Hub cache file and other sessions' run files in our temp folders."""
    env = app.env
    assert httpx.get(app.url + "readyz").status_code == 200  # opens (creates) the ratings database
    marker, name = f"secret-{uuid.uuid4().hex}", uuid.uuid4().hex  # a 403 names the path: the marker is not in it
    data, weights, hub = Path(env["STUDIO_DATA_DIR"]), Path(env["STUDIO_WEIGHTS_DIR"]), Path(env["HF_HOME"]) / "hub"
    temp = app.scratch_folder()  # the server's own temp folder: its run folders, beside Gradio's uploads
    files = {
        "database": data / "ratings" / "ratings.sqlite3",
        "rated image": data / "ratings" / "files" / name[:2] / f"{name}.png",
        "speed book": data / "speed.json",
        "weights": weights / "planted" / "net.pth",
        "hub cache": hub / "models--someone--net" / "snapshots" / ("0" * 40) / "model.safetensors",
        "another session's run": temp / "enhance-studio-runs" / f"other-session-{name}" / "results.csv",
        "another session's video": temp / "enhance-studio-videos" / f"other-session-{name}" / "comparison.mp4",
    }
    for name, path in files.items():
        if name != "database":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(marker)
    assert files["database"].is_file()
    return files


def variants(path: Path) -> list[str]:
    """`path` as sent plainly, upper-cased, percent-encoded, and reached through ../ from Gradio's upload folder."""
    text = str(path)
    return [
        text,
        text.upper(),
        text.replace("/", "%2F"),
        text.replace("/", "/./"),
        f"{tempfile.gettempdir()}/gradio/../..{text}",
        f"../../../../../../../../..{text}",
    ]


@pytest.mark.parametrize("prefix", ["/gradio_api/file=", "/file="])
def test_file_requests_outside_the_apps_own_files_are_refused(app_server, prefix):
    files = planted(app_server)
    try:
        requests = [(value, "root:") for value in TRAVERSALS]
        for path in files.values():
            content = "SQLite format 3" if path.suffix == ".sqlite3" else path.read_text()
            requests += [(value, content) for value in variants(path)]
        served = []
        for value, secret in requests:
            status, body = raw_get(app_server, prefix + value)
            if status not in (400, 403, 404) or secret.encode() in body:
                served.append((value, status))
        assert not served
    finally:
        for name in ("another session's run", "another session's video"):
            run_folder = files[name].parent
            files[name].unlink()
            run_folder.rmdir()


def test_a_file_input_naming_a_server_path_is_refused_in_one_line(app_server):
    database = Path(app_server.env["STUDIO_DATA_DIR"]) / "ratings" / "ratings.sqlite3"
    assert httpx.get(app_server.url + "readyz").status_code == 200
    before = app_server.log_path.stat().st_size
    for path in (PASSWD, str(database)):
        file_data = {"path": path, "meta": {"_type": "gradio.FileData"}}
        data = [file_data, ["clahe"], [], "", None, 512, "{}", "auto", "auto"]
        event = httpx.post(app_server.url + "gradio_api/call/compare", json={"data": data}).json()["event_id"]
        answer = httpx.get(app_server.url + f"gradio_api/call/compare/{event}", timeout=60).text
        assert answer.startswith("event: error") and "root:" not in answer and "SQLite" not in answer
    with app_server.log_path.open("rb") as log:
        log.seek(before)
        added = log.read().decode().splitlines()
    assert "Traceback" not in "\n".join(added)
    assert [line.split(" to the gradio cache")[0] for line in added if line.startswith("user error")] == [
        f"user error: Cannot move {PASSWD}",
        f"user error: Cannot move {database}",
    ]
