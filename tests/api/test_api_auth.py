"""Bearer tokens: configured or stored, read and write scopes, open operations routes."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import COSINE, assert_problem

from lrhub_service.usecases import tokens

WRITER = "writer-secret-0123456789"
READER = "reader-secret-0123456789"
CONFIGURED = f"ci:write:{WRITER},dash:read:{READER}"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def secured(api_factory: Any) -> Any:
    return api_factory(tokens=CONFIGURED)


def test_no_token_is_401_with_challenge(secured: Any) -> None:
    response = secured.get("/v1/runs")
    assert_problem(response, 401, "Authorization")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(secured.post("/v1/runs", json={"name": "a", "schedule": COSINE}), 401)


def test_wrong_token_and_wrong_scheme_are_401(secured: Any) -> None:
    assert_problem(secured.get("/v1/runs", headers=bearer("not-a-token-at-all")), 401)
    assert_problem(secured.get("/v1/runs", headers={"Authorization": f"Basic {WRITER}"}), 401)


def test_read_token_reads_but_cannot_write(secured: Any) -> None:
    created = secured.post(
        "/v1/runs", json={"name": "a", "schedule": COSINE}, headers=bearer(WRITER)
    )
    assert created.status_code == 201
    assert secured.get("/v1/runs", headers=bearer(READER)).status_code == 200
    denied = secured.post(
        f"/v1/runs/{created.json()['id']}/advance", json={}, headers=bearer(READER)
    )
    body = assert_problem(denied, 403, "Authorization")
    assert "write" in body["detail"]


def test_operations_routes_stay_open(secured: Any) -> None:
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200
    assert secured.get("/metrics").status_code == 200


def test_open_server_needs_no_token(api: Any) -> None:
    assert api.get("/v1/runs").status_code == 200


def test_stored_tokens_are_hashed_and_revocable(api_factory: Any, database_url: str) -> None:
    secret = tokens.create_token(database_url, "laptop", "read")
    assert secret.startswith("lrh_") and len(secret) > 40
    assert all(secret not in str(item.values()) for item in tokens.list_tokens(database_url))
    api = api_factory()
    assert_problem(api.get("/v1/runs"), 401)  # a stored token switches auth on
    assert api.get("/v1/runs", headers=bearer(secret)).status_code == 200
    assert_problem(
        api.post("/v1/runs", json={"name": "a", "schedule": COSINE}, headers=bearer(secret)), 403
    )
    assert tokens.revoke_token(database_url, "laptop") is True
    assert tokens.revoke_token(database_url, "laptop") is False
    fresh = api_factory()  # a new process sees the revocation at once
    assert_problem(fresh.get("/v1/runs", headers=bearer(secret)), 401)
    with pytest.raises(ValueError, match="already exists"):
        tokens.create_token(database_url, "laptop", "write")


def test_bad_token_configuration_is_refused() -> None:
    from pydantic import ValidationError

    from lrhub_service.settings import Settings

    with pytest.raises(ValidationError, match="scope must be read or write"):
        Settings(tokens="x:admin:0123456789abcdef0")
    with pytest.raises(ValidationError, match="16 characters"):
        Settings(tokens="x:read:short")
