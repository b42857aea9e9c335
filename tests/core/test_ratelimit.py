"""The sliding-window rate limits (studio/core/ratelimit.py) on an injected clock: no sleeps."""

from __future__ import annotations

import threading

import pytest

from studio.core import telemetry
from studio.core.errors import RateLimitedError
from studio.core.ratelimit import LOGINS, RUNS, VOTES, Rate, RateLimiter, SlidingWindow


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def refusals():
    seen: list[dict[str, str]] = []
    stop = telemetry.subscribe(lambda event, _value, labels: seen.append(labels) if event == "rate_limited" else None)
    yield seen
    stop()


def test_the_limit_th_event_passes_the_next_is_refused_naming_the_wait(clock, refusals):
    limiter = RateLimiter({RUNS: Rate(3, 0)}, clock=clock)
    for _ in range(3):
        limiter.take(RUNS, "s1", "10.0.0.1")
        clock.now += 10  # events at 1000, 1010, 1020
    with pytest.raises(RateLimitedError) as caught:  # now 1030: the first leaves the window at 1060
        limiter.take(RUNS, "s1", "10.0.0.1")
    assert str(caught.value) == "slow down: too many runs from this session in the last minute (try again in 30 s)"
    assert caught.value.retry_after_s == 30
    assert refusals == [{"kind": "runs", "scope": "session"}]
    clock.now = 1059.5
    with pytest.raises(RateLimitedError, match=r"try again in 1 s\)$"):  # never "0 s"
        limiter.take(RUNS, "s1", "10.0.0.1")
    clock.now = 1060.0
    limiter.take(RUNS, "s1", "10.0.0.1")  # the first event left the window: one more fits
    with pytest.raises(RateLimitedError, match=r"try again in 10 s\)$"):  # then the one at 1010 must leave
        limiter.take(RUNS, "s1", "10.0.0.1")


def test_a_refused_event_is_not_counted(clock):
    limiter = RateLimiter({VOTES: Rate(2, 0)}, clock=clock)
    limiter.take(VOTES, "s", None)
    limiter.take(VOTES, "s", None)
    for _ in range(50):  # hammering while refused does not push the window further out
        clock.now += 1
        with pytest.raises(RateLimitedError):
            limiter.take(VOTES, "s", None)
    clock.now = 1000.0 + 60
    limiter.take(VOTES, "s", None)


def test_sessions_and_addresses_have_their_own_budgets(clock, refusals):
    limiter = RateLimiter({RUNS: Rate(2, 3), VOTES: Rate(1, 1)}, clock=clock)
    limiter.take(RUNS, "a", "10.0.0.1")
    limiter.take(RUNS, "a", "10.0.0.1")
    with pytest.raises(RateLimitedError, match="from this session"):
        limiter.take(RUNS, "a", "10.0.0.1")
    limiter.take(RUNS, "b", "10.0.0.1")  # another session on the same address: the address's third
    with pytest.raises(RateLimitedError, match="from this address"):
        limiter.take(RUNS, "c", "10.0.0.1")
    limiter.take(RUNS, "c", "10.0.0.2")  # another address
    limiter.take(VOTES, "a", "10.0.0.1")  # another kind: its own windows
    assert refusals == [{"kind": "runs", "scope": "session"}, {"kind": "runs", "scope": "address"}]


def test_over_the_address_limit_the_session_is_not_charged(clock):
    limiter = RateLimiter({RUNS: Rate(2, 1)}, clock=clock)
    limiter.take(RUNS, "a", "10.0.0.1")
    with pytest.raises(RateLimitedError, match="from this address"):
        limiter.take(RUNS, "b", "10.0.0.1")
    limiter.take(RUNS, "b", "10.0.0.2")
    limiter.take(RUNS, "b", "10.0.0.3")  # b's refused event above was not counted: this is its second


def test_zero_and_unknown_keys_are_not_limited(clock):
    limiter = RateLimiter({RUNS: Rate(0, 0), VOTES: Rate(1, 0)}, clock=clock)
    for _ in range(100):
        limiter.take(RUNS, "s", "10.0.0.1")
        limiter.take(VOTES, None, "10.0.0.1")  # no session known: only the address, which has no limit
        limiter.take("unknown kind", "s", "10.0.0.1")
    assert limiter.tracked() == 0
    assert not Rate(0, 0) and Rate(0, 1) and str(Rate(5, 20)) == "5,20"


def test_checking_an_address_counts_nothing_and_counting_does_not_check(clock):
    limiter = RateLimiter({LOGINS: Rate(0, 2)}, clock=clock)
    for _ in range(5):
        limiter.check_address(LOGINS, "10.0.0.1")
    limiter.count_address(LOGINS, "10.0.0.1")
    limiter.check_address(LOGINS, "10.0.0.1")
    clock.now += 5
    limiter.count_address(LOGINS, "10.0.0.1")
    limiter.count_address(LOGINS, "10.0.0.1")  # a third failure, counted though over the limit
    with pytest.raises(RateLimitedError) as caught:
        limiter.check_address(LOGINS, "10.0.0.1")
    assert str(caught.value).startswith("slow down: too many failed logins from this address")
    assert caught.value.retry_after_s == 60  # two of the three must leave: the second, at 1005, leaves at 1065
    limiter.check_address(LOGINS, None)


def test_idle_keys_are_forgotten(clock):
    limiter = RateLimiter({RUNS: Rate(5, 5)}, clock=clock)
    for index in range(200):  # one-off sessions from many addresses
        limiter.take(RUNS, f"s{index}", f"10.0.{index // 250}.{index % 250}")
    assert limiter.tracked() == 400
    clock.now += 61
    limiter.take(RUNS, "late", "10.1.0.1")  # the first event a window later sweeps the idle keys
    assert limiter.tracked() == 2


def test_a_window_prunes_events_as_it_looks():
    window = SlidingWindow(2, window_s=10)
    window.add("k", 0.0)
    window.add("k", 5.0)
    assert window.wait("k", 9.0) == 1.0 and window.wait("k", 10.0) == 0.0
    assert window.wait("k", 15.0) == 0.0 and window.keys_held() == 0  # both left: the key is gone


def test_threads_never_exceed_the_limit(clock):
    limiter = RateLimiter({VOTES: Rate(0, 25)}, clock=clock)
    accepted: list[int] = []

    def vote() -> None:
        for _ in range(10):
            try:
                limiter.take(VOTES, None, "10.0.0.1")
            except RateLimitedError:
                continue
            accepted.append(1)

    threads = [threading.Thread(target=vote) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 25
