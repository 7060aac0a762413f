"""No configured secret (a token's secret, a database password) appears in any output:
configuration errors, server logs at debug level, or any answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

SECRET = "s3cr3t-value-never-printed-7f2c9a"
PASSWORD = "pw-never-printed-41d8"


def _serve(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--port", "1"]
    full = {k: v for k, v in os.environ.items() if not k.startswith("LRHUB_")}
    return subprocess.run(
        argv, env={**full, **env}, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "tokens",
    [
        f"x:admin:{SECRET}",  # a scope that does not exist
        f"x:write:{SECRET[:8]}",  # too short
        f"{SECRET}",  # not name:scope:secret at all
        f"ok:read:{SECRET},{SECRET}:write",  # the second entry is malformed
    ],
)
def test_a_bad_token_configuration_never_prints_the_secret(tmp_path: Path, tokens: str) -> None:
    result = _serve({"LRHUB_TOKENS": tokens, "LRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "LRHUB_TOKENS" in output
    assert SECRET not in output and SECRET[:8] not in output


def test_an_unreachable_database_never_prints_its_password(live_server: Any) -> None:
    """The server starts and answers 503 naming the database: with its password masked."""
    url = f"postgresql://lrhub:{PASSWORD}@127.0.0.1:1/nowhere"
    server = live_server(url, env={"LRHUB_LOG_LEVEL": "debug"}, until="/healthz")
    with httpx.Client(base_url=server.url, timeout=15.0) as client:
        answers = [client.get("/readyz"), client.get("/v1/runs"), client.get("/metrics")]
    assert [a.status_code for a in answers[:2]] == [503, 503]
    assert "lrhub:***@127.0.0.1:1/nowhere" in answers[0].json()["detail"]
    server.stop()
    for answer in answers:
        assert PASSWORD not in answer.text
    assert PASSWORD not in server.log.read_text()


def test_a_serving_server_never_echoes_secrets(live_server: Any, database_url: str) -> None:
    url = database_url
    if url.startswith("postgresql"):  # trust authentication ignores the password
        url = make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    env = {
        "LRHUB_TOKENS": f"ci:write:{SECRET},viewer:read:{SECRET}-read",
        "LRHUB_LOG_LEVEL": "debug",
    }
    server = live_server(url, env=env)
    answers = []
    with httpx.Client(base_url=server.url, timeout=15.0) as client:
        good = {"Authorization": f"Bearer {SECRET}"}
        reader = {"Authorization": f"Bearer {SECRET}-read"}
        wrong = {"Authorization": f"Bearer {SECRET}-wrong"}
        answers.append(client.get("/v1/runs", headers=wrong))  # 401
        answers.append(client.post("/v1/runs", headers=reader, json={}))  # 403
        answers.append(client.post("/v1/runs", headers=good, json={"name": 1}))  # 422
        answers.append(client.get("/v1/runs/999", headers=good))  # 404
        answers += [client.get(path) for path in ("/metrics", "/readyz", "/openapi.json")]
    assert [a.status_code for a in answers[:4]] == [401, 403, 422, 404]
    server.stop()
    log = server.log.read_text()
    for answer in answers:
        assert SECRET not in answer.text and PASSWORD not in answer.text
        assert SECRET not in str(answer.headers)
    assert SECRET not in log and PASSWORD not in log
