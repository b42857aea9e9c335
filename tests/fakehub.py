"""A small Hugging Face Hub look-alike for download tests (127.0.0.1 only).

It answers what huggingface_hub asks for: HEAD/GET on
/{repo}/resolve/{revision}/{filename} with X-Repo-Commit and ETag headers,
X-Error-Code on 404s, and /api/models/{repo}/revision/{rev} for `studio lock`.
SilentHost is the opposite: a Hub (or weights URL) that accepts connections and never answers.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that stopped reading (a download cut at its deadline) is no error of the server's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeHub:
    """Serves `files` {(repo_id, filename): bytes}; counts requests; can throttle GETs."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        self.delay_per_chunk = 0.0
        self._server: ThreadingHTTPServer | None = None

    def add(self, repo_id: str, filename: str, content: bytes) -> str:
        self.files[(repo_id, filename)] = content
        return hashlib.sha256(content).hexdigest()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _not_found(self, code: str) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self, with_body: bool) -> None:
                path = unquote(self.path.split("?")[0])
                hub.requests.append(f"{self.command} {path}")
                api = API.match(path)
                if api:
                    if not any(repo == api["repo"] for repo, _ in hub.files):
                        return self._not_found("RepoNotFound")
                    body = json.dumps({"id": api["repo"], "modelId": api["repo"], "sha": COMMIT}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if with_body:
                        self.wfile.write(body)
                    return None
                match = RESOLVE.match(path)
                if not match:
                    return self._not_found("RepoNotFound")
                if not any(repo == match["repo"] for repo, _ in hub.files):
                    return self._not_found("RepoNotFound")
                if match["rev"] not in ("main", COMMIT):
                    return self._not_found("RevisionNotFound")
                content = hub.files.get((match["repo"], match["file"]))
                if content is None:
                    return self._not_found("EntryNotFound")
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"' + hashlib.sha256(content).hexdigest() + '"')
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if with_body:
                    for start in range(0, len(content), 64 * 1024):
                        if hub.delay_per_chunk:
                            time.sleep(hub.delay_per_chunk)
                        self.wfile.write(content[start : start + 64 * 1024])
                return None

            def do_HEAD(self):
                self._serve(with_body=False)

            def do_GET(self):
                self._serve(with_body=True)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class SilentHost:
    """A host that accepts connections and never answers (127.0.0.1 only): what held `/compare` for 393 s.

    `connections` counts the connections accepted; each is held open, unread, until `stop()`.
    """

    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._held: list[socket.socket] = []
        self.connections = 0

    @property
    def url(self) -> str:
        assert self._listener is not None
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SilentHost:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            self._held.append(connection)
            self.connections += 1

    def wait_for_connection(self, count: int = 1, timeout: float = 10.0) -> None:
        """Return once `count` connections were accepted (a hung request is in progress)."""
        deadline = time.monotonic() + timeout
        while self.connections < count:
            if time.monotonic() > deadline:
                raise TimeoutError("no client connected to the silent host")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in self._held:
            connection.close()
        self._held.clear()
