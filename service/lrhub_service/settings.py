"""Server configuration from ``LRHUB_*`` environment variables (read on demand, never at import)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class ConfiguredToken:
    """A bearer token given in ``LRHUB_TOKENS`` as ``name:scope:secret``."""

    name: str
    scope: str
    secret: str


class Settings(BaseSettings):
    """Every knob of ``lrhub serve``; each field is also the ``LRHUB_<NAME>`` variable."""

    # hide_input_in_errors: a bad LRHUB_TOKENS or URL must never print the secret it holds
    model_config = SettingsConfigDict(
        env_prefix="LRHUB_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite:///./lrhub.db",
        description="sqlite:///path.db or postgresql://user:pass@host:5432/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    tokens: str = Field(
        default="",
        description="comma-separated name:scope:secret tokens (scope read or write)",
    )
    window_max: int = Field(default=32_768, ge=1, le=1_000_000)
    advance_max: int = Field(default=4096, ge=1, le=1_000_000, description="steps per advance")
    preview_max_steps: int = Field(default=100_000, ge=1)
    preview_max_values: int = Field(
        default=2_000_000, ge=1, description="steps x groups of one preview"
    )
    eval_queue: int = Field(default=32, ge=0, le=1000, description="evaluations waiting at most")
    eval_wait_s: float = Field(default=1.0, gt=0, description="longest wait in that queue")
    eval_timeout_s: float = Field(default=1.0, gt=0, description="longest single evaluation")
    max_body_bytes: int = Field(
        default=262_144, ge=1024, description="parsing a body holds the event loop: keep it small"
    )
    log_level: str = "info"
    log_json: str = Field(
        default="auto",
        description="auto (JSON lines unless stderr is a terminal), true or false",
    )
    pool_size: int = Field(default=5, ge=1, le=200)
    pool_max_overflow: int = Field(default=0, ge=0, le=200)
    fast_pool_size: int = Field(
        default=8, ge=1, le=200, description="asyncpg connections for the per-request reads"
    )
    pool_timeout: float = Field(default=30.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    auto_migrate: bool = Field(
        default=True, description="apply migrations at startup (SQLite only)"
    )
    idempotency_ttl_s: float = Field(
        default=86_400.0, ge=0, description="how long Idempotency-Key answers are kept"
    )
    read_cache: bool = Field(
        default=True,
        description="PostgreSQL: cache run versions per process, invalidated by LISTEN/NOTIFY",
    )
    delete_active_s: float = Field(
        default=300.0,
        ge=0,
        description="a run whose workers were seen this recently is deleted only with force",
    )
    otel: bool = Field(
        default=False,
        description="FastAPI's native OpenTelemetry instrumentation (traces, metrics, logs "
        "sent to a configured OTEL provider); off by default: Prometheus /metrics is built in",
    )
    insecure: bool = False

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("log_level must be critical, error, warning, info or debug")
        return level

    @field_validator("log_json", mode="before")
    @classmethod
    def _json_choice(cls, value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value).strip().lower()
        text = {"1": "true", "yes": "true", "on": "true"}.get(text, text)
        text = {"0": "false", "no": "false", "off": "false"}.get(text, text)
        if text not in {"auto", "true", "false"}:
            raise ValueError("log_json must be auto, true or false")
        return text

    @field_validator("tokens")
    @classmethod
    def _tokens_parse(cls, value: str) -> str:
        parse_tokens(value)
        return value

    def configured_tokens(self) -> list[ConfiguredToken]:
        """The tokens given in ``LRHUB_TOKENS``."""
        return parse_tokens(self.tokens)


def parse_tokens(text: str) -> list[ConfiguredToken]:
    """Parse ``name:scope:secret,name:scope:secret``; raise ValueError naming the bad entry."""
    tokens: list[ConfiguredToken] = []
    for index, raw in enumerate(part.strip() for part in text.split(",")):
        if not raw:
            continue
        pieces = raw.split(":", 2)
        if len(pieces) != 3 or not all(pieces):
            raise ValueError(f"LRHUB_TOKENS entry {index} must be name:scope:secret")
        name, scope, secret = pieces
        if scope not in ("read", "write"):
            raise ValueError(f"LRHUB_TOKENS entry {index} ({name}): scope must be read or write")
        if len(secret) < 16:
            raise ValueError(f"LRHUB_TOKENS entry {index} ({name}): secret needs >= 16 characters")
        tokens.append(ConfiguredToken(name=name, scope=scope, secret=secret))
    return tokens
