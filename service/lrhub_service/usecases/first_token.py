"""A public server's first start with no tokens creates one write token, atomically.

Only its SHA-256 is stored. The unique token name makes the creation atomic across
processes and replicas starting at once: exactly one insert wins, and only the process that
won prints the secret, once (the way Jupyter prints its first token).
"""

from __future__ import annotations

from lrhub_service.db import token_rows
from lrhub_service.db.errors import as_domain_error
from lrhub_service.usecases.tokens import hash_token, new_secret

FIRST_TOKEN_NAME = "admin-bootstrap"


def ensure_first_token(database_url: str) -> str | None:
    """Create the write token when the database holds none; its secret, or None if any exists.

    None also when another process created it first (the unique name lost the race).
    Raises ``DatabaseUnavailable`` when the database cannot be asked.
    """
    secret = new_secret()
    try:
        created = token_rows.insert_first_token(database_url, FIRST_TOKEN_NAME, hash_token(secret))
    except Exception as exc:
        raise as_domain_error(exc) from exc
    return secret if created else None


def first_token_notice(secret: str) -> str:
    """What the creating process prints: the secret, once, and what to do with it."""
    return (
        "lrhub: no tokens were configured for this public bind, so one write token was created.\n"
        f"    {FIRST_TOKEN_NAME}: {secret}\n"
        "  It is shown only this once (only its hash is stored). Clients pass it as LRHUB_TOKEN;\n"
        "  add tokens with `lrhub tokens create`, revoke this one with "
        f"`lrhub tokens revoke {FIRST_TOKEN_NAME}`."
    )
