"""The web app's logins (STUDIO_AUTH): user names with salted scrypt hashes, never the passwords themselves.

STUDIO_AUTH holds `user:password` pairs separated by commas. The first colon of a pair ends the user name,
so a password may hold colons as they are; a comma (or a colon in a user name, or a backslash) is written
with a backslash before it: `carol:a\\,b` is the password `a,b`. Spaces around a user name are dropped
(Gradio's login form drops them too); a password is kept exactly as written.

The passwords are hashed once, when the settings are read, each with its own random salt, and then
dropped: a process holds no password, and no message, log line or repr shows one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

from studio.core.errors import UsageError

# scrypt's interactive-login cost (2^14, 8, 1): about 50 ms and 16 MB per check on a 2-core machine.
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_DUMMY_SALT = b"\0" * 16  # an unknown user costs one hash too, so timing does not tell which names exist


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT)


def split_pairs(raw: str, variable: str = "STUDIO_AUTH") -> list[tuple[str, str]]:
    """(user, password) pairs from `raw`; a malformed value is a UsageError that never quotes a password."""
    pairs: list[tuple[str, str]] = []
    fields: list[list[str]] = [[]]  # the user name's characters, then the password's once a colon is seen
    escaped = False

    def finish() -> None:
        if len(fields) == 1 and not "".join(fields[0]).strip():
            fields[:] = [[]]  # an empty entry (a trailing comma) is skipped
            return
        number = len(pairs) + 1
        if len(fields) == 1:
            raise UsageError(f"{variable}: pair {number} has no ':' (write user:password pairs, comma-separated)")
        user, password = "".join(fields[0]).strip(), "".join(fields[1])
        if not user:
            raise UsageError(f"{variable}: pair {number} has no user name before its ':'")
        if not password:
            raise UsageError(f"{variable}: user {user!r} has an empty password")
        if user in {name for name, _ in pairs}:
            raise UsageError(f"{variable}: user {user!r} is named twice")
        pairs.append((user, password))
        fields[:] = [[]]

    for char in raw:
        if escaped:
            fields[-1].append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            finish()
        elif char == ":" and len(fields) == 1:
            fields.append([])
        else:
            fields[-1].append(char)
    if escaped:
        raise UsageError(f"{variable} ends with a lone backslash (write \\\\ for a backslash, \\, for a comma)")
    finish()
    if not pairs:
        raise UsageError(f"{variable} names no user:password pair")
    return pairs


class Accounts:
    """Who may log in: each user's salt and scrypt hash."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._hashes: dict[str, tuple[bytes, bytes]] = {}
        for user, password in pairs:
            salt = os.urandom(16)
            self._hashes[user] = (salt, _hash(password, salt))

    @classmethod
    def parse(cls, raw: str, variable: str = "STUDIO_AUTH") -> Accounts:
        return cls(split_pairs(raw, variable))

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(self._hashes)

    def verify(self, user: str, password: str) -> bool:
        """Whether `password` is `user`'s; as slow for an unknown user as for a known one."""
        salt, expected = self._hashes.get(user, (_DUMMY_SALT, b""))
        given = _hash(password, salt)
        return hmac.compare_digest(given, expected) and user in self._hashes

    def __repr__(self) -> str:
        return f"Accounts({len(self._hashes)} user(s))"
