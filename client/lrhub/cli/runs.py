"""``lrhub runs ...``: list, show, curve, revise, resume, restart, archive and delete runs."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from lrhub.cli.curves import Curve, format_curve, plot_curve
from lrhub.cli.options import (
    AsJson,
    PlotFile,
    RunRef,
    Token,
    Url,
    connect,
    find_run,
    load_spec,
    request_on_run,
)
from lrhub.cli.output import fail, print_json, print_table, reported

app = typer.Typer(help="Inspect and change runs on the server.", no_args_is_help=True)

LIST_COLUMNS = ("id", "name", "status", "revision", "progress", "horizon", "schedule", "updated")
CURVE_POINTS_MAX = 2_000


def _spec_name(spec: dict[str, Any]) -> str:
    name = str(spec.get("type", "?"))
    inner = spec.get("schedule")
    return f"{name}({_spec_name(inner)})" if isinstance(inner, dict) else name


@app.command("list")
def list_runs(
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many runs.")] = 50,
    archived: Annotated[bool, typer.Option("--archived", help="Only archived runs.")] = False,
    every: Annotated[bool, typer.Option("--all", help="Archived runs too.")] = False,
) -> None:
    """List runs, newest first (archived runs only with --archived or --all)."""
    which = "only" if archived else "include" if every else "exclude"
    connection, client = connect(url, token)
    with reported(connection.url), client:
        page = client.request("GET", "/v1/runs", params={"limit": limit, "archived": which})
    items = page["items"]
    if as_json:
        print_json(items)
        return
    rows = [
        [
            run["id"], run["name"], run["status"], run["revision"], run["progress"],
            run["horizon"], _spec_name(run["schedule"]), run["updated_at"][:19],
        ]
        for run in items
    ]  # fmt: skip
    print_table(f"runs on {connection.url}", LIST_COLUMNS, rows)


@app.command()
def show(run: RunRef, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """A run's state, schedule and latest events."""
    connection, client = connect(url, token)
    with reported(connection.url), client:
        info = find_run(client, run)
        events = client.request("GET", f"/v1/runs/{info['id']}/events", params={"limit": 20})
    if as_json:
        print_json({**info, "events": events["items"]})
        return
    fields = ["id", "name", "status", "revision", "progress", "horizon", "next_step"]
    fields += ["num_groups", "base_lrs", "clean_exit", "created_at", "updated_at"]
    print_table(f"run {info['name']}", ("field", "value"), [(f, info.get(f)) for f in fields])
    typer.echo("schedule: " + json.dumps(info["schedule"]))
    rows = [(e["id"], e["kind"], e["step"], json.dumps(e["data"])) for e in events["items"]]
    print_table("events", ("id", "kind", "step", "data"), rows)


@app.command()
def curve(
    run: RunRef,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
    start: Annotated[int, typer.Option(min=0, help="First step.")] = 0,
    end: Annotated[int | None, typer.Option(min=1, help="Last step (default: horizon).")] = None,
    points: Annotated[int, typer.Option(min=2, max=CURVE_POINTS_MAX, help="Samples.")] = 60,
    plot: PlotFile = None,
) -> None:
    """A run's values sampled over a range of steps (reads only: promises nothing)."""
    connection, client = connect(url, token)
    with reported(connection.url), client:
        info = find_run(client, run)
        last = end if end is not None else max(info["horizon"], start + points - 1, 1)
        if last <= start:
            fail(f"--end ({last}) must be after --start ({start})")
        count = min(points, last - start + 1)
        steps = sorted({start + round(i * (last - start) / (count - 1)) for i in range(count)})
        values = [
            client.request("GET", f"/v1/runs/{info['id']}/lr", params={"step": s}) for s in steps
        ]
    lrs = [[v["lrs"][g] for v in values] for g in range(len(values[0]["lrs"]))]
    moms = None
    if values[0].get("momentums"):
        moms = [[v["momentums"][g] for v in values] for g in range(len(values[0]["momentums"]))]
    if as_json:
        print_json({"steps": steps, "lrs": lrs, "momentums": moms})
        return
    shape = Curve(f"{info['name']} (revision {info['revision']})", steps, lrs, moms)
    typer.echo(format_curve(shape))
    if plot is not None:
        try:
            typer.echo(f"plot written to {plot_curve(shape, plot)}")
        except ValueError as error:
            fail(str(error))


