"""``lrhub``: serve, migrate, inspect runs, manage tokens, preview a spec."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from lrhub_service.cli.lr_finder import register as register_lr_finder
from lrhub_service.cli.preview import render_preview
from lrhub_service.cli.runs import list_runs_text, show_run_json
from lrhub_service.engine import SpecError
from lrhub_service.observability import configure_logging
from lrhub_service.settings import Settings
from lrhub_service.usecases import schema, tokens

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def _settings(args: argparse.Namespace) -> Any:
    overrides = {
        key: value
        for key in ("database_url", "host", "port", "workers", "log_level", "insecure")
        if (value := getattr(args, key, None)) not in (None, False)
    }
    return Settings(**overrides)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API with uvicorn (uvloop + httptools); SQLite is migrated first."""
    import uvicorn

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_json)
    if not schema.prepare_for_serving(settings.database_url, settings.auto_migrate):
        print(
            "warning: the database schema is not at head; run `lrhub db upgrade` "
            "(/readyz answers 503 until then)",
            file=sys.stderr,
        )
    has_tokens = bool(settings.configured_tokens()) or tokens.stored_token_count(
        settings.database_url
    )
    if not is_loopback(settings.host) and not has_tokens and not settings.insecure:
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


def cmd_db(args: argparse.Namespace) -> int:
    url = _settings(args).database_url
    if args.action == "upgrade":
        schema.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        schema.downgrade(url, args.revision or "-1")
    current = schema.current_revision(url)
    head = schema.head_revision()
    print(f"current: {current or 'empty'} (head: {head})")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    settings = _settings(args).model_copy(update={"auto_migrate": False})
    if args.action == "list":
        print(asyncio.run(list_runs_text(settings, args.limit)))
        return 0
    shown = asyncio.run(show_run_json(settings, args.run))
    if shown is None:
        print(f"no run {args.run!r}", file=sys.stderr)
        return 1
    print(shown)
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    url = _settings(args).database_url
    if args.action == "create":
        name = args.name or f"{args.scope}-{secrets.token_hex(3)}"
        secret = tokens.create_token(url, name, args.scope)
        print(secret)
        print(f"token {name!r} ({args.scope}) created; it is shown only once", file=sys.stderr)
    elif args.action == "list":
        for item in tokens.list_tokens(url):
            state = "revoked" if item["revoked_at"] else "active"
            print(f"{item['name']:<24} {item['scope']:<6} {state:<8} created {item['created_at']}")
    elif not tokens.revoke_token(url, args.name):
        print(f"no active token named {args.name!r}", file=sys.stderr)
        return 1
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    base_lrs = [float(v) for v in args.base_lrs.split(",")] if args.base_lrs else None
    print(
        render_preview(
            args.spec,
            args.steps,
            groups=args.groups,
            base_lrs=base_lrs,
            plot=args.plot,
            steps_per_epoch=args.steps_per_epoch,
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lrhub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def database(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--database-url", help="default: $LRHUB_DATABASE_URL or sqlite:///./lrhub.db"
        )

    serve = commands.add_parser("serve", help="run the API server")
    database(serve)
    serve.add_argument("--host", help="default 127.0.0.1 ($LRHUB_HOST)")
    serve.add_argument("--port", type=int, help="default 8000 ($LRHUB_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes, default 1 ($LRHUB_WORKERS)")
    serve.add_argument("--log-level", help="debug|info|warning|error ($LRHUB_LOG_LEVEL)")
    serve.add_argument("--insecure", action="store_true", help="allow a public bind without tokens")
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target (upgrade: head, downgrade: -1)")
    database(db)
    db.set_defaults(func=cmd_db)

    runs = commands.add_parser("runs", help="inspect runs")
    runs.add_argument("action", choices=["list", "show"])
    runs.add_argument("run", nargs="?", default="", help="run id or name (show)")
    runs.add_argument("--limit", type=int, default=50)
    database(runs)
    runs.set_defaults(func=cmd_runs)

    tok = commands.add_parser("tokens", help="manage bearer tokens")
    tok.add_argument("action", choices=["create", "list", "revoke"])
    tok.add_argument("name", nargs="?", default="", help="token name (create: optional)")
    tok.add_argument("--scope", choices=["read", "write"], default="write")
    database(tok)
    tok.set_defaults(func=cmd_tokens)

    preview = commands.add_parser("preview", help="print (and plot) a spec's curve")
    preview.add_argument("spec", help="the spec as JSON")
    preview.add_argument("--steps", type=int, required=True)
    preview.add_argument("--groups", type=int, default=1)
    preview.add_argument("--base-lrs", help="comma-separated base lrs, one per group")
    preview.add_argument("--steps-per-epoch", type=int)
    preview.add_argument("--plot", help="write a .png or .svg")
    preview.set_defaults(func=cmd_preview)

    register_lr_finder(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lrhub`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "runs" and args.action == "show" and not args.run:
        parser.error("runs show needs a run id or name")
    if args.command == "tokens" and args.action == "revoke" and not args.name:
        parser.error("tokens revoke needs the token's name")
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"lrhub: invalid configuration: {exc}", file=sys.stderr)
    except (SpecError, ValueError) as exc:  # a bad database URL is a ValueError too
        print(f"lrhub: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
