"""Server commands: ``lrhub serve``, ``lrhub db``, ``lrhub tokens``.

They join the client's ``lrhub`` command through the ``lrhub.commands`` entry-point group
(see pyproject.toml); ``python -m lrhub_service.cli`` runs them on their own.
"""

from __future__ import annotations

import ipaddress
import secrets
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from lrhub_service.cli.serving import run_server
from lrhub_service.db.urls import DatabaseURLError
from lrhub_service.settings import Settings
from lrhub_service.usecases import schema, tokens

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
F = TypeVar("F", bound=Callable[..., Any])

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="sqlite:///path.db or postgresql://user@host/db ($LRHUB_DATABASE_URL)."),
]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _settings(**overrides: Any) -> Settings:
    """Settings from ``LRHUB_*``, with the flags that were given winning."""
    given = {key: value for key, value in overrides.items() if value not in (None, False)}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid configuration: {problems}", 2)


def _fail(message: str, code: int = 1) -> Any:
    print(f"lrhub: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _friendly(function: F) -> F:
    """Known failures (a bad URL, a bad value) become one line instead of a traceback."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (DatabaseURLError, ValueError) as exc:
            _fail(str(exc), 2)

    return wrapper  # type: ignore[return-value]


serve_app = typer.Typer(add_completion=False, rich_markup_mode=None)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True, rich_markup_mode=None)
tokens_app = typer.Typer(help="Manage bearer tokens.", no_args_is_help=True, rich_markup_mode=None)


@serve_app.command()
@_friendly
def serve(
    database_url: DatabaseUrl = None,
    host: Annotated[str | None, typer.Option(help="Default 127.0.0.1 ($LRHUB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Default 8000 ($LRHUB_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes ($LRHUB_WORKERS).")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug|info|warning|error.")] = None,
    insecure: Annotated[bool, typer.Option(help="Allow a public bind without tokens.")] = False,
) -> None:
    """Run the API server (SQLite databases are migrated first)."""

    settings = _settings(
        database_url=database_url, host=host, port=port, workers=workers,
        log_level=log_level, insecure=insecure,
    )  # fmt: skip
    code = run_server(settings, is_loopback(settings.host))
    if code:
        raise typer.Exit(code)


@db_app.command()
@_friendly
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Apply migrations up to a revision (default: head)."""

    url = _settings(database_url=database_url).database_url
    schema.upgrade(url, revision)
    _print_revision(url)


@db_app.command()
@_friendly
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "-1",
    database_url: DatabaseUrl = None,
) -> None:
    """Revert migrations down to a revision (default: one step)."""

    url = _settings(database_url=database_url).database_url
    schema.downgrade(url, revision)
    _print_revision(url)


@db_app.command()
@_friendly
def current(database_url: DatabaseUrl = None) -> None:
    """Print the database's revision and the head this server needs."""
    _print_revision(_settings(database_url=database_url).database_url)


def _print_revision(url: str) -> None:
    print(f"current: {schema.current_revision(url) or 'empty'} (head: {schema.head_revision()})")


def _token_database(database_url: str | None) -> str:
    """The database URL, migrated when it is the embedded SQLite (as ``serve`` does)."""
    settings = _settings(database_url=database_url)
    if not schema.prepare_for_serving(settings.database_url, settings.auto_migrate):
        _fail("the database is not migrated: run `lrhub db upgrade` first")
    return settings.database_url


@tokens_app.command()
@_friendly
def create(
    name: Annotated[str | None, typer.Argument(help="A name (default: scope-random).")] = None,
    scope: Annotated[str, typer.Option(help="read or write.")] = "write",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; its secret is printed once, only its hash is stored."""

    if scope not in ("read", "write"):
        _fail(f"--scope must be read or write, got {scope!r}", 2)
    url = _token_database(database_url)
    name = name or f"{scope}-{secrets.token_hex(3)}"
    print(tokens.create_token(url, name, scope))
    print(f"token {name!r} ({scope}) created; it is shown only once", file=sys.stderr)


@tokens_app.command("list")
@_friendly
def list_tokens(database_url: DatabaseUrl = None) -> None:
    """List tokens (names and scopes; never secrets)."""

    for item in tokens.list_tokens(_token_database(database_url)):
        state = "revoked" if item["revoked_at"] else "active"
        print(f"{item['name']:<24} {item['scope']:<6} {state:<8} created {item['created_at']}")


@tokens_app.command()
@_friendly
def revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a token by name."""

    if not tokens.revoke_token(_token_database(database_url), name):
        _fail(f"no active token named {name!r}")


serve_command = typer.main.get_command(serve_app)
db_command = typer.main.get_command(db_app)
tokens_command = typer.main.get_command(tokens_app)


def server_group() -> Any:
    """The server commands as one group (``python -m lrhub_service.cli``)."""
    group = typer.Typer(name="lrhub", help="lrhub server commands.", rich_markup_mode=None)
    group.add_typer(serve_app)
    group.add_typer(db_app, name="db")
    group.add_typer(tokens_app, name="tokens")
    return typer.main.get_command(group)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a server command; returns the exit status."""
    try:
        server_group().main(args=list(sys.argv[1:] if argv is None else argv), prog_name="lrhub")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


__all__ = ["db_command", "is_loopback", "main", "serve_command", "tokens_command"]
