"""Logs (one readable line on a terminal, JSON lines otherwise) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
import math
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
# uvicorn adds ``color_message`` (the message with ANSI colour codes): never a field of ours
NOT_FIELDS = STANDARD | {"color_message"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields a log call added (run id, status, ...)."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in NOT_FIELDS and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra`` fields."""

    converter = time.gmtime  # the time field says Z

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """One line for a person: ``18:24:07 INFO  lrhub.app  lrhub ready  database=sqlite``."""

    def __init__(self) -> None:
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        name = "uvicorn" if record.name == "uvicorn.error" else record.name
        line = (
            f"{self.formatTime(record, self.datefmt)} {record.levelname:<5} "
            f"{name}  {record.getMessage()}"
        )
        fields = "  ".join(
            f"{key}={value}" for key, value in _fields(record).items() if value is not None
        )
        if fields:
            line = f"{line}  {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def wants_json(setting: str, stream: Any = None) -> bool:
    """``LRHUB_LOG_JSON``: ``true``/``false``, or ``auto`` (JSON unless ``stream`` is a TTY)."""
    if setting != "auto":
        return setting == "true"
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def logging_config(level: str, json_logs: str = "auto") -> dict[str, Any]:
    """The ``dictConfig`` of a server process: lrhub's and uvicorn's logs to stderr, text on
    a terminal, JSON lines otherwise (``json_logs`` is ``LRHUB_LOG_JSON``: ``auto``, ``true``
    or ``false``). uvicorn applies it again in each ``--workers`` process."""
    formatter = JsonFormatter if wants_json(json_logs) else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lrhub": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "lrhub",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("lrhub", "uvicorn", "uvicorn.error")
        },
    }


def configure_logging(level: str, json_logs: str = "auto") -> None:
    """Apply :func:`logging_config` to this process."""
    logging.config.dictConfig(logging_config(level, json_logs))


class OncePerWhile:
    """Log a recurring event once, then at most once every ``every_s`` seconds with how many
    times it recurred in between (a database outage answers many requests: one line)."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self._logger = logger
        self._every_s = every_s
        self._last = -math.inf
        self._since = 0

    def warning(self, message: str, **extra: Any) -> None:
        now = time.monotonic()
        if now - self._last < self._every_s:
            self._since += 1
            return
        if self._since:
            message = f"{message} (and {self._since} more like it since the last such line)"
        self._logger.warning(message, extra=extra)
        self._last, self._since = now, 0


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
