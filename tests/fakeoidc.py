"""A local OpenID Connect provider standing in for huggingface.co's OAuth on a Space (127.0.0.1 only).

It speaks what Gradio's login routes (authlib) ask of the Hub: the discovery document, an authorize endpoint
that signs in `user` at once and sends the browser back with a code, a token endpoint that checks the code
and the client's secret and answers with an RS256-signed id token carrying the nonce, and the signing keys.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_ID = "enhance-studio-test"
CLIENT_SECRET = "a-space-oauth-secret"


class FakeOpenIdProvider:
    def __init__(self, user: str = "alice") -> None:
        from authlib.jose import JsonWebKey  # authlib ships it (gradio[oauth] verifies the id token with it)

        self.user = user
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "test-key"})
        self.codes: dict[str, dict[str, Any]] = {}  # code -> the authorize request's nonce and redirect_uri
        self.tokens_issued = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeOpenIdProvider:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/oauth/authorize",
            "token_endpoint": f"{self.url}/oauth/token",
            "userinfo_endpoint": f"{self.url}/oauth/userinfo",
            "jwks_uri": f"{self.url}/oauth/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def userinfo(self) -> dict[str, Any]:
        return {
            "sub": f"id-{self.user}",
            "name": self.user.title(),
            "preferred_username": self.user,
            "profile": f"https://huggingface.co/{self.user}",
            "picture": f"https://huggingface.co/avatars/{self.user}.png",
        }

    def id_token(self, nonce: str | None) -> str:
        from authlib.jose import jwt

        now = int(time.time())
        claims = {**self.userinfo(), "iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 3600}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key).decode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = dict(urllib.parse.parse_qsl(query))
                if path == "/.well-known/openid-configuration":
                    self._json(provider.discovery())
                elif path == "/oauth/jwks":
                    self._json({"keys": [provider.key.as_dict(is_private=False)]})
                elif path == "/oauth/userinfo":
                    self._json(provider.userinfo())
                elif path == "/oauth/authorize" and params.get("client_id") == CLIENT_ID:
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {"nonce": params.get("nonce"), "redirect_uri": params["redirect_uri"]}
                    back = params["redirect_uri"]
                    back += ("&" if "?" in back else "?") + urllib.parse.urlencode(
                        {"code": code, "state": params.get("state", "")}
                    )
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                basic = self.headers.get("Authorization", "").removeprefix("Basic ")
                client = (
                    base64.b64decode(basic).decode()
                    if basic
                    else f"{form.get('client_id')}:{form.get('client_secret')}"
                )
                grant = provider.codes.pop(form.get("code", ""), None)
                if self.path != "/oauth/token" or client != f"{CLIENT_ID}:{CLIENT_SECRET}" or grant is None:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                provider.tokens_issued += 1
                self._json(
                    {
                        "access_token": secrets.token_urlsafe(24),
                        "token_type": "Bearer",
                        "expires_in": 3600,
                        "scope": "openid profile",
                        "id_token": provider.id_token(grant["nonce"]),
                    }
                )

        return Handler
