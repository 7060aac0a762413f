"""Operations: health, readiness (database + migrations), Prometheus metrics, JSON logs."""

from __future__ import annotations

import json
import logging
from typing import Any

from api_support import make_run

from lrhub_service.api.app import create_app
from lrhub_service.observability import JsonFormatter
from lrhub_service.settings import Settings


def test_health_and_ready(api: Any) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready["status"] == "ready" and ready["schema"]


def test_not_ready_until_migrated(api_factory: Any, empty_database_url: str) -> None:
    api = api_factory(empty_database_url, auto_migrate=False)
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert api.get("/healthz").status_code == 200


def test_sqlite_is_migrated_automatically(api_factory: Any, tmp_path: Any) -> None:
    api = api_factory(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert api.get("/readyz").status_code == 200
    assert make_run(api)["id"] == 1


def test_metrics_count_requests_advances_reports_and_runs(api: Any) -> None:
    rid = make_run(api)["id"]
    api.post(f"/v1/runs/{rid}/advance", json={"count": 3})
    api.post(f"/v1/runs/{rid}/reports", json={"step": 1, "metrics": {"loss": 1.0}})
    api.get(f"/v1/runs/{rid}/lr", params={"step": 4})
    api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 8})
    text = api.get("/metrics").text
    assert "lrhub_advanced_steps_total 3.0" in text
    assert "lrhub_reports_total 1.0" in text
    assert 'lrhub_runs{status="running"} 1.0' in text
    assert 'route="/v1/runs/{run_id}/lr"' in text  # the fast paths are labelled by route
    assert 'route="/v1/runs/{run_id}/window"' in text


def test_fastapi_native_telemetry_is_opt_in() -> None:
    assert create_app(Settings())._telemetry["tracing"] is False  # type: ignore[attr-defined]
    opted_in = create_app(Settings(otel=True))
    assert opted_in._telemetry["tracing"] is True  # type: ignore[attr-defined]


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("lrhub.api", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    record.run_id = 7
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "boom x" and entry["run_id"] == 7 and entry["level"] == "error"


def test_openapi_document_is_served(api: Any) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/v1/runs", "/v1/runs/{run_id}/window", "/v1/runs/{run_id}/advance"):
        assert path in paths


def test_database_outage_is_503_with_retry_after(api: Any, database_url: str) -> None:
    import pytest

    if not database_url.startswith("postgresql"):
        pytest.skip("dropping a live database is a PostgreSQL scenario")
    import psycopg
    from sqlalchemy.engine import make_url

    rid = make_run(api)["id"]
    url = make_url(database_url)
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    for path in (f"/v1/runs/{rid}/lr?step=3", f"/v1/runs/{rid}"):
        response = api.get(path)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
    assert api.get("/readyz").status_code == 503
    assert api.get("/healthz").status_code == 200


def test_an_internal_error_is_a_bland_500_logged_with_the_run_id(
    api_factory: Any, tmp_path: Any, caplog: Any
) -> None:
    import sqlite3

    path = tmp_path / "broken.db"
    api = api_factory(f"sqlite:///{path}")
    rid = make_run(api)["id"]
    with sqlite3.connect(path) as conn:  # the schema breaks behind the server's back
        conn.execute("DROP TABLE events")
    with caplog.at_level(logging.ERROR, logger="lrhub.api"):
        response = api.get(f"/v1/runs/{rid}/events")
    assert response.status_code == 500
    body = response.json()
    assert body["title"] == "Internal server error" and "Traceback" not in response.text
    assert "events" not in body["detail"]
    records = [r for r in caplog.records if r.name == "lrhub.api"]
    assert records and records[-1].run_id == rid and records[-1].exc_info
