"""Sign in with Hugging Face on a Space (STUDIO_HF_LOGIN): Gradio's LoginButton and its OAuth routes
(gradio[oauth]: authlib, itsdangerous), and who the signed-in visitor is.

Gradio attaches its /login/huggingface, /login/callback and /logout routes when the page holds a LoginButton,
and keeps the visitor's OAuth answer in a signed session cookie. The rating tabs then rate as `hf:<user>`
and, under `ratings` or `all`, refuse a visitor who has not signed in; under `all` model runs need it too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import gradio as gr

from studio.core.config import Settings

SIGN_IN = "Sign in with Hugging Face (the button at the top of the page) to {what}."


def login_button(settings: Settings) -> None:
    """The sign-in button, where STUDIO_HF_LOGIN asks for one (nothing otherwise: no OAuth routes either)."""
    if settings.hf_login != "off":
        gr.LoginButton(elem_id="hf-login")


def _session(request: gr.Request | None) -> Mapping[str, Any]:
    """The request's signed session (empty without one): on the HTTP request's scope for a direct call, a plain
    attribute on the gr.Request Gradio rebuilds for a queued event."""
    underlying = getattr(request, "request", None) or request
    scope = getattr(underlying, "scope", None)
    if isinstance(scope, dict):
        return scope.get("session") or {}
    session = getattr(underlying, "session", None)
    return session if isinstance(session, Mapping) else {}


def hf_user(request: gr.Request | None) -> str | None:
    """The Hugging Face user name the caller signed in as, while that sign-in has not expired."""
    info = _session(request).get("oauth_info")
    if not isinstance(info, Mapping):
        return None
    expires_at = info.get("expires_at")
    if isinstance(expires_at, int | float) and expires_at < time.time():
        return None
    userinfo = info.get("userinfo")
    name = userinfo.get("preferred_username") if isinstance(userinfo, Mapping) else None
    return str(name) if name else None


def require_hf_user(settings: Settings, request: gr.Request | None, what: str, scope: str = "ratings") -> str | None:
    """The signed-in user name; one gr.Error line when STUDIO_HF_LOGIN asks for a sign-in here (`scope`:
    ratings for the rating tabs, all for everything) and there is none."""
    user = hf_user(request)
    if user is None and settings.hf_login in ("all", scope):
        raise gr.Error(SIGN_IN.format(what=what))
    return user
