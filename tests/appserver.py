"""Start the real app (app.py) in a subprocess on a free port, for client and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.environment import clean_env
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_env(home: Path, mirror: str | None, offline: bool = True, **extra: str) -> dict[str, str]:
    """An app's own weights, Hub and data folders under `home`, the test weights mirror, and `extra` on top.

    `offline` also sets STUDIO_OFFLINE (no network at all for weights; HF_HUB_OFFLINE is always set).
    """
    env = {
        "STUDIO_WEIGHTS_DIR": str(home / "w"),
        "HF_HOME": str(home / "hf"),
        "HF_HUB_OFFLINE": "1",
        "STUDIO_WEIGHTS_MIRROR": mirror or "",
        "STUDIO_DATA_DIR": str(home / "data"),
    }
    if offline:
        env["STUDIO_OFFLINE"] = "1"
    return {**env, **extra}


class AppServer:
    def __init__(self, env: dict[str, str | None], log_path: Path):
        """`env`: what this app needs on top of tests.environment.clean_env (offline, no inherited STUDIO_*/HF_*)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        full_env = clean_env({**env, "GRADIO_SERVER_PORT": str(self.port)})
        self._process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._log_path = log_path
        self.log_path = log_path  # the server's stdout and stderr
        self.env = full_env  # what the app was started with (its data, weights and Hub folders)

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_ready(self, timeout: float = 90) -> AppServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"app exited early:\n{self._log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"app did not start in {timeout}s:\n{self._log_path.read_text()[-3000:]}")

    def scratch_folder(self) -> Path:
        """The server's own temp folder (studio/service/scratch.py), under the TMPDIR it was started with."""
        parent = Path(self.env.get("TMPDIR") or tempfile.gettempdir()) / f"enhance-studio-{os.getuid()}"
        [folder] = parent.glob(f"server-{self._process.pid}-*")
        return folder

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleaning, as the OOM killer or a lost machine ends it."""
        self._process.kill()
        self._process.wait()
        self._log.close()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()


def half_an_upload(app: AppServer) -> socket.socket:
    """A multipart upload to /gradio_api/upload that stops half-way, its connection left open."""
    head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
    )
    connection = socket.create_connection(("127.0.0.1", app.port))
    connection.sendall(
        b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        b"Content-Length: 4000000\r\n\r\n" + head + os.urandom(1_000_000)
    )
    return connection
