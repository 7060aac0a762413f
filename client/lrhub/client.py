"""`lrhub.Client`: the entry point to an lrhub server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from lrhub._http import HttpSession
from lrhub.run import Run
from lrhub.types import RunInfo, Window

DEFAULT_URL = "http://127.0.0.1:8000"


class Client:
    """A connection to one lrhub server.

    ``url`` defaults to ``LRHUB_URL`` (else ``http://127.0.0.1:8000``) and ``token`` to
    ``LRHUB_TOKEN``. ``timeout`` is the read timeout in seconds (connecting waits at most
    5 s); failed requests are retried up to ``max_retries`` times when that is safe.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | httpx.Timeout = 10.0,
        max_retries: int = 5,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = url or os.environ.get("LRHUB_URL") or DEFAULT_URL
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {url!r}")
        token = token if token is not None else os.environ.get("LRHUB_TOKEN") or None
        self.url = url.rstrip("/")
        self._session = HttpSession(
            self.url,
            token,
            timeout=timeout,
            max_retries=max_retries,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"lrhub.Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request to the server (``path`` under the server root, e.g. ``/v1/runs``)."""
        return self._session.request(method, path, **kwargs)

    def create_run(
        self,
        name: str,
        schedule: dict[str, Any],
        *,
        restart: bool = False,
        **options: Any,
    ) -> Run:
        """Get or create the run called ``name``.

        Every rank can call this with the same arguments: the first call creates the run,
        the others get it. A different schedule under an existing name is a
        ``ConflictError``. ``restart=True`` starts an existing run over from step 0.
        ``options`` are the run's options (``steps_per_epoch``, ``report_interval``...).
        """
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if not isinstance(schedule, dict):
            raise TypeError(f"schedule must be a dict spec, got {type(schedule).__name__}")
        body = {"name": name, "schedule": schedule, "options": options, "restart": restart}
        return Run(self, RunInfo.from_json(self.request("POST", "/v1/runs", json=body)))

    def get_run(self, run_id: int) -> Run:
        """The run with id ``run_id`` (``NotFoundError`` if there is none)."""
        return Run(self, RunInfo.from_json(self.request("GET", f"/v1/runs/{int(run_id)}")))

    def get_run_by_name(self, name: str) -> Run:
        """The run called ``name`` (``NotFoundError`` if there is none)."""
        path = f"/v1/runs/by-name/{quote(name, safe='')}"
        return Run(self, RunInfo.from_json(self.request("GET", path)))

    def list_runs(self, *, page_size: int = 50) -> Iterator[Run]:
        """Every run, newest first (fetched page by page)."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = self.request("GET", "/v1/runs", params=params)
            for item in page["items"]:
                yield Run(self, RunInfo.from_json(item))
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def preview(
        self,
        schedule: dict[str, Any],
        steps: int,
        *,
        base_lrs: list[float] | None = None,
        base_momentums: list[float] | None = None,
        steps_per_epoch: int | None = None,
    ) -> Window:
        """The first ``steps`` values of ``schedule``, computed by the server, storing nothing."""
        body: dict[str, Any] = {"schedule": schedule, "steps": steps}
        if base_lrs is not None:
            body["base_lrs"] = base_lrs
        if base_momentums is not None:
            body["base_momentums"] = base_momentums
        if steps_per_epoch is not None:
            body["steps_per_epoch"] = steps_per_epoch
        return Window.from_json(self.request("POST", "/v1/preview", json=body))

    def healthy(self, *, timeout: float = 2.0) -> bool:
        """Whether the server answers ``/healthz`` (one try, no retries)."""
        try:
            self.request("GET", "/healthz", max_retries=0, timeout=timeout)
        except Exception:
            return False
        return True
