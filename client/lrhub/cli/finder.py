"""``lrhub lr-finder show RUN``: a range test's suggestions and curve, read from the server."""

from __future__ import annotations

from typing import Annotated

import typer

from lrhub.cli.options import AsJson, PlotFile, RunRef, Token, Url, request_on_run
from lrhub.cli.output import fail, print_json
from lrhub.lr_finder import LRFinderResult

app = typer.Typer(help="Inspect LR range tests.", no_args_is_help=True)


@app.command()
def show(
    run: RunRef,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
    plot: PlotFile = None,
    width: Annotated[int, typer.Option(min=10, max=400, help="Sparkline width.")] = 60,
) -> None:
    """Print a range test's suggestions and a sparkline (works while the test still runs)."""
    _, body = request_on_run(run, url, token, "GET", "/lr-finder")
    if as_json:
        print_json(body)
    else:
        typer.echo(LRFinderResult.from_json(body).summary(width))
    if plot is not None:
        try:
            path = LRFinderResult.from_json(body).plot(plot)
        except (ImportError, ValueError) as error:
            fail(str(error))
        typer.echo(f"wrote {path}", err=True)
