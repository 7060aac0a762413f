"""``lrhub``: serve, migrate, inspect runs, manage tokens, preview a spec."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def _settings(args: argparse.Namespace) -> Any:
    from lrhub_service.settings import Settings

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


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API with uvicorn (uvloop + httptools); SQLite is migrated first."""
    import uvicorn

    from lrhub_service.db import migrate
    from lrhub_service.db.urls import backend_name
    from lrhub_service.observability import configure_logging

    settings = _settings(args)
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
    from lrhub_service.db import migrate

    url = _settings(args).database_url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(url, args.revision or "-1")
    current = migrate.current_revision(url)
    head = migrate.head_revision()
    print(f"current: {current or 'empty'} (head: {head})")
    return 0


def _sync_rows(database_url: str, query: Any) -> list[Any]:
    from sqlalchemy import create_engine, pool

    from lrhub_service.db.urls import sync_url

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query).all())
    finally:
        engine.dispose()


def cmd_runs(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from lrhub_service.db.models import Event, Run
    from lrhub_service.usecases.runs import RUN_COLUMNS, run_json

    url = _settings(args).database_url
    if args.action == "list":
        rows = _sync_rows(url, select(*RUN_COLUMNS).order_by(Run.id.desc()).limit(args.limit))
        print(f"{'id':>6}  {'name':<32} {'status':<9} {'rev':>4} {'progress':>10}  schedule")
        for row in rows:
            print(
                f"{row.id:>6}  {row.name[:32]:<32} {row.status:<9} {row.revision:>4} "
                f"{row.progress:>10}  {row.schedule.get('type')}"
            )
        return 0
    query = select(*RUN_COLUMNS)
    query = (
        query.where(Run.id == int(args.run))
        if args.run.isdigit()
        else query.where(Run.name == args.run)
    )
    rows = _sync_rows(url, query)
    if not rows:
        print(f"no run {args.run!r}", file=sys.stderr)
        return 1
    run = run_json(rows[0])
    events = _sync_rows(
        url,
        select(Event.id, Event.kind, Event.step, Event.data)
        .where(Event.run_id == run["id"])
        .order_by(Event.id.desc())
        .limit(20),
    )
    run["recent_events"] = [
        {"id": e.id, "kind": e.kind, "step": e.step, "data": e.data} for e in reversed(events)
    ]
    print(json.dumps(run, indent=2, default=str))
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    from lrhub_service.usecases import tokens

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
    from lrhub_service.usecases.preview import render_preview

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

    from lrhub_service.cli.lr_finder import register as register_lr_finder

    register_lr_finder(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lrhub`` command."""
    from lrhub_service.db.urls import DatabaseURLError
    from lrhub_service.engine import SpecError

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
    except (DatabaseURLError, SpecError, ValueError) as exc:
        print(f"lrhub: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
