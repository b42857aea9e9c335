"""Two replicas of the real app behind Debian's nginx (deploy/nginx.conf as written), sharing one PostgreSQL
database and one data, weights and Hub folder, as deploy/ sets them up on one machine.

One deployment for the module: a fresh database seeded with a round of three fake models, a fake Hub serving
one small model, replicas A and B started together, nginx in front. The tests run in file order; the last one
kills replica A.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from studio.ratings.store import Database
from studio.ratings.store_arena import ArenaPolicy
from tests.appserver import AppServer
from tests.cli.helpers import hub_entry, write_registry
from tests.deploy.nginx import COOKIE, Hop, Nginx, find_nginx
from tests.fakehub import FakeHub
from tests.postgres import SKIP_REASON, fresh_database, server_url
from tests.ui.ratings import seed_round

NGINX = find_nginx()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.network,
    pytest.mark.skipif(NGINX is None, reason="no nginx: install Debian's nginx package (.ci/run does)"),
    pytest.mark.skipif(server_url() is None, reason=SKIP_REASON),
]

HUB_MODEL = hub_entry()  # acme-net: acme/sr-net's net.pth, from the fake Hub
WEIGHTS = bytes(range(256)) * 4096  # 1 MiB: 16 chunks of the fake Hub's 64 KiB
CHUNK_DELAY_S = 0.1875  # the download takes 3 s ...
FETCH_TIMEOUT_S = 1.5  # ... twice STUDIO_FETCH_TIMEOUT_S: a wait for another replica's download is no silent Hub
SUMMARY = re.compile(r"^(\d+) vote\(s\) between \d+ model\(s\) counted; (\d+) flagged")


@dataclass
class Deployment:
    replicas: dict[str, AppServer]  # "A" and "B"
    proxy: Nginx
    hub: FakeHub
    answered_votes: list[str] = field(default_factory=list)  # every vote a replica answered, by the rater's key

    def replica_of(self, upstream: str) -> str:
        return next(name for name, app in self.replicas.items() if upstream == f"127.0.0.1:{app.port}")

    def served(self, answer: httpx.Response) -> tuple[str, ...]:
        """The replicas nginx sent this request to, in order (the last answered)."""
        return tuple(self.replica_of(up) for up in self.proxy.hop(answer.headers["x-request-id"]).upstreams)

    def served_last(self, hop: Hop) -> str:
        return self.replica_of(hop.upstreams[-1])

    def key_for(self, replica: str) -> str:
        """A new affinity cookie value that nginx sends to `replica` (found by asking: the hash is nginx's)."""
        for _ in range(64):
            key = uuid.uuid4().hex
            answer = httpx.get(self.proxy.url + "healthz", headers={"Cookie": f"{COOKIE}={key}"})
            if self.served(answer) == (replica,):
                return key
        raise AssertionError(f"no key of 64 reached replica {replica}")

    def replicas_of_key(self, key: str) -> set[str]:
        """Every replica that answered a request carrying this affinity key."""
        return {self.served_last(hop) for hop in self.proxy.hops().values() if hop.key == key}


def rater(url: str, key: str | None = None) -> Client:
    """A gradio_client session (a rater), through nginx with this affinity cookie, or straight to a replica."""
    cookies = {COOKIE: key} if key else {}
    return Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": 60, "cookies": cookies})


def board_totals(url: str) -> tuple[int, int, int]:
    """(counted votes, flagged votes, battles over all models) from the /leaderboard API at `url`, through
    Gradio's REST API (one cookie jar: through nginx, the call and its result reach the same replica)."""
    with httpx.Client(base_url=url, timeout=60) as http:
        event = http.post("gradio_api/call/leaderboard", json={"data": ["", ""]}).json()["event_id"]
        stream = http.get(f"gradio_api/call/leaderboard/{event}").text
    data = stream.split("event: complete\ndata: ", 1)[1].split("\n", 1)[0]
    summary, table, *_ = json.loads(data)
    match = SUMMARY.match(summary)
    if match is None:
        return 0, 0, 0
    battles = sum(dict(zip(table["headers"], row, strict=True))["battles"] for row in table["data"])
    return int(match[1]), int(match[2]), battles


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, photo):
    home = tmp_path_factory.mktemp("replicas")
    shared = home / "shared"
    (home / "tmp").mkdir()
    hub = FakeHub()
    hub.add(HUB_MODEL["source"]["hf"]["repo_id"], HUB_MODEL["source"]["hf"]["filename"], WEIGHTS)
    hub.start()
    try:
        with fresh_database("studio_replicas") as db_url:
            store = Database(db_url, shared / "data" / "ratings" / "files")  # the files folder the replicas use
            seed_round(store, photo, items=2, side=48)
            store.dispose()
            env = {
                "STUDIO_DB_URL": db_url,
                "STUDIO_DATA_DIR": str(shared / "data"),  # rated images (the database points at them), books
                "STUDIO_WEIGHTS_DIR": str(shared / "weights"),
                "HF_HOME": str(shared / "hf"),
                "TMPDIR": str(home / "tmp"),  # one machine's /tmp: each server keeps its own folder in it
                "HF_ENDPOINT": hub.url,
                "HF_HUB_OFFLINE": None,  # online, to the fake Hub only
                "STUDIO_OFFLINE": None,
                "STUDIO_FETCH_TIMEOUT_S": str(FETCH_TIMEOUT_S),
                "STUDIO_REGISTRY": str(write_registry(home / "registry.yaml", HUB_MODEL)),
                "STUDIO_ALLOW_DOWNLOADS": "1",
                "STUDIO_TRUSTED_PROXIES": "127.0.0.1",  # deploy/env.example: X-Forwarded-For from nginx only
                "STUDIO_LOG_FORMAT": "json",  # each request's line, with its id and client address
                "GRADIO_HEARTBEAT_INTERVAL": "1",  # a closed gradio_client's heartbeat ends within 1 s, not 15
            }
            replicas = {name: AppServer(env, home / f"{name}.log") for name in "AB"}  # both start at once
            try:
                for app in replicas.values():
                    app.wait_ready(timeout=180)
                proxy = Nginx(NGINX, home / "nginx", [replicas["A"].port, replicas["B"].port]).start()
                try:
                    yield Deployment(replicas, proxy, hub)
                finally:
                    proxy.stop()
            finally:
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(AppServer.stop, replicas.values()))
    finally:
        hub.stop()


