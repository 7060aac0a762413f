"""Bearer-token dependencies: ``read`` for GETs, ``write`` for changes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lrhub_service.errors import ServiceError
from lrhub_service.tokens import Principal, TokenStore

bearer = HTTPBearer(
    auto_error=False, description="a token from LRHUB_TOKENS or `lrhub tokens create`"
)


class Unauthorized(ServiceError):
    status = 401
    kind = "unauthorized"
    title = "Authentication required"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ServiceError):
    status = 403
    kind = "forbidden"
    title = "Permission denied"


async def _principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    store: TokenStore = request.app.state.tokens
    if not await store.enabled():
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "this server requires a bearer token: send 'Authorization: Bearer <token>'",
            loc="Authorization",
        )
    principal = await store.verify(credentials.credentials)
    if principal is None:
        raise Unauthorized(
            "the bearer token is not valid (unknown or revoked)", loc="Authorization"
        )
    return principal


async def require_read(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal | None:
    return await _principal(request, credentials)


async def require_write(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal | None:
    principal = await _principal(request, credentials)
    if principal is not None and not principal.allows("write"):
        raise Forbidden(
            f"token {principal.name!r} has scope {principal.scope!r}; this request needs 'write'",
            loc="Authorization",
        )
    return principal
