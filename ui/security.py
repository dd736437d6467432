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
- **Unread questions.** Gradio works on every queued question, whether or not its
  client ever reads the answer. A question counts as unread from joining the queue
  until its session opens the stream it is answered on (the browser and gradio_client
  do so at once); one address may hold `max_unread` of them (for `UNREAD_TTL`
  seconds each), and beyond that gets 429 "busy, try again". Several people behind
  one proxy share an address, so the limit is generous (`ui_unread_per_client`).
"""

from __future__ import annotations

import asyncio
import json
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
UNREAD_TTL = 60.0
PRUNE_AT = 1024
"""Client addresses remembered before those with nothing recent are forgotten."""
MAX_JOIN_BODY = 1 << 20
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

    def __init__(self, app: ASGIApp, hosts: set[str] | None, max_unread: int = 4) -> None:
        self.app = app
        self.hosts = hosts
        self.max_unread = max_unread
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._unread: dict[str, dict[str, list[float]]] = defaultdict(dict)
        """client address -> session hash -> times of its questions not yet read"""
        self._lock = threading.Lock()
        self._pruned = float("-inf")

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
        if scope["type"] == "http" and path.endswith("/queue/data"):
            self._read(client, _query(scope).get("session_hash", ""))
        if scope["type"] == "http" and scope.get("method") == "POST" \
                and path.endswith("/queue/join"):
            body = await _body(receive)
            if body is None:
                await _refuse(scope, send, 413, "Request too large.")
                return
            if not self._may_join(client, _session(body)):
                await _refuse(scope, send, 429, "Busy: you have questions waiting that have "
                                                "not been read; try again in a moment.")
                return
            receive = _replay(body, receive)

        async def send_guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in _DROPPED]
                message["headers"] = kept + HEADERS
                if is_login and message["status"] >= 400:
                    self._failed(client)
            await send(message)

        try:
            await self.app(scope, receive, send_guarded)
        except asyncio.CancelledError:
            # Uvicorn cancels the streams still open when it shuts down (a chat's event
            # stream stays open): an end, not an error worth a traceback in the log.
            if scope["type"] != "http":
                raise

    def _may_join(self, client: str, session: str) -> bool:
        now = time.monotonic()
        with self._lock:
            sessions = self._unread[client]
            for key in list(sessions):
                sessions[key] = [t for t in sessions[key] if t > now - UNREAD_TTL]
                if not sessions[key]:
                    del sessions[key]
            if sum(len(times) for times in sessions.values()) >= self.max_unread:
                return False
            sessions.setdefault(session, []).append(now)
            self._prune(now)
            return True

    def _prune(self, now: float) -> None:
        """Forget clients with nothing left to remember (held under `_lock`): a server
        open to many addresses would otherwise keep an entry for each, for good."""
        if len(self._unread) + len(self._failures) < PRUNE_AT or now < self._pruned + 1.0:
            return  # (at most once a second: with many clients live, a scan costs)
        self._pruned = now
        for client in [c for c, sessions in self._unread.items() if not any(
                t > now - UNREAD_TTL for times in sessions.values() for t in times)]:
            del self._unread[client]
        for client in [c for c, times in self._failures.items()
                       if not times or times[-1] < now - LOGIN_WINDOW]:
            del self._failures[client]

    def _read(self, client: str, session: str) -> None:
        with self._lock:
            sessions = self._unread.get(client)
            if sessions is not None:
                sessions.pop(session, None)
                if not sessions:
                    del self._unread[client]

    def _throttled(self, client: str) -> bool:
        with self._lock:
            recent = self._failures.get(client)
            while recent and recent[0] < time.monotonic() - LOGIN_WINDOW:
                recent.popleft()
            if recent is not None and not recent:
                del self._failures[client]
            return recent is not None and len(recent) >= MAX_FAILED_LOGINS

    def _failed(self, client: str) -> None:
        with self._lock:
            self._failures[client].append(time.monotonic())
            self._prune(time.monotonic())


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


async def _body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_JOIN_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, rest: Receive) -> Receive:
    """The body read already, then whatever else the client sends (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await rest()

    return receive


def _session(body: bytes) -> str:
    try:
        value = json.loads(body).get("session_hash", "")
    except (ValueError, AttributeError):
        return ""
    return str(value)
