"""What the UI server checks on every request, as an ASGI layer around Gradio's app.

- **Host names.** Only the configured ones (loopback by default) are served. A page on
  another site that rebinds its DNS name to 127.0.0.1 sends its own name as `Host`
  and gets 421, so it cannot read answers, quotes or paths (DNS rebinding).
- **Origins.** A request whose `Origin` is not the server's own is refused (403):
  no other site can use the UI from a visitor's browser, and no response carries
  cross-origin permissions for one.
- **Headers.** A content security policy, `X-Frame-Options: DENY`, `nosniff` and a
  strict referrer policy on every response.
- **Logins.** After `MAX_FAILED_LOGINS` failed logins from one address within
  `LOGIN_WINDOW` seconds, that address is refused (429) until the window passes.
- **No API schema.** `/openapi.json`, `/docs` and `/redoc` are not served.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK = ("localhost", "127.0.0.1", "::1")
MAX_FAILED_LOGINS = 5
LOGIN_WINDOW = 60.0
HIDDEN_PATHS = ("/openapi.json", "/docs", "/redoc")
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_DROPPED = {b"access-control-allow-origin", b"access-control-allow-credentials"}


def host_name(value: str) -> str:
    """`example.org:7860` -> `example.org`; `[::1]:7860` -> `::1`; lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bind: str, extra: Iterable[str]) -> set[str] | None:
    """The host names to serve: loopback, the address bound (if a specific one), and
    `extra`. None (any name) when bound to every interface with no names given: the
    login then stands in front, since the names users will type are unknown."""
    names = {host_name(name) for name in extra if name.strip()}
    if bind in ("0.0.0.0", "::", "") and not names:
        return None
    return names | set(LOOPBACK) | ({host_name(bind)} if bind not in ("0.0.0.0", "::") else set())


class Guard:
    """The checks above around `app`."""

    def __init__(self, app: ASGIApp, hosts: set[str] | None) -> None:
        self.app = app
        self.hosts = hosts
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            await _refuse(scope, send, 421, "This server does not answer for that host name.")
            return
        origin = headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1].lower() != host.lower():
            await _refuse(scope, send, 403, "Requests from other sites are not allowed.")
            return
        path = scope.get("path", "")
        if path in HIDDEN_PATHS:
            await _refuse(scope, send, 404, "Not found.")
            return
        client = (scope.get("client") or ("?", 0))[0]
        is_login = scope["type"] == "http" and scope.get("method") == "POST" \
            and path.rstrip("/").endswith("/login")
        if is_login and self._throttled(client):
            await _refuse(scope, send, 429, "Too many failed logins: wait a minute, then try "
                                            "again.")
            return

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in _DROPPED]
                message["headers"] = kept + HEADERS
                if is_login and message["status"] >= 400:
                    self._failed(client)
            await send(message)

        await self.app(scope, receive, send_guarded)

    def _throttled(self, client: str) -> bool:
        with self._lock:
            recent = self._failures[client]
            while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
                recent.popleft()
            return len(recent) >= MAX_FAILED_LOGINS

    def _failed(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})
