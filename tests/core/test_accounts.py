"""STUDIO_AUTH's logins (studio/core/accounts.py): the pair syntax and its escapes, hashed passwords that no
message, repr or pickle shows."""

from __future__ import annotations

import pickle

import pytest

from studio.core.accounts import Accounts, split_pairs
from studio.core.errors import UsageError

SECRET = "hunter2-Zq9"


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        ("alice:pw", [("alice", "pw")]),
        ("alice:pw,bob:other", [("alice", "pw"), ("bob", "other")]),
        (" alice :pw , bob:other,", [("alice", "pw "), ("bob", "other")]),  # a password keeps its spaces
        ("alice:a:b:c", [("alice", "a:b:c")]),  # the first colon ends the user name
        (r"carol:a\,b", [("carol", "a,b")]),
        (r"dave:back\\slash", [("dave", "back\\slash")]),
        (r"e\:ve:pw", [("e:ve", "pw")]),
        ("zoë:pässwörd", [("zoë", "pässwörd")]),
    ],
)
def test_pairs_are_split_as_documented(raw, pairs):
    assert split_pairs(raw) == pairs


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (f"alice{SECRET}", "STUDIO_AUTH: pair 1 has no ':' (write user:password pairs, comma-separated)"),
        (f"alice:{SECRET},{SECRET}", "STUDIO_AUTH: pair 2 has no ':' (write user:password pairs, comma-separated)"),
        (f" :{SECRET}", "STUDIO_AUTH: pair 1 has no user name before its ':'"),
        ("alice:", "STUDIO_AUTH: user 'alice' has an empty password"),
        (f"alice:{SECRET},alice:x", "STUDIO_AUTH: user 'alice' is named twice"),
        (f"alice:{SECRET}\\", "STUDIO_AUTH ends with a lone backslash (write \\\\ for a backslash, \\, for a comma)"),
        (" , ,", "STUDIO_AUTH names no user:password pair"),
    ],
)
def test_a_malformed_value_is_one_line_that_never_quotes_a_password(raw, message):
    with pytest.raises(UsageError) as caught:
        Accounts.parse(raw)
    assert str(caught.value) == message
    assert SECRET not in str(caught.value)


def test_only_the_right_password_of_a_known_user_passes():
    accounts = Accounts.parse(rf"alice:{SECRET},carol:a\,b:c")
    assert accounts.users == ("alice", "carol")
    assert accounts.verify("alice", SECRET)
    assert accounts.verify("carol", "a,b:c")
    for user, password in [("alice", SECRET + " "), ("alice", ""), ("carol", SECRET), ("mallory", SECRET), ("", "")]:
        assert not accounts.verify(user, password), (user, password)


def test_no_password_is_kept_shown_or_pickled():
    accounts = Accounts.parse(f"alice:{SECRET},bob:{SECRET}2")
    assert repr(accounts) == "Accounts(2 user(s))"
    held = pickle.dumps(accounts)  # settings travel pickled to Ray workers
    assert SECRET.encode() not in held and SECRET.encode("utf-16-le") not in held
    assert SECRET not in str(vars(accounts))
    salts = {salt for salt, _ in accounts._hashes.values()}
    assert len(salts) == 2  # each password has its own salt
    assert pickle.loads(held).verify("alice", SECRET)
