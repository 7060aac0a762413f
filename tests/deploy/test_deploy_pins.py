"""Dependency pairs known to break together stay excluded by pyproject's upper bounds.

pytest 9.2 broke schemathesis 4's pytest plugin (``'Function' object has no attribute
'_nodeid'``): the dev extra pins ``pytest<9.2``. This test runs the plugin the way the
contract tests do (a schema from a fixture), so a pin that lets a broken pair back in fails here.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN_TEST = """
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import settings

app = FastAPI()


@app.get("/ping")
def ping(n: int = 0) -> dict[str, int]:
    return {"n": n}


@pytest.fixture
def api_schema():
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=3, deadline=None)
def test_api(case):
    case.call_and_validate()
"""


def test_schemathesis_plugin_runs_under_the_installed_pytest(pytester: pytest.Pytester) -> None:
    """The installed pytest and schemathesis run a fixture-based schema test together."""
    pytester.makepyfile(test_plugin=PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert "_nodeid" not in result.stdout.str()
