"""The dashboard: ``/`` and its assets under ``/ui``, served by the API process itself.

The page and its assets load without a token (they hold no data and no secret); the data
comes from ``/v1`` with the token the page asks for. Plain JS modules, no build step. The
chart library is Plotly's JS as shipped inside the ``plotly`` wheel (a server dependency),
served from the installed package under a versioned, immutable URL: nothing comes from a
CDN. Every dashboard response carries a strict Content-Security-Policy: scripts only from
this origin (no inline script, no eval), data only from this origin.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from starlette.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrhub_service.usecases.status import STATUSES

UI_PATH = "/ui"
STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # Plotly adds its own style rules at run time (a strict style-src blocks them and logs
    # errors; the plotly wheel ships no separate CSS): styles only, scripts stay strict
    "style-src 'self' 'unsafe-inline'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
IMMUTABLE = "public, max-age=31536000, immutable"
router = APIRouter(include_in_schema=False)


@cache
def plotly_version() -> str:
    return metadata.version("plotly")


def plotly_file() -> Path:
    """Plotly's minified JS inside the installed ``plotly`` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@cache
def index_html() -> str:
    """The page, with the chart library's versioned URL and the status rule's statuses
    filled in (no data, no secret)."""
    text = (STATIC / "index.html").read_text(encoding="utf-8")
    text = text.replace("{{statuses}}", ",".join(STATUSES))
    # relative URLs (here and in the modules): the page works under a proxy's path prefix
    return text.replace("{{plotly}}", f"{UI_PATH[1:]}/vendor/plotly-{plotly_version()}.min.js")


@router.get("/")
async def index() -> HTMLResponse:
    """The dashboard (a single page; the URL's fragment says which view)."""
    return HTMLResponse(index_html(), headers={"Cache-Control": "no-cache"})


@router.get(UI_PATH + "/vendor/plotly-{version}.min.js")
async def plotly_js(version: str) -> FileResponse:
    """The chart library, cached for a year (its URL changes with its version)."""
    if version != plotly_version():
        raise HTTPException(404, "no such plotly version")
    return FileResponse(
        plotly_file(), media_type="text/javascript", headers={"Cache-Control": IMMUTABLE}
    )


def mount(app: FastAPI) -> None:
    """Serve the dashboard's own modules and styles under ``/ui``."""
    app.mount(UI_PATH, StaticFiles(directory=STATIC), name="ui")


class SecurityHeadersMiddleware:
    """Adds the Content-Security-Policy and friends to the dashboard's responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path.startswith(UI_PATH + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
