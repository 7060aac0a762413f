"""Runs torch's scheduler suite with lrhub swapped in (see test_torch_suite.py).

One ``lrhub serve`` (SQLite) serves the session. torch's scheduler classes are replaced by
stand-ins that attach lrhub runs (substitutes.py): in the suite's module when it is imported,
and in ``torch.optim.lr_scheduler`` around each test; the schedulers a test attached are
closed after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from expected_differences import EXPECTED, NOT_LRHUB
from substitutes import Attachments, LrhubType, in_place_of_torch
from support.server import ServerProcess

import lrhub

collect_ignore = ["upstream"]  # torch's file runs only through test_torch_suite.py


@pytest.fixture(scope="session")
def suite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("torch-suite-server")
    proc = ServerProcess(f"sqlite:///{tmp / 'suite.db'}", tmp / "server.log")
    yield proc.start()
    proc.stop()


@pytest.fixture(scope="session")
def suite_client(suite_server: ServerProcess) -> lrhub.Client:
    return lrhub.Client(suite_server.url)


@pytest.fixture(autouse=True)
def lrhub_in_place_of_torch(
    suite_client: lrhub.Client, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    attachments = Attachments(suite_client, f"torch-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(LrhubType, "attachments", attachments)
    with in_place_of_torch():  # for the tests that name torch.optim.lr_scheduler.StepLR
        yield
    attachments.close_all()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each of torch's tests that lrhub is expected to fail (strict), or that runs
    nothing of lrhub (skip)."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent != here:
            continue
        name = item.name
        if name in NOT_LRHUB:
            item.add_marker(pytest.mark.skip(reason=NOT_LRHUB[name]))
        elif name in EXPECTED:
            item.add_marker(pytest.mark.xfail(reason=EXPECTED[name], strict=True))
