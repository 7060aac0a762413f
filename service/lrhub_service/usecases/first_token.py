"""A public server's first start with no tokens creates one write token, atomically.

Only its SHA-256 is stored. The unique token name makes the creation atomic across
processes and replicas starting at once: exactly one insert wins, and only the process that
won prints the secret, once (the way Jupyter prints its first token).
"""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from lrhub_service.db.models import ApiToken, utcnow
from lrhub_service.usecases.tokens import _sync_engine, hash_token, new_secret

FIRST_TOKEN_NAME = "admin-bootstrap"


def ensure_first_token(database_url: str) -> str | None:
    """Create the write token when the database holds none; its secret, or None if any exists.

    None also when another process created it first (the unique name lost the race).
    """
    engine = _sync_engine(database_url)
    secret = new_secret()
    try:
        with engine.begin() as conn:
            if conn.execute(select(func.count(ApiToken.id))).scalar_one():
                return None
            conn.execute(
                insert(ApiToken).values(
                    name=FIRST_TOKEN_NAME,
                    scope="write",
                    token_hash=hash_token(secret),
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return None
    finally:
        engine.dispose()
    return secret


def first_token_notice(secret: str) -> str:
    """What the creating process prints: the secret, once, and what to do with it."""
    return (
        "lrhub: no tokens were configured for this public bind, so one write token was created.\n"
        f"    {FIRST_TOKEN_NAME}: {secret}\n"
        "  It is shown only this once (only its hash is stored). Clients pass it as LRHUB_TOKEN;\n"
        "  add tokens with `lrhub tokens create`, revoke this one with "
        f"`lrhub tokens revoke {FIRST_TOKEN_NAME}`."
    )
