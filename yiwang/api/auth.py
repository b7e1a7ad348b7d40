"""Who may read: a bearer token checked against the SHA-256 digests of the accepted ones (the
API is configured with digests only, never a token in clear), or the console's session cookie.

A person cannot send an `Authorization` header from a browser's address bar, so the console
trades a token for a session cookie once (`/console/login`). The cookie is signed, not stored:
any server process holding the secret can check it (`yiwang serve --workers N` gives them one),
and it names the digest of the token it was issued for, so removing a token from
`YIWANG_API_TOKEN_SHA256` ends its sessions too.
"""

import hashlib
import hmac
import time
from collections.abc import Callable, Collection
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False)  # a missing token is refused by `authorised`, as a 401
COOKIE = "yiwang_session"
SESSION_HOURS = 8  # a working day: a person signs in again the next morning


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def known(token: str, digests: Collection[str]) -> bool:
    offered = digest(token)
    return any(hmac.compare_digest(offered, d) for d in digests)


class Sessions:
    """Session cookies `<token digest>.<expiry>.<HMAC-SHA256 of both>`, signed with `secret`."""

    def __init__(
        self, secret: bytes, hours: float = SESSION_HOURS, clock: Callable[[], float] = time.time
    ) -> None:
        self.secret, self.seconds, self.clock = secret, int(hours * 3600), clock

    def _mac(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, token_digest: str) -> str:
        body = f"{token_digest}.{int(self.clock()) + self.seconds}"
        return f"{body}.{self._mac(body)}"

    def digest_of(self, cookie: str) -> str | None:
        """The token digest a genuine, unexpired cookie names; None for anything else."""
        body, _, mac = cookie.rpartition(".")
        token_digest, _, expiry = body.partition(".")
        if not (mac and expiry.isdigit()) or not hmac.compare_digest(mac, self._mac(body)):
            return None
        return token_digest if int(expiry) > self.clock() else None


class Gate:
    """Whether a request may read: a known bearer token, or a session of a still-accepted one."""

    def __init__(self, digests: Collection[str], sessions: Sessions) -> None:
        self.digests, self.sessions = digests, sessions

    def bearer(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and known(token, self.digests)

    def session(self, cookie: str | None) -> bool:
        named = self.sessions.digest_of(cookie) if cookie else None
        return named is not None and any(hmac.compare_digest(named, d) for d in self.digests)

    def admits(self, authorization: str | None, cookie: str | None) -> bool:
        return self.bearer(authorization) or self.session(cookie)


def admitted(request: Request) -> bool:
    return request.app.state.gate.admits(
        request.headers.get("authorization"), request.cookies.get(COOKIE)
    )


async def authorised(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """401 unless the request bears a token the app accepts, or a console session of one."""
    if admitted(request):
        return
    detail = "a bearer token is required" if credentials is None else "unknown token"
    raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})
