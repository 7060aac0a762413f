"""A database outage under load: every /v1 route answers 503 + Retry-After as problem+json,
no connection is dropped without an answer, and service resumes by itself within 5 s.

The database is a throwaway PostgreSQL cluster of this test (tests/support/pg_cluster.py),
never the machine's shared server.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import pytest
from faults_support import (
    AUTH,
    COSINE,
    TOKENS_ENV,
    Hammer,
    poll_until,
    problem_of,
    v1_calls,
)
from support.pg_cluster import throwaway_cluster
from support.runs import create_attached_run

from lrhub_service.db import migrate
from lrhub_service.usecases.tokens import REFRESH_SECONDS

RECOVERY_S = 5.0
NO_DATABASE = ("/v1/preview", "/v1/limits")  # they answer while the token list is fresh
LOAD_THREADS = 12
LOAD_SECONDS = 3.0


def _serves_again(client: httpx.Client, run_id: int) -> bool:
    try:
        return client.get(f"/v1/runs/{run_id}/lr", params={"step": 11}).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_outage_answers_503_everywhere_then_recovers(live_server: Any) -> None:
    with throwaway_cluster() as pg:
        url = pg.create_database("lrhub_outage")
        migrate.upgrade(url)
        server = live_server(url, env={**TOKENS_ENV, "LRHUB_POOL_TIMEOUT": "5"})
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=15.0) as client:
            run_id = create_attached_run(client, "outage", COSINE)
            assert client.get(f"/v1/runs/{run_id}/lr", params={"step": 7}).status_code == 200

            pg.stop()
            time.sleep(REFRESH_SECONDS + 0.2)  # the token list is stale: auth must read it
            for method, path, body in v1_calls(run_id):  # one by one: each route's answer
                answer = client.request(method, path, json=body)
                assert answer.status_code == 503, (method, path, answer.text[:300])
                assert answer.headers["retry-after"] == "1", (method, path)
                problem_of(answer)
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503

            hammer = Hammer(server.url, v1_calls(run_id), AUTH).start(LOAD_THREADS)
            time.sleep(LOAD_SECONDS)
            hammer.stop()
            assert hammer.failures == [], hammer.failures[:5]
            statuses = Counter(answer.status_code for answer in hammer.answers)
            assert set(statuses) <= {200, 503} and statuses[503] > 0, statuses
            for answer in hammer.answers:
                if answer.status_code == 200:
                    assert answer.request.url.path in NO_DATABASE, answer.request.url
                else:
                    assert answer.headers.get("retry-after") == "1"
                    problem_of(answer)
            assert len(hammer.answers) > 100, statuses

            pg.start()
            back_at = time.monotonic()
            took = poll_until(lambda: _serves_again(client, run_id), RECOVERY_S)
            for method, path, body in v1_calls(run_id):
                answer = client.request(method, path, json=body)
                assert answer.status_code < 500, (method, path, answer.text[:300])
            assert time.monotonic() - back_at < RECOVERY_S + 5, "routes kept failing"
            print(f"recovered {took:.2f} s after the database came back")


@pytest.mark.slow
def test_outage_without_tokens_is_503_on_database_routes(live_server: Any) -> None:
    with throwaway_cluster() as pg:
        url = pg.create_database("lrhub_outage_open")
        migrate.upgrade(url)
        server = live_server(url)
        with httpx.Client(base_url=server.url, timeout=15.0) as client:
            run_id = create_attached_run(client, "outage-open", COSINE)
            pg.stop()
            for method, path, body in v1_calls(run_id):
                answer = client.request(method, path, json=body)
                if path in NO_DATABASE:  # no token to check, no database to read
                    assert answer.status_code == 200, answer.text[:300]
                    continue
                assert answer.status_code == 503, (method, path, answer.text[:300])
                assert answer.headers["retry-after"] == "1"
                problem_of(answer)
            pg.start()
            poll_until(lambda: _serves_again(client, run_id), RECOVERY_S)
