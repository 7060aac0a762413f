"""How commands print: tables for people, JSON for scripts, one line for an error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from lrhub.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LrhubError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)


def print_json(data: Any) -> None:
    """Indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout (plain text when stdout is not a terminal)."""
    table = Table(title=title, show_edge=False, header_style="bold")
    console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``lrhub: message`` on stderr and exit."""
    sys.stderr.write(f"lrhub: {message}\n")
    raise typer.Exit(code)


CLI_HINTS: dict[type[APIStatusError], str] = {
    AuthenticationError: "pass --token, set LRHUB_TOKEN, or run `lrhub login URL --token TOKEN`",
    PermissionDeniedError: "this needs a token with the write scope (`lrhub tokens create`)",
    NotFoundError: "`lrhub runs list` shows the runs that exist",
    BadRequestError: "fix the named field and run the command again",
    ConflictError: "the run's stored state does not allow this; `lrhub runs show RUN` says why",
    PreconditionFailedError: "the run was revised meanwhile: check `lrhub runs show RUN`",
}


def hint_for(error: LrhubError, url: str) -> str:
    """One line a person can act on at a terminal (never Python API advice)."""
    if isinstance(error, APIConnectionError):
        return f"no lrhub server answers at {url}: start one with `lrhub serve`, or pass --url"
    if isinstance(error, APIStatusError):
        fields = "; ".join(f"{e.get('loc')}: {e.get('msg')}" for e in error.errors)
        what = fields or error.detail or f"HTTP {error.status_code}"
        advice = next((h for cls, h in CLI_HINTS.items() if isinstance(error, cls)), None)
        return f"{what} ({advice})" if advice else what
    return str(error)


@contextmanager
def reported(url: str) -> Iterator[None]:
    """Turn client errors into one line on stderr and exit status 1."""
    try:
        yield
    except LrhubError as error:
        fail(hint_for(error, url))