@app.command()
def revise(
    run: RunRef,
    spec: Annotated[str, typer.Argument(help="The new schedule as JSON, or @file.json.")],
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
    from_step: Annotated[int | None, typer.Option(min=0, help="Default: next unpromised.")] = None,
    clock: Annotated[
        str, typer.Option(help="global: the spec sees global steps; restart: 0.")
    ] = "global",
    keep_continuity: Annotated[
        bool, typer.Option("--continue/--no-continue", help="Scale so there is no jump.")
    ] = True,
    expected_revision: Annotated[
        int | None, typer.Option(help="Refuse (412) unless the run is at this revision.")
    ] = None,
) -> None:
    """Replace the schedule from a step no worker has been handed yet."""
    body: dict[str, Any] = {"schedule": load_spec(spec), "continue": keep_continuity}
    body["clock"] = clock
    if from_step is not None:
        body["from_step"] = from_step
    if expected_revision is not None:
        body["expected_revision"] = expected_revision
    info, answer = request_on_run(run, url, token, "POST", "/revisions", json=body)
    if as_json:
        print_json(answer)
    else:
        typer.echo(
            f"run {info['name']}: revision {answer['revision']} takes effect at step "
            f"{answer['effective_step']}"
        )


@app.command()
def resume(
    run: RunRef,
    step: Annotated[int, typer.Argument(min=0, help="The step to continue from.")],
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Move a run back (or forward) to a checkpoint's step."""
    _, answer = request_on_run(run, url, token, "POST", "/resume", json={"step": step})
    if as_json:
        print_json(answer)
    else:
        typer.echo(f"run {answer['name']} resumes at step {answer['progress']}")


@app.command()
def restart(run: RunRef, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Start a run over at step 0 with its current schedule (old reports stay for audit)."""
    connection, client = connect(url, token)
    with reported(connection.url), client:
        info = find_run(client, run)
        revisions = client.request("GET", f"/v1/runs/{info['id']}/revisions")["items"]
        first = revisions[0]["schedule"] if revisions else info["schedule"]  # the name's spec
        body = {"name": info["name"], "schedule": first, "restart": True}
        if info.get("options"):
            body["options"] = info["options"]
        answer = client.request("POST", "/v1/runs", json=body)
    if as_json:
        print_json(answer)
    else:
        typer.echo(f"run {answer['name']} restarted at step {answer['progress']}")


@app.command()
def archive(run: RunRef, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Archive a run: hidden from `runs list`, read-only until unarchived."""
    _, answer = request_on_run(run, url, token, "POST", "/archive")
    if as_json:
        print_json(answer)
    else:
        typer.echo(f"run {answer['name']} archived (undo: lrhub runs unarchive {answer['name']})")


@app.command()
def unarchive(run: RunRef, url: Url = None, token: Token = None, as_json: AsJson = False) -> None:
    """Make an archived run listed and writable again."""
    _, answer = request_on_run(run, url, token, "POST", "/unarchive")
    if as_json:
        print_json(answer)
    else:
        typer.echo(f"run {answer['name']} unarchived (status {answer['status']})")


@app.command()
def delete(
    run: RunRef,
    url: Url = None,
    token: Token = None,
    as_json: AsJson = False,
    force: Annotated[
        bool, typer.Option("--force", help="Even while its workers were seen lately.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a run with its whole history (revisions, reports, events). Cannot be undone."""
    connection, client = connect(url, token)
    with reported(connection.url), client:
        info = find_run(client, run)
        if not yes:
            if not sys.stdin.isatty():
                fail("deleting needs confirmation: pass --yes (no terminal to ask on)")
            question = f"Delete run {info['name']} (id {info['id']}) and its whole history?"
            if not typer.confirm(question, default=False):
                fail("not deleted")
        params = {"force": "true"} if force else None
        answer = client.request("DELETE", f"/v1/runs/{info['id']}", params=params)
    if as_json:
        print_json(answer)
    else:
        removed = ", ".join(f"{count} {name}" for name, count in answer["removed"].items())
        typer.echo(f"run {answer['name']} deleted ({removed})")
