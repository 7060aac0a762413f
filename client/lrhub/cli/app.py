"""The ``lrhub`` command tree: client commands here, server commands from entry points."""

from __future__ import annotations

from importlib.metadata import entry_points, version
from typing import Annotated, Any

import typer

from lrhub.cli import finder, preview, runs
from lrhub.cli.config import DEFAULT_URL, resolve, save_login
from lrhub.cli.output import fail, reported
from lrhub.client import Client

COMMAND_GROUP = "lrhub.commands"
SERVER_COMMANDS = ("serve", "db", "tokens")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lrhub {version('lrhub')}")
        raise typer.Exit()


app = typer.Typer(
    name="lrhub",
    help="lrhub: one resumable learning-rate schedule for every worker of a training job.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(runs.app, name="runs")
app.add_typer(finder.app, name="lr-finder")
app.command("preview")(preview.preview)


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version),
    ] = False,
) -> None:
    """lrhub: one resumable learning-rate schedule for every worker of a training job."""


@app.command()
def login(
    url: Annotated[str, typer.Argument(help=f"The server, e.g. {DEFAULT_URL}.")],
    token: Annotated[
        str | None, typer.Option("--token", envvar="LRHUB_TOKEN", help="A bearer token.")
    ] = None,
) -> None:
    """Check a server (and token) and remember them for later commands."""
    connection = resolve(url, token)
    with reported(connection.url), Client(connection.url, connection.token, max_retries=0) as c:
        c.request("GET", "/v1/runs", params={"limit": 1})
    path = save_login(connection.url, connection.token)
    typer.echo(f"logged in to {connection.url}; saved in {path}")


def _missing_server(name: str) -> Any:
    """A stand-in that says how to get the server commands."""
    stand_in = typer.Typer(add_completion=False, rich_markup_mode=None)

    @stand_in.command(
        name=name,
        help="Server command: needs the server extra (pip install 'lrhub[server]').",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def command() -> None:
        fail(f"`lrhub {name}` needs the server: pip install 'lrhub[server]'")

    return typer.main.get_command(stand_in)


def build_command() -> Any:
    """The command group ``lrhub`` runs: client commands plus the installed server commands."""
    group: Any = typer.main.get_command(app)
    found = {point.name: point for point in entry_points(group=COMMAND_GROUP)}
    for name in sorted(set(SERVER_COMMANDS) | set(found)):
        try:
            command = found[name].load()
        except (KeyError, ImportError):
            command = _missing_server(name)
        group.add_command(command, name)
    return group
