"""``lrhub serve``'s work: migrate the embedded database, check the bind, run uvicorn."""

from __future__ import annotations

import os
import sys

from lrhub_service.settings import Settings


def _stored_token_count(database_url: str) -> int:
    from sqlalchemy import create_engine, func, inspect, pool, select

    from lrhub_service.db.models import ApiToken
    from lrhub_service.db.urls import sync_url

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("api_tokens"):
                return 0
            return int(conn.execute(select(func.count(ApiToken.id))).scalar_one())
    finally:
        engine.dispose()


def run_server(settings: Settings, loopback: bool) -> int:
    """Serve until stopped; returns an exit status (2 when the bind is refused)."""
    import uvicorn

    from lrhub_service.db import migrate
    from lrhub_service.db.urls import backend_name
    from lrhub_service.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    if backend_name(settings.database_url) == "sqlite" and settings.auto_migrate:
        migrate.upgrade_locked(settings.database_url)
    elif migrate.current_revision(settings.database_url) != migrate.head_revision():
        print(
            "warning: the database schema is not at head; run `lrhub db upgrade` "
            "(/readyz answers 503 until then)",
            file=sys.stderr,
        )
    has_tokens = bool(settings.configured_tokens()) or _stored_token_count(settings.database_url)
    if not loopback and not has_tokens and not settings.insecure:
        print(
            f"refusing to serve on {settings.host} without tokens: set LRHUB_TOKENS or run "
            "`lrhub tokens create`, or pass --insecure to accept anyone on the network",
            file=sys.stderr,
        )
        return 2
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