def access_record(app: AppServer, request_id: str, timeout: float = 5) -> dict:
    """A replica's JSON access line for one request (written once the response is sent: wait for it briefly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in app.log_path.read_text().splitlines():
            if line.startswith("{") and f'"request_id": "{request_id}"' in line:
                record = json.loads(line)
                if record.get("logger") == "studio.access":
                    return record
        time.sleep(0.02)
    raise AssertionError(f"request {request_id} is not in the replica's log")


# ---- nginx -------------------------------------------------------------------------------------------


def test_a_first_visit_gets_a_cookie_that_keeps_it_on_one_replica_and_others_land_on_the_other(deployment):
    homes: dict[str, str] = {}
    for _ in range(24):  # new visitors until both replicas have one (each lands on A with probability 1/2)
        with httpx.Client(base_url=deployment.proxy.url) as browser:  # keeps cookies, as a browser does
            first = browser.get("/healthz")
            key = first.cookies[COOKIE]
            assert key == first.headers["x-request-id"]  # the cookie is the first request's own id ...
            [replica] = deployment.served(first)  # ... so the first request went where the key hashes
            for path in ("/healthz", "/config", "/gradio_api/info", "/readyz"):
                again = browser.get(path)
                assert again.status_code == 200, path
                assert "set-cookie" not in again.headers  # set once
                assert deployment.served(again) == (replica,)
            homes.setdefault(replica, key)
        if len(homes) == 2:
            break
    assert set(homes) == {"A", "B"}


def test_a_queued_run_goes_through_nginx_on_one_replica(deployment, tmp_path, photo):
    """A /compare through Gradio's queue (upload, queue/join, the queue/data event stream), and its output file
    fetched at the URL the replica built from nginx's X-Forwarded-Host."""
    image = tmp_path / "in.png"
    Image.fromarray(photo[:64, :96]).save(image)
    client = rater(deployment.proxy.url)
    try:
        key = client.cookies[COOKIE]  # from nginx's answer to gradio_client's first request
        gallery, table, _details = client.predict(
            handle_file(str(image)), ["clahe"], [], "", None, 512, "{}", api_name="/compare"
        )
    finally:
        client.close()
    [row] = table["data"]
    assert row[0] == "clahe" and row[table["headers"].index("error")] == ""
    url = gallery[0]["image"]["url"]
    assert url.startswith(deployment.proxy.url)  # the public address, port included
    output = httpx.get(url, headers={"Cookie": f"{COOKIE}={key}"})
    assert output.status_code == 200 and output.content.startswith(b"\x89PNG")
    hops = [hop for hop in deployment.proxy.hops().values() if hop.key == key]
    paths = " ".join(hop.request for hop in hops)
    for part in ("/gradio_api/upload", "/gradio_api/queue/join", "/gradio_api/queue/data", "/gradio_api/file="):
        assert part in paths
    assert len(deployment.replicas_of_key(key)) == 1 and all(hop.status == 200 for hop in hops)


