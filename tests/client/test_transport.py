"""The HTTP layer against the real server: typed errors, retries, Retry-After,
idempotency keys, timeouts and refused connections (faults injected in the transport)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

import lrhub

COSINE = {"type": "CosineAnnealingLR", "T_max": 100, "base_lr": 0.1}


def fast_client(
    url: str, transport: httpx.BaseTransport | None = None, **kw: object
) -> lrhub.Client:
    return lrhub.Client(url, backoff_initial=0.01, backoff_max=0.05, transport=transport, **kw)


def test_create_get_and_read_values(server, run_name) -> None:
    client = fast_client(server.url)
    run = client.create_run(run_name, COSINE, steps_per_epoch=10)
    again = client.create_run(run_name, COSINE, steps_per_epoch=10)
    assert again.id == run.id  # get-or-create: every rank runs the same line
    assert client.get_run(run.id).name == run_name
    assert client.get_run_by_name(run_name).id == run.id
    assert run.info.options.get("steps_per_epoch") == 10
    value = run.lr_at(0)
    assert isinstance(value, lrhub.Value) and value.step == 0
    assert any(r.id == run.id for r in client.list_runs())


def test_status_errors_are_typed_and_say_what_to_do(server, run_name) -> None:
    client = fast_client(server.url)
    with pytest.raises(lrhub.BadRequestError) as bad:
        client.create_run(run_name, {"type": "CosineAnnealingLR", "T_max": -1})
    assert bad.value.status_code == 422
    assert "T_max" in str(bad.value) and "Fix the named field" in str(bad.value)
    assert any("T_max" in e["loc"] for e in bad.value.errors)
    with pytest.raises(lrhub.NotFoundError, match="Check the run id"):
        client.get_run(987654321)
    client.create_run(run_name, COSINE)
    with pytest.raises(lrhub.ConflictError, match="another name"):
        client.create_run(run_name, {"type": "CosineAnnealingLR", "T_max": 7})
    with pytest.raises(lrhub.BadRequestError, match="nonsense"):
        client.create_run(run_name + "x", COSINE, nonsense=1)


def test_5xx_then_success_is_retried_with_one_idempotency_key(server, run_name, faults) -> None:
    client = fast_client(server.url, faults)
    faults.inject(503, 502, 504)
    run = client.create_run(run_name, COSINE)
    assert run.name == run_name
    posts = [r for r in faults.seen if r.method == "POST"]
    assert len(posts) == 4
    keys = {r.headers["Idempotency-Key"] for r in posts}
    assert len(keys) == 1 and len(keys.pop()) >= 16  # reused across the retries
    run.report_progress(0)
    assert faults.seen[-1].headers["Idempotency-Key"] != posts[0].headers["Idempotency-Key"]


def test_500_and_4xx_are_not_retried(server, run_name, faults) -> None:
    client = fast_client(server.url, faults)
    faults.inject(500)
    with pytest.raises(lrhub.InternalServerError, match="check its logs"):
        client.create_run(run_name, COSINE)
    assert len(faults.seen) == 1


def test_429_honours_retry_after(server, run_name, faults) -> None:
    client = fast_client(server.url, faults)
    faults.inject((429, "0.6"))
    began = time.monotonic()
    client.create_run(run_name, COSINE)
    assert time.monotonic() - began >= 0.6
    assert len(faults.seen) == 2


def test_retries_are_bounded_and_errors_typed(server, run_name, faults) -> None:
    client = fast_client(server.url, faults, max_retries=2)
    faults.inject((429, "0"), (429, "0"), (429, "0"))
    with pytest.raises(lrhub.RateLimitError, match="rate-limiting"):
        client.create_run(run_name, COSINE)
    assert len(faults.seen) == 3


def test_timeouts_are_retried_then_raised(server, run_name, faults) -> None:
    client = fast_client(server.url, faults, max_retries=1)
    faults.inject("timeout")
    assert client.create_run(run_name, COSINE).name == run_name
    faults.inject("timeout", "timeout")
    with pytest.raises(lrhub.APITimeoutError, match="did not answer in time"):
        client.get_run_by_name(run_name)


def test_connection_refused(server, run_name, faults) -> None:
    client = fast_client(server.url, faults, max_retries=1)
    faults.inject("refused")
    assert client.create_run(run_name, COSINE).name == run_name
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    dead = fast_client(f"http://127.0.0.1:{port}", max_retries=2)
    began = time.monotonic()
    with pytest.raises(lrhub.APIConnectionError, match="lrhub serve"):
        dead.get_run(1)
    assert time.monotonic() - began < 5
    assert not dead.healthy()


def test_real_read_timeout() -> None:
    """A server that accepts but never answers hits the read timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        client = fast_client(url, timeout=0.3, max_retries=1)
        began = time.monotonic()
        with pytest.raises(lrhub.APITimeoutError):
            client.get_run(1)
        assert 0.5 <= time.monotonic() - began < 5


def test_url_and_token_from_environment(server, run_name, monkeypatch) -> None:
    monkeypatch.setenv("LRHUB_URL", server.url)
    monkeypatch.setenv("LRHUB_TOKEN", "secret-token")
    client = lrhub.Client()
    assert client.url == server.url.rstrip("/")
    assert client._session._http.headers["Authorization"] == "Bearer secret-token"
    with pytest.raises(ValueError, match="http://"):
        lrhub.Client("127.0.0.1:8000")


def test_import_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, lrhub; assert 'torch' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
