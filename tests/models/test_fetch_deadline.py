"""A weights host that accepts connections and never answers (issue #13: it held `/compare` for 393 s and
`studio fetch` was still retrying at 300 s). Every fetch ends after STUDIO_FETCH_TIMEOUT_S with one line, a
download that runs past STUDIO_FETCH_MAX_S ends there, the host is not asked again for a minute (the picker
shows its models unavailable), and a run of another model does not wait for it."""

from __future__ import annotations

import threading
import time

import pytest

from studio.core.config import Settings
from studio.core.errors import WeightsNotAvailableError
from studio.core.media import DecodedImage
from studio.engine.compare import run as compare_run
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader, fetch_problem
from studio.models.registry import load_registry
from studio.models.weights import download
from studio.models.weights.download import Budget
from studio.models.weights.store import WeightStore
from studio.models.weights.watch import NoAnswer, run_watched
from tests.cli.helpers import ONLINE, hub_entry, stderr_lines, studio, write_registry
from tests.models.test_weights import ADVICE, hub_spec, net_spec

HUB_ADVICE = (
    "run `studio fetch m` on a machine with network access, or copy its Hugging Face cache (HF_HOME) from a "
    "machine that has it, or set HF_ENDPOINT to a Hub mirror"
)


def test_a_silent_hub_fails_after_the_timeout_in_one_line_and_is_not_asked_again(silent_hub, silent, monkeypatch):
    settings = Settings.from_env(silent_hub)
    store = WeightStore(settings)
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        store.resolve(hub_spec())
    assert 1.0 <= time.monotonic() - started < 6.0
    assert str(failed.value) == (
        f"acme/sr-net/net.pth for 'm' is not downloaded and cannot be fetched now (the Hub ({silent.url}) did not "
        f"answer within 1 s): {HUB_ADVICE}"
    )
    # the first call's abandoned download thread may still connect (huggingface_hub retries on its own), so
    # "not asked" is checked where the second call would ask: the probe and the watched download
    from studio.models.weights import hub

    asked: list[str] = []
    monkeypatch.setattr(hub, "endpoint_reachable", lambda *a, **k: asked.append("probe") or False)
    monkeypatch.setattr(hub, "run_watched", lambda *a, **k: asked.append("download"))
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as again:
        store.resolve(hub_spec())
    assert time.monotonic() - started < 2.0 and asked == []  # remembered: not asked
    assert f"(the Hub ({silent.url}) did not answer within 1 s, less than 60 s ago)" in str(again.value)
    assert fetch_problem(hub_spec(), settings) == (
        "not downloaded, and the Hub did not answer within 1 s (less than 60 s ago)"
    )  # the model picker shows the model unavailable meanwhile


def test_a_silent_weights_url_fails_after_the_timeout_in_one_line(env, silent):
    env.pop("STUDIO_OFFLINE")
    env["STUDIO_FETCH_TIMEOUT_S"] = "1"
    started = time.monotonic()
    with pytest.raises(WeightsNotAvailableError) as failed:
        WeightStore(Settings.from_env(env)).resolve(net_spec(f"{silent.url}/releases/net.pth"))
    assert 1.0 <= time.monotonic() - started < 6.0
    assert str(failed.value) == (
        f"net.pth for 'acme-url' is not downloaded and cannot be fetched now (127.0.0.1: did not answer within 1 s): "
        f"{ADVICE}"
    )


def test_a_download_that_runs_past_the_total_ends_there(online_hub, env):
    """The Hub answers at once but sends slowly (3 s in all): STUDIO_FETCH_MAX_S=1 ends the fetch after 1 s, for
    a Hub source and for the same bytes as a URL source."""
    online_hub.add("acme/sr-net", "net.pth", b"w" * (640 * 1024))
    online_hub.delay_per_chunk = 0.3
    env["STUDIO_FETCH_MAX_S"] = "1"
    store = WeightStore(Settings.from_env(env))
    url = f"{online_hub.url}/acme/sr-net/resolve/main/net.pth"
    for spec, where in ((hub_spec(), f"(the Hub ({online_hub.url}) "), (net_spec(url), "(127.0.0.1: ")):
        started = time.monotonic()
        with pytest.raises(WeightsNotAvailableError) as failed:
            store.resolve(spec)
        assert f"{where}did not send the weights within 1 s)" in str(failed.value)
        download._unreachable.clear()  # one host serves both: forget its failure for the second source
        assert 0.9 <= time.monotonic() - started < 6.0


def test_the_watchdog_hands_back_the_value_or_the_error_and_stops_waiting_at_the_limits():
    assert run_watched(lambda answered: 42, Budget.start(1, 5)) == 42
    with pytest.raises(KeyError):
        run_watched(lambda answered: {}["missing"], Budget.start(1, 5))

    def silent(answered):
        time.sleep(5)

    def slow(answered):
        answered()
        time.sleep(5)

    for work, why in ((silent, "did not answer within 0.2 s"), (slow, "did not send the weights within 0.5 s")):
        started = time.monotonic()
        with pytest.raises(NoAnswer, match=why):
            run_watched(work, Budget.start(0.2, 0.5))
        assert time.monotonic() - started < 3.0


def test_studio_fetch_ends_with_one_line_when_the_hub_never_answers(tmp_path, silent):
    registry = write_registry(tmp_path / "registry.yaml", hub_entry())
    env = {
        **ONLINE,
        "HF_ENDPOINT": silent.url,
        "HF_HOME": str(tmp_path / "hf"),
        "STUDIO_FETCH_TIMEOUT_S": "1",
    }
    started = time.monotonic()
    result = studio("--registry", str(registry), "fetch", "acme-net", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert stderr_lines(result) == [
        f"error: acme/sr-net/net.pth for 'acme-net' is not downloaded and cannot be fetched now (the Hub "
        f"({silent.url}) did not answer within 1 s): {HUB_ADVICE.replace('studio fetch m', 'studio fetch acme-net')}"
    ]
    assert elapsed < 60  # start, imports, the 1 s wait (on a loaded machine); before: still retrying at 300 s


def test_a_run_of_another_model_does_not_wait_for_a_silent_hub(silent_hub, silent, tmp_path, small_photo):
    silent_hub["STUDIO_REGISTRY"] = str(write_registry(tmp_path / "registry.yaml", hub_entry()))
    silent_hub["STUDIO_FETCH_TIMEOUT_S"] = "3"
    settings = Settings.from_env(silent_hub)
    registry = load_registry(settings)
    loader = Loader(settings, cache=EnhancerCache(512))
    image = DecodedImage(rgb=small_photo)
    hung: dict = {}

    def run_hub_model() -> None:
        started = time.monotonic()
        hung["results"] = compare_run(CompareRequest.build(registry, ["acme-net"], metrics=[]), image, registry, loader)
        hung["seconds"] = time.monotonic() - started

    first = threading.Thread(target=run_hub_model)
    first.start()
    silent.wait_for_connection(2)  # the reachability probe, then the Hub request that hangs
    started = time.monotonic()
    lanczos = compare_run(CompareRequest.build(registry, ["lanczos-x2"], metrics=[]), image, registry, loader)
    lanczos_s = time.monotonic() - started
    still_hung = first.is_alive()
    first.join()
    assert lanczos.rows[0].ok and still_hung and lanczos_s < 5.0
    [row] = hung["results"].rows
    assert "did not answer within 3 s" in row.error and 3.0 <= hung["seconds"] < 10.0
    print(f"hung fetch failed after {hung['seconds']:.2f} s; lanczos-x2 meanwhile took {lanczos_s:.3f} s")
