"""HTTP layer: one pooled httpx client, explicit timeouts, safe retries.

Retried: connection errors, timeouts, 429 and 502/503/504 (honouring ``Retry-After``),
with jittered exponential backoff (stamina), each retry logged at DEBUG only. Every write
carries an ``Idempotency-Key`` that stays the same across its retries, so the server can
recognise a repeat.
"""

from __future__ import annotations

import email.utils
import time
import uuid
from typing import Any

import httpx
import stamina

from lrhub import _quiet_retries
from lrhub.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    status_error,
)
from lrhub.window_codec import WINDOW_MEDIA_TYPE, decode_window

try:  # orjson is faster for the large windows; the stdlib is enough.
    import orjson

    _loads: Any = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    import json

    _loads = json.loads

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def make_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """Explicit timeouts: connecting never waits longer than 5 s (or ``timeout``)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    return httpx.Timeout(timeout, connect=min(5.0, timeout))


class HttpSession:
    """Sends JSON requests to one lrhub server and maps failures to typed errors."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        backoff_initial: float,
        backoff_max: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries!r}")
        headers = {"Accept": "application/json", "User-Agent": "lrhub-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        _quiet_retries.install()
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=make_timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request (retried when safe) and return its decoded body: JSON, or a
        window's JSON object when the server answers the compact window format."""
        headers = dict(headers or {})
        if method != "GET":
            headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
        retries = self.max_retries if max_retries is None else max_retries
        for attempt in stamina.retry_context(
            on=_retry_hook,
            attempts=retries + 1,
            timeout=None,
            wait_initial=self.backoff_initial,
            wait_max=self.backoff_max,
            wait_jitter=self.backoff_initial,
        ):
            with attempt:
                return self._send_once(method, path, params, json, headers, timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        headers: dict[str, str],
        timeout: float | None,
    ) -> Any:
        url = f"{self.base_url}{path}"
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = make_timeout(timeout)
        try:
            response = self._http.request(
                method, path, params=params, json=body, headers=headers, **extra
            )
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{method} {path}: the lrhub server at {self.base_url} did not answer in "
                f"time ({type(exc).__name__}). Check that it is running and not overloaded, "
                "or raise lrhub.Client(timeout=...).",
                url=url,
            ) from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"{method} {path}: cannot reach the lrhub server at {self.base_url} "
                f"({type(exc).__name__}: {exc}). Start it (`lrhub serve`) or fix "
                "LRHUB_URL / lrhub.Client(url=...).",
                url=url,
            ) from exc
        if response.status_code >= 400:
            raise status_error(
                method,
                path,
                response.status_code,
                _problem_body(response),
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith(WINDOW_MEDIA_TYPE):
            return decode_window(response.content)
        return _loads(response.content)


def _problem_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = _loads(response.content)
    except ValueError:
        return {"detail": response.text[:200] or response.reason_phrase}
    return body if isinstance(body, dict) else {"detail": str(body)[:200]}


def _retry_hook(exc: Exception) -> bool | float:
    """Whether (and after how long) a failed request may be sent again."""
    if isinstance(exc, APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, APIStatusError) and exc.status_code in RETRY_STATUSES:
        if exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER_S)
        return True
    return False
