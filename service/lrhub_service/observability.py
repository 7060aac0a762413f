"""Structured JSON logs (with the run id) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from typing import Any

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
LAG_INTERVAL_S = 0.025
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, json_logs: bool = True) -> None:
    """Route lrhub's and uvicorn's logs to stderr, as JSON unless told otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = __import__("time").gmtime  # type: ignore[attr-defined]
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(formatter)
    for name in ("lrhub", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


class Metrics:
    """The server's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "lrhub_request_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.advances = Counter(
            "lrhub_advanced_steps", "Steps handed out by the shared counter", registry=self.registry
        )
        self.reports = Counter("lrhub_reports", "Metric reports received", registry=self.registry)
        self.runs = Gauge(
            "lrhub_runs",
            "Stored runs by status",
            ["status"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.deleted = Counter(
            "lrhub_runs_deleted", "Runs deleted with their history", registry=self.registry
        )
        self.refused = Counter(
            "lrhub_refused_requests",
            "Requests refused as over a limit (reason: limit, timeout)",
            ["reason"],
            registry=self.registry,
        )
        self.shed = Counter(
            "lrhub_shed_requests",
            "Requests shed with 503 because evaluation was busy (reason: queue_full, queue_wait)",
            ["reason"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "lrhub_event_loop_lag_seconds",
            f"How late a {LAG_INTERVAL_S * 1000:g} ms asyncio timer fires",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "lrhub_event_loop_lag_max_seconds",
            "The largest event-loop lag seen since the process started",
            registry=self.registry,
            multiprocess_mode="max",
        )

    def render(self) -> bytes:
        """The exposition text; merges every worker when PROMETHEUS_MULTIPROC_DIR is set."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class LoopLagMonitor:
    """A periodic timer on the event loop; how late it fires is the loop's lag."""

    def __init__(self, metrics: Metrics, interval_s: float = LAG_INTERVAL_S) -> None:
        self._metrics = metrics
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self.max_lag_s = 0.0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            due = time.perf_counter() + self._interval_s
            await asyncio.sleep(self._interval_s)
            lag = max(0.0, time.perf_counter() - due)
            self._metrics.loop_lag.observe(lag)
            if lag > self.max_lag_s:
                self.max_lag_s = lag
                self._metrics.loop_lag_max.set(lag)
