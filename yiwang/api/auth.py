"""Bearer tokens, checked against the SHA-256 digests of the accepted ones: the API is
configured with digests only, never a token in clear."""

import hashlib
import hmac
from collections.abc import Collection
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False)  # a missing token is refused by `authorised`, as a 401


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def known(token: str, digests: Collection[str]) -> bool:
    offered = digest(token)
    return any(hmac.compare_digest(offered, d) for d in digests)


async def authorised(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """401 unless the request bears a token the app accepts (`app.state.digests`)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    if not known(credentials.credentials, request.app.state.digests):
        raise HTTPException(401, "unknown token", {"WWW-Authenticate": "Bearer"})
