"""Use-cases for runs: get-or-create, restart, read, list, attach."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.listener import announce
from lrhub_service.db.models import Report, Revision, Run, utcnow
from lrhub_service.engine import Schedule, SpecError, canonical_json, parse_spec
from lrhub_service.usecases import events
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.compute import spec_weight
from lrhub_service.usecases.errors import Conflict, Invalid, NotFound, run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import IdemKey, lookup, once, remember
from lrhub_service.usecases.timefmt import iso

RUN_COLUMNS = tuple(Run.__table__.columns)


def run_json(row: Any) -> dict[str, Any]:
    """The public ``Run`` shape of a runs row."""
    return {
        "id": row.id,
        "name": row.name,
        "schedule": row.schedule,
        "revision": row.revision,
        "options": row.options,
        "base_lrs": row.base_lrs,
        "base_momentums": row.base_momentums,
        "num_groups": row.num_groups,
        "has_momentum": row.has_momentum,
        "metric_driven": row.metric_driven,
        "progress": row.progress,
        "horizon": row.horizon,
        "next_step": row.next_step,
        "status": row.status,
        "clean_exit": row.clean_exit,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def parse_schedule(data: Any, loc: str = "schedule") -> dict[str, Any]:
    """Validate a spec and return its canonical JSON (422 naming the field otherwise)."""
    try:
        return canonical_json(parse_spec(data))
    except SpecError as exc:
        errors = [{"loc": _join(loc, e["loc"]), "msg": e["msg"]} for e in exc.errors]
        raise Invalid("; ".join(f"{e['loc']}: {e['msg']}" for e in errors), errors=errors) from exc


def _join(prefix: str, loc: str) -> str:
    if not loc:
        return prefix
    return f"{prefix}{loc}" if loc.startswith("[") else f"{prefix}.{loc}"


def describe(
    schedule: Mapping[str, Any],
    base_lrs: Sequence[float] | None,
    base_momentums: Sequence[float] | None,
    steps_per_epoch: int | None,
    loc: str = "schedule",
) -> Schedule | None:
    """Compile a lone spec to learn its shape; None when it needs the optimizer's bases."""
    segment = SegmentRecord(revision=1, start=0, schedule=schedule, clock_offset=0, scale=None)
    try:
        return build([segment], base_lrs, base_momentums, steps_per_epoch)
    except SpecError as exc:
        if base_lrs is None and any(e["loc"].endswith("base_lr") for e in exc.errors):
            try:
                build([segment], [1.0], None, steps_per_epoch)
            except SpecError:
                return None
            return None
        errors = [{"loc": _join(loc, e["loc"]), "msg": e["msg"]} for e in exc.errors]
        raise Invalid(exc.detail, errors=errors) from exc


def _validate(schedule: Any, options: dict[str, Any]) -> tuple[dict[str, Any], Schedule | None]:
    """The canonical spec and its shape (parsed and compiled on the evaluation worker)."""
    canonical = parse_schedule(schedule)
    return canonical, describe(canonical, None, None, options.get("steps_per_epoch"))


async def ensure_exists(conn: AsyncConnection, run_id: int) -> None:
    """404 unless the run exists."""
    if (await conn.execute(select(Run.id).where(Run.id == run_id))).first() is None:
        raise run_not_found(run_id)


async def create_run(
    hub: Hub,
    name: str,
    schedule: Any,
    options: dict[str, Any],
    restart: bool,
    idem: IdemKey | None = None,
) -> tuple[dict[str, Any], bool]:
    """Get-or-create by name; returns (run, created). 409 when the stored spec differs."""
    canonical, shape = await hub.evaluator.run(
        spec_weight([schedule]).nodes, "schedule", _validate, schedule, options
    )

    async def act() -> tuple[int, dict[str, Any]]:
        for _attempt in range(3):
            try:
                async with hub.db.transaction() as conn:
                    await lookup(conn, idem)
                    run, created = await _get_or_create(
                        hub, conn, name, canonical, options, restart, shape
                    )
                    status = 201 if created else 200
                    await remember(conn, idem, status, run)
                hub.fast.forget(run["id"])
                return status, run
            except IntegrityError:
                continue  # another worker created it first: read theirs (or its key's answer)
        raise Conflict(f"run {name!r} is being created concurrently; retry", loc="name")

    status, run = await once(hub.db, idem, act)
    return run, status == 201


