"""Where the CLI finds its server: flags, then ``LRHUB_*`` variables, then ``lrhub login``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    """The login file: ``$LRHUB_CONFIG``, else ``$XDG_CONFIG_HOME/lrhub/config.json``."""
    explicit = os.environ.get("LRHUB_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "lrhub" / "config.json"


@dataclass(frozen=True)
class Connection:
    """The server URL and token a command uses."""

    url: str
    token: str | None


def stored_login() -> dict[str, str]:
    """What ``lrhub login`` saved (empty when nothing was saved or the file is unreadable)."""
    try:
        data = json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


def resolve(url: str | None, token: str | None) -> Connection:
    """Flags (typer already folds in ``LRHUB_URL``/``LRHUB_TOKEN``) win over the login file."""
    saved = stored_login()
    return Connection(url or saved.get("url") or DEFAULT_URL, token or saved.get("token"))


def save_login(url: str, token: str | None) -> Path:
    """Store the URL and token, readable by the owner only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"url": url} if token is None else {"url": url, "token": token}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle)
    path.chmod(0o600)
    return path
