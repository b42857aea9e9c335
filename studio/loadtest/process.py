"""The server's process as Linux shows it under /proc: which process listens on the port, its resident memory,
its CPU time and the settings it was started with.

The load test runs beside the server (loopback only), so it can read these directly rather than trusting the
server to report on itself; /metrics has no process series (service/metrics.py uses a registry of its own).
"""

from __future__ import annotations

import os
from pathlib import Path

from studio.core.errors import UsageError

PROC = Path("/proc")
LISTEN = "0A"  # the socket state /proc/net/tcp writes for a listening socket


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (IPv4 and IPv6)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listening_pid(port: int) -> int | None:
    """The process listening on `port`, when it is one this user may look into (None otherwise)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and wanted & _open_files(entry):
            return int(entry.name)
    return None


def _open_files(entry: Path) -> set[str]:
    """What the process's file descriptors point at; empty for another user's process or one that is gone."""
    found = set()
    try:
        descriptors = list((entry / "fd").iterdir())
    except OSError:
        return found
    for descriptor in descriptors:
        try:
            found.add(os.readlink(descriptor))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return found


def server_pid(port: int, given: int | None) -> int:
    """The server's pid: `given`, checked to be a live process, else the process listening on `port`."""
    if given is not None:
        if not (PROC / str(given) / "status").is_file():
            raise UsageError(f"no process {given} on this machine (--pid)")
        return given
    found = listening_pid(port)
    if found is None:
        raise UsageError(f"cannot find the process listening on port {port} (another user's?): give the server's --pid")
    return found


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid` now (VmRSS), or None when the process is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time `pid` has used so far, or None when the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> str | None:
    """How `pid` was started (its arguments, shell-quoted), or None when unreadable."""
    import shlex

    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    arguments = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    return shlex.join(arguments) if arguments else None


def environment(pid: int) -> dict[str, str] | None:
    """The environment `pid` was started with (what its Settings were read from), or None when unreadable.
    A relative STUDIO_DATA_DIR is made absolute against the process's working folder."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
        cwd = Path(os.readlink(PROC / str(pid) / "cwd"))
    except OSError:
        return None
    env = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
    data_dir = env.get("STUDIO_DATA_DIR")
    if data_dir and not Path(data_dir).expanduser().is_absolute():
        env["STUDIO_DATA_DIR"] = str(cwd / data_dir)
    return env