async def _get_or_create(
    hub: Hub,
    conn: AsyncConnection,
    name: str,
    canonical: dict[str, Any],
    options: dict[str, Any],
    restart: bool,
    shape: Schedule | None,
) -> tuple[dict[str, Any], bool]:
    existing = await _by_name(conn, name, lock=True, hub=hub)
    if existing is not None:
        _check_same(existing, canonical, options)
        if restart:
            existing = await _restart(hub, conn, existing.id)
        return run_json(existing), False
    now = utcnow()
    run_id = (
        await conn.execute(
            insert(Run)
            .values(
                name=name,
                schedule=canonical,
                options=options,
                revision=1,
                num_groups=shape.num_groups if shape else None,
                base_lrs=None,
                has_momentum=bool(shape and shape.has_momentum),
                metric_driven=bool(shape and shape.metric_driven),
                progress=0,
                horizon=-1,
                next_step=0,
                state_version=0,
                status="created",
                created_at=now,
                updated_at=now,
            )
            .returning(Run.id)
        )
    ).scalar_one()
    await conn.execute(
        insert(Revision).values(
            run_id=run_id,
            revision=1,
            effective_step=0,
            schedule=canonical,
            clock="global",
            continue_value=False,
            clock_offset=0,
            scale=None,
            created_at=now,
        )
    )
    await events.record(conn, run_id, "created", 0, {"schedule": canonical})
    row = await fetch_run(conn, run_id)
    return run_json(row), True


def _check_same(row: Any, canonical: dict[str, Any], options: dict[str, Any]) -> None:
    first = row.first_schedule if hasattr(row, "first_schedule") else None
    stored = first if first is not None else row.schedule
    if stored != canonical:
        raise Conflict(
            f"run {row.name!r} already exists with a different schedule; use another name, "
            "or revise the run with POST /v1/runs/{id}/revisions",
            loc="schedule",
        )
    if (row.options or {}) != options:
        raise Conflict(
            f"run {row.name!r} already exists with different options "
            f"{row.options!r}; use another name",
            loc="options",
        )


async def _restart(hub: Hub, conn: AsyncConnection, run_id: int) -> Any:
    """Reset a run to step 0: progress, horizon, counter and metric state."""
    await conn.execute(
        update(Report)
        .where(Report.run_id == run_id, Report.counted.is_(True))
        .values(counted=False)
    )
    await conn.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            progress=0,
            horizon=-1,
            next_step=0,
            state_version=Run.state_version + 1,
            status="running",
            clean_exit=None,
            updated_at=utcnow(),
        )
    )
    await events.record(conn, run_id, "restarted", 0, {})
    await announce(conn, run_id, is_sqlite=hub.db.is_sqlite)
    hub.cache.drop(run_id)
    return await fetch_run(conn, run_id)


async def fetch_run(conn: AsyncConnection, run_id: int) -> Any:
    row = (await conn.execute(select(*RUN_COLUMNS).where(Run.id == run_id))).first()
    if row is None:
        raise run_not_found(run_id)
    return row


async def _by_name(conn: AsyncConnection, name: str, *, lock: bool, hub: Hub) -> Any:
    query = select(*RUN_COLUMNS).where(Run.name == name)
    if lock and not hub.db.is_sqlite:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    first = (
        await conn.execute(
            select(Revision.schedule).where(Revision.run_id == row.id, Revision.revision == 1)
        )
    ).scalar_one_or_none()
    return _WithFirst(row, first)


class _WithFirst:
    """A run row plus the schedule it was created with (get-or-create compares that one)."""

    def __init__(self, row: Any, first_schedule: Any) -> None:
        self._row = row
        self.first_schedule = first_schedule

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


async def get_run(hub: Hub, run_id: int) -> dict[str, Any]:
    async with hub.db.autocommit() as conn:
        return run_json(await fetch_run(conn, run_id))


async def get_run_by_name(hub: Hub, name: str) -> dict[str, Any]:
    async with hub.db.autocommit() as conn:
        row = (await conn.execute(select(*RUN_COLUMNS).where(Run.name == name))).first()
    if row is None:
        raise NotFound(f"no run named {name!r}", loc="name")
    return run_json(row)


def encode_cursor(run_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{run_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("r"):
            raise ValueError(cursor)
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("cursor is not one this server handed out", loc="cursor") from exc


async def list_runs(hub: Hub, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """Runs newest first, ``limit`` at a time; ``next_cursor`` pages on."""
    query = select(*RUN_COLUMNS).order_by(Run.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Run.id < decode_cursor(cursor))
    async with hub.db.autocommit() as conn:
        rows = (await conn.execute(query)).all()
    items = [run_json(r) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