def test_nginx_names_the_real_client_and_keeps_metrics_and_oversized_bodies_out(deployment):
    forged = httpx.get(deployment.proxy.url + "healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    [replica] = deployment.served(forged)
    record = access_record(deployment.replicas[replica], forged.headers["x-request-id"])
    assert record["client"] == "127.0.0.1"  # nginx replaced the header: a client cannot choose its address
    assert httpx.get(deployment.proxy.url + "metrics").status_code == 404
    assert httpx.get(deployment.replicas["A"].url + "metrics").text.startswith("# HELP")  # scraped per replica
    with socket.create_connection(("127.0.0.1", deployment.proxy.port)) as connection:
        connection.sendall(
            b"POST /gradio_api/upload HTTP/1.1\r\nHost: studio\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 53477377\r\n\r\n"  # 51 MiB + 1
        )
        assert connection.recv(64).startswith(b"HTTP/1.1 413")


# ---- shared database ---------------------------------------------------------------------------------


def cast_votes(deployment: Deployment, raters: dict[str, Client], counted: bool) -> None:
    """One arena vote from each rater; `counted`: after the minimum viewing time, so the leaderboard counts it."""
    for client in raters.values():
        client.predict("", "", api_name="/new_pair")
    if counted:
        time.sleep(ArenaPolicy().min_view_s + 0.1)
    for key, client in raters.items():
        assert "Your vote: A is better" in client.predict(api_name="/vote_a")
        deployment.answered_votes.append(key)


def test_votes_cast_through_replica_a_are_in_replica_b_leaderboard(deployment):
    b = deployment.replicas["B"].url
    counted, flagged, battles = board_totals(b)
    raters = {key: rater(deployment.proxy.url, key) for key in (deployment.key_for("A") for _ in range(2))}
    try:
        cast_votes(deployment, raters, counted=True)
    finally:
        for client in raters.values():
            client.close()
    for key in raters:
        assert deployment.replicas_of_key(key) == {"A"}  # every request of these raters went to A
    assert board_totals(b) == (counted + 2, flagged, battles + 4)  # B reads them from the shared database


# ---- shared weights ----------------------------------------------------------------------------------


def test_a_hub_file_both_replicas_ask_for_at_once_is_downloaded_once(deployment):
    deployment.hub.delay_per_chunk = CHUNK_DELAY_S
    clients = [rater(app.url) for app in deployment.replicas.values()]
    start = threading.Barrier(len(clients))

    def download(client: Client) -> tuple[str, float]:
        start.wait()
        began = time.monotonic()
        _table, message = client.predict(HUB_MODEL["id"], api_name="/download_model")
        return message, time.monotonic() - began

    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(download, clients))
    finally:
        deployment.hub.delay_per_chunk = 0.0
        for client in clients:
            client.close()
    name = HUB_MODEL["source"]["hf"]["filename"]
    gets = [request for request in deployment.hub.requests if request.startswith("GET ") and request.endswith(name)]
    assert len(gets) == 1, deployment.hub.requests  # the file's bytes were served once
    download_s = len(WEIGHTS) / (64 * 1024) * CHUNK_DELAY_S
    assert all(seconds > 0.8 * download_s for _, seconds in answers)  # both waited for that one download
    [path] = {message.split(": ", 1)[1] for message, _ in answers}  # and both use the same file
    assert Path(path).read_bytes() == WEIGHTS


