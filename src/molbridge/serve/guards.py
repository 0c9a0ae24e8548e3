"""What stands between a client and the work: the bearer token, the body-size limit and a per-client rate limit.

The body limit is enforced on the bytes actually received (a missing or false Content-Length does not get past
it); the rate limit is a token bucket per client address, refilled continuously.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from molbridge.errors import MolbridgeError


class ServeSettingsError(MolbridgeError, ValueError):
    """A server that must not start as configured (e.g. a public address without a token)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise ServeSettingsError(f"binding {host} exposes the server beyond this machine: pass --token-file")


def allowed_host(host_header: str, bind_host: str) -> bool:
    """Without a token the server binds loopback; a request naming another host there is a DNS-rebinding page
    reaching it through the browser, refused."""
    name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    name = name.strip("[]").lower()
    return name == bind_host.lower() or is_loopback(name)


def allowed_origin(origin: str | None, host_header: str, cors_origins: list[str]) -> bool:
    """A state-changing request from a browser must come from the server's own page or a configured origin (a form
    post from any website would otherwise reach a local server without a preflight); other clients send none."""
    if origin is None:
        return True
    return origin in cors_origins or origin.split("://", 1)[-1].lower() == host_header.lower()


def token_matches(header: str | None, token: str) -> bool:
    """A constant-time comparison of `Authorization: Bearer <token>`."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class RateLimiter:
    """`per_minute` requests per client, in bursts of at most `burst`."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate, self.burst = per_minute / 60.0, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 10_000:  # forget clients whose bucket has refilled (the same as none)
                self._buckets = {c: (t, at) for c, (t, at) in self._buckets.items()
                                 if t + (now - at) * self.rate < self.burst}
            return allowed


class BodyLimit:
    """ASGI middleware: the body is read (up to `max_bytes`) before any handler runs; one over the limit gets 413.

    Why buffer: the limit holds whatever Content-Length says (or when it is absent), and bodies under it are small
    enough to hold; a handler then reads the same bytes from memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when the client leaves

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = (b'{"error":"BodyTooLarge","detail":"the request body is over the server\'s limit of '
            + str(limit).encode() + b' bytes"}')
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
