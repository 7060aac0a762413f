"""Bearer-token checks as pure ASGI middleware: ``read`` for reads, ``write`` for changes.

Every ``/v1`` route needs a token once any token exists; ``/healthz``, ``/readyz``,
``/metrics`` and the OpenAPI documents stay open. Reads are GET/HEAD and ``POST
/v1/preview`` and ``/v1/preview/curve`` (they store nothing); every other method needs the
``write`` scope. The dashboard's page and assets (``/``, ``/ui``) need no token.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from lrhub_service.api.problems import problem, unavailable
from lrhub_service.usecases.errors import DatabaseUnavailable
from lrhub_service.usecases.tokens import Principal, TokenStore

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
READ_POSTS = {"/v1/preview", "/v1/preview/curve"}
CHALLENGE = {"WWW-Authenticate": "Bearer"}
SECURITY_SCHEME = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from LRHUB_TOKENS or `lrhub tokens create`",
    }
}


def needed_scope(method: str, path: str) -> str:
    return "read" if method in READ_METHODS or path in READ_POSTS else "write"


def _bearer(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            text = value.decode("latin-1")
            kind, _, secret = text.partition(" ")
            return secret.strip() if kind.lower() == "bearer" and secret.strip() else ""
    return None


class AuthMiddleware:
    """401 without a valid token, 403 when its scope is too small."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        store: TokenStore = scope["app"].state.tokens
        try:
            enabled = await store.enabled()
        except DatabaseUnavailable:  # the stored tokens cannot be read: nobody can be checked
            await unavailable()(scope, receive, send)
            return
        if not enabled:
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        if not secret:
            await problem(
                401,
                "this server requires a bearer token: send 'Authorization: Bearer <token>'",
                [{"loc": "Authorization", "msg": "missing bearer token"}],
                headers=CHALLENGE,
            )(scope, receive, send)
            return
        try:
            principal: Principal | None = await store.verify(secret)
        except DatabaseUnavailable:
            await unavailable()(scope, receive, send)
            return
        if principal is None:
            await problem(
                401,
                "the bearer token is not valid (unknown or revoked)",
                [{"loc": "Authorization", "msg": "unknown or revoked token"}],
                headers=CHALLENGE,
            )(scope, receive, send)
            return
        needed = needed_scope(scope["method"], scope["path"])
        if not principal.allows(needed):
            detail = (
                f"token {principal.name!r} has scope {principal.scope!r}; "
                f"this request needs {needed!r}"
            )
            await problem(403, detail, [{"loc": "Authorization", "msg": detail}])(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def document_security(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare the bearer scheme on every /v1 operation of the OpenAPI document."""
    openapi.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEME)
    for path, operations in openapi.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
    return openapi
