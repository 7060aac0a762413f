"""Options every client command takes: ``--url``, ``--token``, ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lrhub.cli.config import Connection, resolve
from lrhub.cli.output import fail, reported
from lrhub.client import Client

Url = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="LRHUB_URL", help="Server URL (else `lrhub login`'s, else localhost:8000)."
    ),
]
Token = Annotated[str | None, typer.Option("--token", envvar="LRHUB_TOKEN", help="Bearer token.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
RunRef = Annotated[str, typer.Argument(help="Run id or name.")]


def _plot_file(path: Path | None) -> Path | None:
    if path is not None and path.suffix.lower() not in (".png", ".svg"):
        raise typer.BadParameter(f"must end in .png or .svg, got {str(path)!r}")
    return path


PlotFile = Annotated[
    Path | None, typer.Option("--plot", help="Also write a .png or .svg.", callback=_plot_file)
]


def connect(url: str | None, token: str | None) -> tuple[Connection, Client]:
    """The resolved connection and a client that retries once (a CLI should answer fast)."""
    connection = resolve(url, token)
    return connection, Client(connection.url, connection.token, max_retries=1)


def find_run(client: Client, ref: str) -> dict:
    """A run's JSON by id (all digits) or name."""
    if ref.isdigit():
        return client.request("GET", f"/v1/runs/{int(ref)}")
    return client.request("GET", f"/v1/runs/by-name/{ref}")


def request_on_run(
    run: str, url: str | None, token: str | None, method: str, suffix: str, **kwargs: Any
) -> tuple[dict, Any]:
    """Find ``run`` (id or name), then send one request to ``/v1/runs/{id}{suffix}``: the
    run's JSON and the answer (client errors become one line on stderr, exit status 1)."""
    connection, client = connect(url, token)
    with reported(connection.url), client:
        info = find_run(client, run)
        return info, client.request(method, f"/v1/runs/{info['id']}{suffix}", **kwargs)


def load_spec(text: str) -> dict[str, Any]:
    """A spec from JSON text or ``@path``; a clear error names what is wrong."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as error:
            fail(f"cannot read the spec file: {error}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"the spec is not valid JSON: {error.msg} at column {error.colno}")
    if not isinstance(data, dict):
        fail('the spec must be a JSON object such as {"type": "StepLR", "step_size": 30}')
    return data
