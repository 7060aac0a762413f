"""``lrhub serve``'s work: migrate the embedded database, check the bind, run uvicorn."""

from __future__ import annotations

import errno
import os
import socket
import sys

from sqlalchemy.exc import SQLAlchemyError

from lrhub_service.settings import Settings
from lrhub_service.usecases.first_token import ensure_first_token, first_token_notice


def _port_taken(host: str, port: int) -> bool:
    """Whether another process already listens on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _warn_about_schema(database_url: str) -> None:
    """One line when the database is unreachable or not migrated; the server starts anyway."""
    from lrhub_service.db import migrate

    try:
        behind = migrate.current_revision(database_url) != migrate.head_revision()
    except SQLAlchemyError as error:
        reason = str(error.orig if hasattr(error, "orig") else error).strip().splitlines()[0]
        print(
            f"warning: the database is unreachable ({reason}); /readyz and /v1 answer 503 "
            "until it is back",
            file=sys.stderr,
        )
        return
    if behind:
        print(
            "warning: the database schema is not at head; run `lrhub db upgrade` "
            "(/readyz and /v1 answer 503 until then)",
            file=sys.stderr,
        )


def run_server(settings: Settings, loopback: bool) -> int:
    """Serve until stopped; returns an exit status.

    A public bind (not loopback) without ``LRHUB_TOKENS``, ``--insecure`` or a stored token
    gets one write token first, so a server reachable from the network is never open.
    """
    import uvicorn

    from lrhub_service.db import migrate
    from lrhub_service.db.urls import backend_name
    from lrhub_service.observability import configure_logging

    if settings.port and _port_taken(settings.host, settings.port):
        print(
            f"lrhub: port {settings.port} on {settings.host} is in use (another lrhub serve?): "
            "pass --port or set LRHUB_PORT",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, settings.log_json)
    if backend_name(settings.database_url) == "sqlite" and settings.auto_migrate:
        migrate.upgrade_locked(settings.database_url)
    else:
        _warn_about_schema(settings.database_url)
    if not loopback and not settings.insecure and not settings.configured_tokens():
        try:
            secret = ensure_first_token(settings.database_url)  # None: tokens exist already
        except SQLAlchemyError:
            print(
                f"lrhub: refusing to serve on {settings.host}: no LRHUB_TOKENS, and the database "
                "cannot be checked for tokens (unreachable, or not migrated: run `lrhub db "
                "upgrade`); set LRHUB_TOKENS, or pass --insecure to accept anyone",
                file=sys.stderr,
            )
            return 2
        if secret is not None:
            print(first_token_notice(secret), file=sys.stderr, flush=True)
    for key, value in settings.model_dump().items():  # workers re-read settings from env
        os.environ[f"LRHUB_{key.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    uvicorn.run(
        "lrhub_service.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0
