"""``lrhub serve``'s work: prepare the database, secure a public bind, run uvicorn."""

from __future__ import annotations

import errno
import os
import socket
import sys

import uvicorn

from lrhub_service.observability import configure_logging, logging_config
from lrhub_service.settings import Settings
from lrhub_service.usecases.errors import DatabaseUnavailable
from lrhub_service.usecases.first_token import ensure_first_token, first_token_notice
from lrhub_service.usecases.readiness import startup_problem


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


def _refuse_open_bind(host: str, why: str) -> int:
    print(
        f"lrhub: refusing to serve on {host}: no LRHUB_TOKENS, and {why}; set LRHUB_TOKENS, "
        "or pass --insecure to accept anyone",
        file=sys.stderr,
    )
    return 2


def _secure_public_bind(settings: Settings, problem: str | None) -> int:
    """Make sure a public bind has a token (creating the first one); non-zero to refuse."""
    if problem is not None:
        return _refuse_open_bind(
            settings.host, f"the database cannot be checked for tokens: {problem}"
        )
    try:
        secret = ensure_first_token(settings.database_url)  # None: tokens exist already
    except DatabaseUnavailable:
        return _refuse_open_bind(settings.host, "the database cannot be checked for tokens")
    if secret is not None:
        print(first_token_notice(secret), file=sys.stderr, flush=True)
    return 0


def run_server(settings: Settings, loopback: bool) -> int:
    """Serve until stopped; returns an exit status.

    A public bind (not loopback) without ``LRHUB_TOKENS``, ``--insecure`` or a stored token
    gets one write token first, so a server reachable from the network is never open.
    """
    if settings.port and _port_taken(settings.host, settings.port):
        print(
            f"lrhub: port {settings.port} on {settings.host} is in use (another lrhub serve?): "
            "pass --port or set LRHUB_PORT",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, settings.log_json)
    # a problem is logged once by the server itself, which answers 503 until it is solved
    problem = startup_problem(settings.database_url, settings.auto_migrate)
    if not loopback and not settings.insecure and not settings.configured_tokens():
        refused = _secure_public_bind(settings, problem)
        if refused:
            return refused
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
        log_config=logging_config(settings.log_level, settings.log_json),
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0
