"""Property-based run of the OpenAPI document against a live server, on SQLite and PostgreSQL.

Every generated request is checked for no 5xx and for conformance to the document: the
status is declared, the content type is the declared one, and the body fits the schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import schemathesis
from e2e_support import LiveLrhub, create_run, free_port, run_lrhub, scratch_database
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = max(20, int(os.environ.get("LRHUB_FUZZ_EXAMPLES", "20")))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TARGET = "fuzz-target"
# The coverage phase enumerates every combination of a schema's keywords, and the examples
# phase walks every example of every member: over the union of 30 schedule types (composites
# nest the union) neither ends, so the operations that take a schedule skip both (their
# fuzzing phase still runs, with the other operations' coverage and examples phases).
SCHEDULE_OPERATIONS = r"^/v1/(preview(/curve)?|runs|runs/[^/]+/revisions(/dry-run)?)$"
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path-regex": SCHEDULE_OPERATIONS,
                "phases": {"coverage": {"enabled": False}, "examples": {"enabled": False}},
            }
        ]
    }
)


@contextmanager
def _sqlite(folder: Path) -> Iterator[str]:
    url = f"sqlite:///{folder / 'lrhub.db'}"
    run_lrhub(["db", "upgrade"], url)
    yield url


def _database(backend: str, folder: Path) -> AbstractContextManager[str]:
    if backend == "sqlite":
        return _sqlite(folder)
    if not os.environ.get("LRHUB_TEST_POSTGRES_URL"):
        pytest.skip("LRHUB_TEST_POSTGRES_URL is not set")
    return scratch_database(folder)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveLrhub, int]]:
    """One live server per backend, and a run to aim path ids and names at."""
    folder: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with _database(request.param, folder) as url:
        server = LiveLrhub(url, free_port(), log=folder / "serve.log").start()
        try:
            yield server, create_run(server.url, TARGET)
        finally:
            server.stop()


@pytest.fixture
def api_schema(fuzz_server: tuple[LiveLrhub, int]) -> schemathesis.BaseSchema:
    """The OpenAPI document the live server serves."""
    server, _ = fuzz_server
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.timeout(180)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_answer_conforms_to_the_document(
    case: schemathesis.Case, fuzz_server: tuple[LiveLrhub, int]
) -> None:
    """Whatever the generated request, the answer is below 500 and is what the document says."""
    _, run_id = fuzz_server
    params = case.path_parameters or {}
    path_id = params.get("run_id")
    if isinstance(path_id, int) and path_id % 2 == 0:
        params["run_id"] = run_id  # reach the handlers behind the 404 half the time
    name = params.get("name")
    if isinstance(name, str) and len(name) % 2 == 0:
        params["name"] = TARGET
    case.call_and_validate(checks=CHECKS)
