"""Property-based run over the OpenAPI document against a live server: no 5xx, ever."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from e2e_support import LiveLrhub, create_run, free_port, scratch_database
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

MAX_EXAMPLES = int(os.environ.get("LRHUB_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveLrhub, int]]:
    """One live server (PostgreSQL when configured, else SQLite) and a run to aim path ids at."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with scratch_database(folder) as url:
        server = LiveLrhub(url, free_port(), log=folder / "serve.log").start()
        try:
            yield server, create_run(server.url, "fuzz-target")
        finally:
            server.stop()


@pytest.fixture
def api_schema(fuzz_server: tuple[LiveLrhub, int]) -> schemathesis.BaseSchema:
    """The OpenAPI document the live server serves."""
    server, _ = fuzz_server
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.timeout(120)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_yields_a_server_error(
    case: schemathesis.Case, fuzz_server: tuple[LiveLrhub, int]
) -> None:
    """Whatever the generated request, the server answers below 500."""
    _, run_id = fuzz_server
    path_id = (case.path_parameters or {}).get("run_id")
    if isinstance(path_id, int) and path_id % 2 == 0:
        case.path_parameters["run_id"] = run_id  # reach the handlers behind the 404 half the time
    case.call_and_validate(checks=[not_a_server_error])