# ---- a replica lost ----------------------------------------------------------------------------------


def test_killing_replica_a_leaves_b_serving_with_every_vote(deployment):
    """SIGKILL A while its raters vote through nginx: their next requests go to B, and B's leaderboard (asked
    directly and through nginx) holds every vote a replica answered, and at most the ones in flight."""
    keys = [deployment.key_for("A") for _ in range(2)]
    raters = {key: rater(deployment.proxy.url, key) for key in keys}
    bystander_key = deployment.key_for("A")
    bystander = rater(deployment.proxy.url, bystander_key)  # draws a pair on A, then waits out the kill
    bystander.predict("", "", api_name="/new_pair")
    bystander.close()
    voting, failures = threading.Event(), []

    def keep_voting(key: str, client: Client) -> None:
        while voting.is_set():
            try:
                cast_votes(deployment, {key: client}, counted=False)
            except Exception as exc:  # the vote in flight when A died: a rater clicks again
                failures.append(exc)

    def votes_of_these_raters() -> int:
        return sum(key in keys for key in deployment.answered_votes)

    def wait_for_votes(count: int, deadline: float) -> None:
        while votes_of_these_raters() < count:
            assert time.monotonic() < deadline, f"the raters did not vote: {failures}"
            time.sleep(0.05)

    voting.set()
    threads = [threading.Thread(target=keep_voting, args=item) for item in raters.items()]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        wait_for_votes(2, deadline)
        deployment.replicas["A"].kill()
        wait_for_votes(votes_of_these_raters() + 2, deadline)  # answered by B
    finally:
        voting.clear()
        for thread in threads:
            thread.join()
        for client in raters.values():
            client.close()
    assert len(failures) <= len(raters)  # at most the request each rater had in flight
    for key in keys:
        assert deployment.replicas_of_key(key) == {"A", "B"}
    retried = [hop for hop in deployment.proxy.hops().values() if len(hop.upstreams) > 1]
    assert all(deployment.served_last(hop) == "B" for hop in retried)  # A refused: tried again on B
    for _ in range(3):  # a request keyed to A is answered by B (nginx skips A for its fail_timeout)
        answer = httpx.get(deployment.proxy.url + "config", headers={"Cookie": f"{COOKIE}={keys[0]}"})
        assert answer.status_code == 200 and deployment.served(answer)[-1] == "B"
    answered = len(deployment.answered_votes)
    for url in (deployment.replicas["B"].url, deployment.proxy.url):
        counted, flagged, battles = board_totals(url)
        assert answered <= counted + flagged <= answered + len(failures)
        assert battles == 2 * counted

    # the bystander's event stream, asked of B now: Gradio's "session not found", then a clean end
    with httpx.stream(
        "GET",
        deployment.proxy.url + "gradio_api/queue/data",
        params={"session_hash": bystander.session_hash},
        headers={"Cookie": f"{COOKIE}={bystander_key}"},
        timeout=10,
    ) as stream:
        assert b'"session_not_found":true' in stream.read()
    time.sleep(0.2)
    log = deployment.replicas["B"].log_path.read_text()
    assert "stale session: /gradio_api/queue/data" in log
    assert '"traceback"' not in log  # B served the failover without a fault
