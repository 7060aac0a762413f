"""Idempotency-Key on writes: a retry gets the first answer; the clean-exit flag."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from typing import Any

import httpx
from api_support import COSINE, PLATEAU, assert_problem, make_run, unique


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def events(api: Any, rid: int, kind: str) -> list[dict[str, Any]]:
    items = api.get(f"/v1/runs/{rid}/events").json()["items"]
    return [e for e in items if e["kind"] == kind]


def test_a_retried_advance_returns_the_same_step(api: Any) -> None:
    rid = make_run(api)["id"]
    first_key = key()
    first = api.post(f"/v1/runs/{rid}/advance", json={"count": 1}, headers=first_key)
    again = api.post(f"/v1/runs/{rid}/advance", json={"count": 1}, headers=first_key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["step"] == 0
    assert again.headers["etag"] == '"1"'
    assert api.post(f"/v1/runs/{rid}/advance", json={"count": 1}, headers=key()).json()["step"] == 1
    block_key = key()
    block = api.post(f"/v1/runs/{rid}/advance", json={"count": 3}, headers=block_key).json()
    assert api.post(f"/v1/runs/{rid}/advance", json={"count": 3}, headers=block_key).json() == block
    assert block["start"] == 2 and block["count"] == 3
    bare = key()
    assert api.post(f"/v1/runs/{rid}/advance", headers=bare).json()["step"] == 5
    assert api.post(f"/v1/runs/{rid}/advance", headers=bare).json()["step"] == 5
    assert api.get(f"/v1/runs/{rid}").json()["next_step"] == 6


def test_a_retried_revision_answers_201_with_the_same_revision(api: Any) -> None:
    rid = make_run(api)["id"]
    headers = {**key(), "If-Match": '"1"'}
    body = {"schedule": {"type": "StepLR", "step_size": 5}, "from_step": 10}
    first = api.post(f"/v1/runs/{rid}/revisions", json=body, headers=headers)
    again = api.post(f"/v1/runs/{rid}/revisions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.json()["revision"] == 2
    assert len(api.get(f"/v1/runs/{rid}/revisions").json()["items"]) == 2
    stale = api.post(f"/v1/runs/{rid}/revisions", json=body, headers={**key(), "If-Match": '"1"'})
    assert_problem(stale, 412, "expected_revision")


def test_the_same_key_with_another_request_is_refused(api: Any) -> None:
    rid = make_run(api)["id"]
    headers = key()
    assert api.post(f"/v1/runs/{rid}/advance", json={"count": 1}, headers=headers).is_success
    other = api.post(f"/v1/runs/{rid}/advance", json={"count": 2}, headers=headers)
    body = assert_problem(other, 422, "Idempotency-Key")
    assert "different request" in body["detail"]
    revise = {"schedule": {"type": "StepLR", "step_size": 5}}
    revise_key = key()
    assert api.post(f"/v1/runs/{rid}/revisions", json=revise, headers=revise_key).is_success
    changed = {"schedule": {"type": "StepLR", "step_size": 6}}
    answer = api.post(f"/v1/runs/{rid}/revisions", json=changed, headers=revise_key)
    assert_problem(answer, 422, "Idempotency-Key")
    # the same body with keys in another order and other spacing is the same request
    reordered = api.post(
        f"/v1/runs/{rid}/revisions",
        content=b'{ "schedule": {"step_size": 5, "type": "StepLR"} }',
        headers={**revise_key, "Content-Type": "application/json"},
    )
    assert reordered.status_code == 201 and reordered.json()["revision"] == 2


def test_malformed_keys_name_the_header(api: Any) -> None:
    rid = make_run(api)["id"]
    for bad in ("", "x" * 201, "a b", "é"):
        answer = api.post(f"/v1/runs/{rid}/advance", headers={"Idempotency-Key": bad.encode()})
        assert_problem(answer, 422, "Idempotency-Key")
    assert api.get(f"/v1/runs/{rid}").json()["next_step"] == 0


def test_create_attach_report_resume_and_progress_replay(api: Any) -> None:
    name = unique("idem")
    headers = key()
    created = [
        api.post("/v1/runs", json={"name": name, "schedule": PLATEAU}, headers=headers)
        for _ in range(2)
    ]
    assert [c.status_code for c in created] == [201, 201]
    assert created[0].json() == created[1].json()
    rid = created[0].json()["id"]
    assert len(events(api, rid, "created")) == 1
    attach_key = key()
    attached = [
        api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}, headers=attach_key)
        for _ in range(2)
    ]
    assert attached[0].json() == attached[1].json() and attached[1].status_code == 200
    assert len(events(api, rid, "attached")) == 1
    report_key = key()
    reported = [
        api.post(
            f"/v1/runs/{rid}/reports",
            json={"step": 1, "metrics": {"loss": 1.0}},
            headers=report_key,
        )
        for _ in range(2)
    ]
    assert reported[0].json() == reported[1].json()
    api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 1})
    resume_key = key()
    resumed = [
        api.post(f"/v1/runs/{rid}/resume", json={"step": 1}, headers=resume_key) for _ in range(2)
    ]
    assert resumed[0].json() == resumed[1].json() and resumed[1].status_code == 200
    assert len(events(api, rid, "resumed")) == 1
    progress_key = key()
    assert api.post(f"/v1/runs/{rid}/progress", json={"step": 7}, headers=progress_key).json() == {
        "step": 7
    }
    api.post(f"/v1/runs/{rid}/resume", json={"step": 2}, headers=key())
    replay = api.post(f"/v1/runs/{rid}/progress", json={"step": 7}, headers=progress_key)
    assert replay.json() == {"step": 7}  # the first answer, not acted again
    assert api.get(f"/v1/runs/{rid}").json()["progress"] == 2


def test_clean_exit_tells_a_clean_stop_from_a_crash(api: Any) -> None:
    rid = make_run(api)["id"]
    assert api.get(f"/v1/runs/{rid}").json()["clean_exit"] is None
    api.post(f"/v1/runs/{rid}/progress", json={"step": 40})
    crashed = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}).json()
    assert crashed["clean_exit"] is False and crashed["run"]["clean_exit"] is False
    assert crashed["start_step"] == 40
    final = api.post(f"/v1/runs/{rid}/progress", json={"step": 55, "final": True})
    assert final.json() == {"step": 55}
    clean = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}).json()
    assert clean["clean_exit"] is True and clean["start_step"] == 55
    api.post(f"/v1/runs/{rid}/resume", json={"step": 50})
    assert api.get(f"/v1/runs/{rid}").json()["clean_exit"] is None
    assert_problem(
        api.post(f"/v1/runs/{rid}/progress", json={"step": 1, "final": "yes"}), 422, "final"
    )


def test_expired_keys_are_pruned(api_factory: Any) -> None:
    api = api_factory(idempotency_ttl_s=0)
    rid = make_run(api)["id"]
    headers = key()
    assert api.post(f"/v1/runs/{rid}/advance", headers=headers).json()["step"] == 0
    hub = api.app.state.hub
    pruned = api.portal.call(hub.pruner.prune)
    assert pruned >= 1
    assert api.post(f"/v1/runs/{rid}/advance", headers=headers).json()["step"] == 1


def test_concurrent_retries_take_one_step_each(live_server: Any, database_url: str) -> None:
    server = live_server(database_url)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        rid = client.post("/v1/runs", json={"name": unique("c"), "schedule": COSINE}).json()["id"]
        client.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]})
    keys = [uuid.uuid4().hex for _ in range(12)]

    def send(index: int) -> tuple[str, int]:
        chosen = keys[index % len(keys)]  # each key is sent three times, concurrently
        with httpx.Client(base_url=server.url, timeout=30) as client:
            answer = client.post(f"/v1/runs/{rid}/advance", headers={"Idempotency-Key": chosen})
            assert answer.status_code == 200, answer.text
            return chosen, int(answer.json()["step"])

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(send, range(36), timeout=120))
    by_key: dict[str, set[int]] = {}
    for chosen, step in results:
        by_key.setdefault(chosen, set()).add(step)
    assert all(len(steps) == 1 for steps in by_key.values()), by_key
    assert sorted(s for steps in by_key.values() for s in steps) == list(range(len(keys)))
    run = httpx.get(f"{server.url}/v1/runs/{rid}", timeout=10).json()
    assert run["next_step"] == len(keys)


def test_pruning_runs_in_the_background(api_factory: Any) -> None:
    api = api_factory(idempotency_ttl_s=0)
    rid = make_run(api)["id"]
    hub = api.app.state.hub
    hub.pruner.every_s = 0.0
    api.post(f"/v1/runs/{rid}/advance", headers=key())
    api.post(f"/v1/runs/{rid}/advance", headers=key())  # starts a prune of the earlier keys

    async def settle() -> int:
        task = hub.pruner._task
        assert task is not None
        return int(await asyncio.wait_for(asyncio.shield(task), 10))

    assert api.portal.call(settle) >= 1
