"""``lrhub preview SPEC``: a spec's curve before any run exists; nothing is stored.

With the server extra installed the spec is evaluated in this process (entry point
``lrhub.preview:local``, the server's own preview use case); otherwise, or with ``--url``,
the server evaluates it (``POST /v1/preview``).
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated, Any

import typer

from lrhub.cli.curves import Curve, format_curve, plot_curve
from lrhub.cli.options import AsJson, PlotFile, Token, Url, connect, load_spec
from lrhub.cli.output import fail, print_json, reported

LOCAL_GROUP = "lrhub.preview"


def _local_evaluator() -> Any | None:
    """The server's in-process preview, when the server extra is installed."""
    for point in entry_points(group=LOCAL_GROUP, name="local"):
        try:
            return point.load()
        except ImportError:
            return None
    return None


def preview(
    spec: Annotated[str, typer.Argument(help="The schedule as JSON, or @file.json.")],
    steps: Annotated[int, typer.Option(min=1, help="How many steps, from step 0.")],
    base_lrs: Annotated[
        str | None, typer.Option(help="Comma-separated base lrs, one per group.")
    ] = None,
    steps_per_epoch: Annotated[int | None, typer.Option(min=1)] = None,
    plot: PlotFile = None,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Print (and plot) a schedule's curve from step 0; nothing is stored."""
    body: dict[str, Any] = {"schedule": load_spec(spec), "steps": steps}
    if base_lrs:
        try:
            body["base_lrs"] = [float(v) for v in base_lrs.split(",")]
        except ValueError:
            fail(f"--base-lrs: expected numbers separated by commas, got {base_lrs!r}")
    if steps_per_epoch is not None:
        body["steps_per_epoch"] = steps_per_epoch
    evaluate = None if url else _local_evaluator()
    if evaluate is not None:
        try:
            answer = evaluate(body)
        except ValueError as error:
            fail(str(error))
    else:
        connection, client = connect(url, token)
        with reported(connection.url), client:
            answer = client.request("POST", "/v1/preview", json=body)
    if as_json:
        print_json(answer)
        return
    curve = Curve.from_window(
        answer.get("title", body["schedule"].get("type", "?")), answer, answer.get("notes", ())
    )
    typer.echo(format_curve(curve))
    if plot is not None:
        try:
            typer.echo(f"plot written to {plot_curve(curve, plot)}")
        except ValueError as error:
            fail(str(error))
