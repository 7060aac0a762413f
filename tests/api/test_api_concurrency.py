"""The shared counter under real concurrency: a live server, many threads, both databases."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import httpx
from api_support import unique

THREADS = 16
ADVANCES = 50


def _create(url: str, schedule: dict[str, Any]) -> int:
    with httpx.Client(base_url=url, timeout=30) as client:
        run = client.post("/v1/runs", json={"name": unique("conc"), "schedule": schedule}).json()
        client.post(f"/v1/runs/{run['id']}/attach", json={"base_lrs": [0.1]})
        return int(run["id"])


def _advance_many(url: str, rid: int, count: int, block: int) -> list[int]:
    steps: list[int] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(count):
            response = client.post(f"/v1/runs/{rid}/advance", json={"count": block})
            assert response.status_code == 200, response.text
            body = response.json()
            steps.extend(
                [body["step"]] if block == 1 else range(body["start"], body["start"] + block)
            )
    return steps


def test_every_step_is_handed_out_exactly_once(live_server: Any, database_url: str) -> None:
    server = live_server(database_url)
    rid = _create(server.url, {"type": "StepLR", "step_size": 10})
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(_advance_many, server.url, rid, ADVANCES, 1 if i % 2 else 3)
            for i in range(THREADS)
        ]
        steps = [s for f in futures for s in f.result(timeout=120)]
    total = (THREADS // 2) * ADVANCES * (1 + 3)
    assert sorted(steps) == list(range(total))
    run = httpx.get(f"{server.url}/v1/runs/{rid}", timeout=10).json()
    assert run["next_step"] == total and run["horizon"] == total - 1


def test_concurrent_reports_from_every_rank_make_one_decision(
    live_server: Any, database_url: str
) -> None:
    server = live_server(database_url)
    rid = _create(server.url, {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5})

    def rank(_index: int) -> list[Any]:
        answers = []
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for step, loss in ((1, 1.0), (2, 2.0), (3, 3.0)):
                response = client.post(
                    f"/v1/runs/{rid}/reports", json={"step": step, "metrics": {"loss": loss}}
                )
                assert response.status_code == 200, response.text
                answers.append(response.json()["values"]["lr"])
        return answers

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(rank, range(8)))
    assert all(r == [0.1, 0.05, 0.025] for r in results)
    items = httpx.get(f"{server.url}/v1/runs/{rid}/reports", timeout=10).json()["items"]
    assert [i["step"] for i in items] == [1, 2, 3]
