"""``/docs`` (Swagger UI) and ``/redoc``, served with no request leaving the server.

FastAPI's own pages load their scripts, styles, favicon and fonts from a CDN, so they are
blank on an offline cluster. The assets here come from the ``fastapi-offline`` package
(pinned in the server extra: it ships both Swagger UI and ReDoc, is maintained, and needs
only FastAPI) and are served under ``/docs-assets``; Swagger UI's online validator is off.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
router = APIRouter(include_in_schema=False)


def assets_folder() -> Path:
    """Where the installed ``fastapi-offline`` keeps Swagger UI's and ReDoc's files."""
    return Path(str(resources.files("fastapi_offline") / "static"))


def mount_assets(app: FastAPI) -> None:
    """Serve the documentation pages' assets from the server itself."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_folder()), name="docs-assets")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API documentation."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Reference API documentation."""
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
