"""What a load test may be asked to do: a server on this machine only, within bounds, refused in one line."""

from __future__ import annotations

import pytest

from studio.core.errors import UsageError
from studio.loadtest.config import Limits, LoadConfig, default_warmup_s, default_window_s


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:7860", "http://localhost:7860/", "http://[::1]:7860/", "http://127.0.0.2/"]
)
def test_a_server_on_this_machine_is_accepted(url):
    checked = LoadConfig(url).checked()
    assert checked.url.endswith("/") and checked.url.rstrip("/") == url.rstrip("/")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "http://example.com:7860/"}, r"only a server on this machine .*: example\.com$"),
        ({"url": "http://10.0.0.5:7860/"}, r"only a server on this machine .*: 10\.0\.0\.5$"),
        ({"url": "127.0.0.1:7860"}, "is not a server URL"),
        ({"url": "http://127.0.0.1:port/"}, "has no valid port"),
        ({"clients": 0}, "--clients must be 1 to 64"),
        ({"clients": 65}, "--clients must be 1 to 64"),
        ({"seconds": 601}, "--seconds must be 1 to 600"),
        ({"seconds": 10, "warmup_s": 10}, "--warmup must be at least 0 and shorter than --seconds"),
        ({"health_rate": 0}, "--health-rate"),
        ({"compare_share": 1.5}, "--compare-share"),
        ({"models": ()}, "give at least one model"),
        ({"limits": Limits(healthz_p95_ms=0)}, "--healthz-p95-ms"),
    ],
)
def test_out_of_bounds_is_one_line(changes, message):
    config = LoadConfig(**{"url": "http://127.0.0.1:7860/", **changes})
    with pytest.raises(UsageError, match=message) as refused:
        config.checked()
    assert "\n" not in str(refused.value)


def test_the_port_is_the_urls_or_its_schemes():
    assert LoadConfig("http://127.0.0.1:7871/").port == 7871
    assert LoadConfig("http://localhost/").port == 80


def test_short_runs_get_a_shorter_warm_up_and_shorter_windows():
    assert (default_warmup_s(60), default_window_s(60)) == (20.0, 10.0)
    assert (default_warmup_s(15), default_window_s(15)) == (5.0, 2.5)
    assert (default_warmup_s(3), default_window_s(3)) == (1.0, 1.0)
    for seconds in (1, 3, 15, 60, 600):
        LoadConfig("http://127.0.0.1:7860/", seconds=seconds, warmup_s=default_warmup_s(seconds),
                   window_s=default_window_s(seconds)).checked()  # fmt: skip
