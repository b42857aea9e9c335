"""Chromium for the browser tests: one browser per module, a fresh page on the module's app server."""

from __future__ import annotations

import pytest

from tests.ui.browser import launch_chromium, open_app


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as instance:
        yield instance


@pytest.fixture
def page(browser, app_server):
    """The app in a new page; `app_server` is the module's own where a module defines one."""
    with open_app(browser, app_server.url) as page:
        yield page
