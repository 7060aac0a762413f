"""Reads never write, against a real ``lrhub serve``: windows promise only for a writer,
only contiguously, and say through which step; a read never pins stale values."""

from __future__ import annotations

from typing import Any

import httpx
from api_support import COSINE, unique

READER = "reader-secret-0123456789"
WRITER = "writer-secret-0123456789"
TOKENS = {"LRHUB_TOKENS": f"reader:read:{READER},writer:write:{WRITER}"}
FAR = 2**62 - 10


def client(server: Any, secret: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def attached_run(api: httpx.Client, schedule: dict[str, Any] = COSINE) -> int:
    created = api.post("/v1/runs", json={"name": unique("rw"), "schedule": schedule})
    assert created.status_code == 201, created.text
    rid = int(created.json()["id"])
    assert api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}).status_code == 200
    return rid


def horizon(api: httpx.Client, rid: int) -> int:
    return int(api.get(f"/v1/runs/{rid}").json()["horizon"])


def window(api: httpx.Client, rid: int, start: int, count: int) -> dict[str, Any]:
    answer = api.get(f"/v1/runs/{rid}/window", params={"start": start, "count": count})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_read_scope_window_promises_nothing(live_server: Any, database_url: str) -> None:
    server = live_server(database_url, env=TOKENS)
    with client(server, WRITER) as writer, client(server, READER) as reader:
        rid = attached_run(writer)
        assert horizon(writer, rid) == 0  # the attach handed out step 0
        inside = window(reader, rid, 0, 100)
        assert inside["count"] == 100 and inside["promised_through"] == 0
        far = window(reader, rid, FAR, 4096)
        assert far["start"] == FAR and far["promised_through"] is None
        contiguous = window(reader, rid, 1, 50)
        assert contiguous["promised_through"] is None
        assert horizon(writer, rid) == 0
        revised = writer.post(
            f"/v1/runs/{rid}/revisions", json={"schedule": {"type": "StepLR", "step_size": 5}}
        )
        assert revised.status_code == 201 and revised.json()["effective_step"] == 1


def test_a_writer_promises_only_contiguously(live_server: Any, database_url: str) -> None:
    server = live_server(database_url, env=TOKENS)
    with client(server, WRITER) as writer:
        rid = attached_run(writer)
        far = window(writer, rid, FAR, 4096)
        assert far["promised_through"] is None and horizon(writer, rid) == 0
        gap = window(writer, rid, 5, 10)
        assert gap["promised_through"] is None and horizon(writer, rid) == 0
        extended = window(writer, rid, 1, 10)
        assert extended["promised_through"] == 10 and horizon(writer, rid) == 10
        inside = window(writer, rid, 0, 5)
        assert inside["promised_through"] == 4 and horizon(writer, rid) == 10
        overlapping = window(writer, rid, 8, 10)
        assert overlapping["promised_through"] == 17 and horizon(writer, rid) == 17
        revised = writer.post(f"/v1/runs/{rid}/revisions", json={"schedule": COSINE})
        assert revised.json()["effective_step"] == 18


def test_without_tokens_every_caller_may_promise(live_server: Any, database_url: str) -> None:
    server = live_server(database_url)
    with client(server) as anyone:
        rid = attached_run(anyone)
        assert window(anyone, rid, 1, 20)["promised_through"] == 20
        assert horizon(anyone, rid) == 20
        assert window(anyone, rid, 100, 20)["promised_through"] is None
        assert horizon(anyone, rid) == 20


def test_gets_change_nothing(live_server: Any, database_url: str) -> None:
    server = live_server(database_url, env=TOKENS)
    with client(server, WRITER) as writer, client(server, READER) as reader:
        rid = attached_run(writer)
        before = writer.get(f"/v1/runs/{rid}").json()
        for path, params in (
            (f"/v1/runs/{rid}/lr", {"step": 10**9}),
            (f"/v1/runs/{rid}/window", {"start": 0, "count": 4096}),
            (f"/v1/runs/{rid}/window", {"start": FAR, "count": 4096}),
            (f"/v1/runs/{rid}/events", {}),
            (f"/v1/runs/{rid}/reports", {}),
            (f"/v1/runs/{rid}/revisions", {}),
        ):
            assert reader.get(path, params=params).status_code == 200, path
        assert writer.get(f"/v1/runs/{rid}").json() == before


def test_a_read_before_the_first_attach_does_not_pin_the_group_count(
    live_server: Any, database_url: str
) -> None:
    server = live_server(database_url)
    spec = {"type": "CosineAnnealingLR", "T_max": 100, "base_lr": 0.1}
    with client(server) as api:
        rid = api.post("/v1/runs", json={"name": unique("pin"), "schedule": spec}).json()["id"]
        early = api.get(f"/v1/runs/{rid}/lr", params={"step": 1}).json()
        assert len(early["lrs"]) == 1  # evaluable from the spec's own base_lr
        attached = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1, 0.2]})
        assert attached.status_code == 200, attached.text
        assert len(attached.json()["values"]["lrs"]) == 2
        later = api.get(f"/v1/runs/{rid}/lr", params={"step": 1}).json()
        assert len(later["lrs"]) == 2
        assert len(window(api, rid, 0, 4)["lrs"]) == 2
        again = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1, 0.2]})
        assert again.status_code == 200, again.text
