"""Debian's nginx in front of test replicas, configured by deploy/nginx.conf itself.

The site file is rendered for the test's ports and folders by the substitution its header documents
(the listen port, the two replica addresses, the log folder) and included in a small main configuration
that plays the part of Debian's /etc/nginx/nginx.conf: pid, error log and temporary folders in the test's
folder, no daemon, and the test user's own account (as root, workers would otherwise run as nobody and
could not write the test's temporary folders).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.appserver import free_port
from tests.paths import REPO_ROOT

SITE = REPO_ROOT / "deploy" / "nginx.conf"
COOKIE = "studio_affinity"
REPLICA_PORTS = ("127.0.0.1:7861", "127.0.0.1:7862")
LOG_LINE = re.compile(
    r'"(?P<request>[^"]*)" (?P<status>\d+) .* rid=(?P<rid>\S+) affinity=(?P<key>\S+) upstream="(?P<up>[^"]*)"'
)


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)


def render_site(listen: int, replicas: list[int], log_dir: Path) -> str:
    """deploy/nginx.conf with the test's listen port, replica ports and log folder, nothing else changed."""
    text = SITE.read_text(encoding="utf-8")
    swaps = [("listen 80;", f"listen 127.0.0.1:{listen};"), ("/var/log/nginx/", f"{log_dir}/")]
    swaps += [(address, f"127.0.0.1:{port}") for address, port in zip(REPLICA_PORTS, replicas, strict=True)]
    for old, new in swaps:
        if old not in text:
            raise ValueError(f"deploy/nginx.conf no longer holds {old!r}, which the tests replace (see its header)")
        text = text.replace(old, new)
    return text


def main_config(folder: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around the site file, in `folder`."""
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in kinds)
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 512; }}\nhttp {{\n{temp}\n    access_log off;\n    include {site};\n}}\n"
    )


@dataclass(frozen=True)
class Hop:
    """One request as nginx logged it: the replicas it tried, in order (the last one answered)."""

    request: str
    status: int
    key: str
    upstreams: tuple[str, ...]


class Nginx:
    """nginx on a free port in front of `replicas` (ports), run as a child process of the test."""

    def __init__(self, binary: str, folder: Path, replicas: list[int]):
        self.binary, self.folder = binary, folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        folder.mkdir(parents=True, exist_ok=True)
        self.site = folder / "enhance-studio.conf"
        self.site.write_text(render_site(self.port, replicas, folder), encoding="utf-8")
        self.conf = folder / "nginx.conf"
        self.conf.write_text(main_config(folder, self.site), encoding="utf-8")
        self.access_log = folder / "enhance-studio.access.log"
        self._process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.folder / "error.log"), *extra]

    def check(self) -> None:
        """`nginx -t`: the rendered configuration is valid."""
        result = subprocess.run(self.command("-t"), capture_output=True, text=True, check=False, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{result.stderr}")

    def start(self, timeout: float = 15) -> Nginx:
        self.check()
        with open(self.folder / "stderr.log", "wb") as stderr:
            self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.folder / 'stderr.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"nginx did not listen on {self.port} within {timeout} s")

    def hops(self) -> dict[str, Hop]:
        """Every logged request by its request id (the X-Request-ID its replica answered with)."""
        found = {}
        text = self.access_log.read_text(encoding="utf-8") if self.access_log.exists() else ""
        for line in text.splitlines():
            match = LOG_LINE.search(line)
            if match:
                upstreams = tuple(part.strip() for part in match["up"].split(",") if part.strip())
                found[match["rid"]] = Hop(match["request"], int(match["status"]), match["key"], upstreams)
        return found

    def hop(self, request_id: str, timeout: float = 5) -> Hop:
        """The log line of one request (nginx writes it once the response is sent: wait for it briefly)."""
        deadline = time.monotonic() + timeout
        while (found := self.hops().get(request_id)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"request {request_id} is not in nginx's access log")
            time.sleep(0.02)
        return found

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
