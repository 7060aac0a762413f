"""/docs and /redoc load nothing from off the server: every asset they name is served here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_from_the_server(api: Any, page: str) -> None:
    answer = api.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert "//" not in "".join(re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html))
    referenced = [a or b for a, b in ASSET.findall(html)]
    scripts = [r for r in referenced if r.endswith(".js")]
    assert scripts, f"{page} names no script"
    assert "/openapi.json" in html
    for ref in referenced:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, f"{page} loads {ref} from off the server"
        served = api.get(ref)
        assert served.status_code == 200, ref
        assert len(served.content) > 1000 or ref == "/openapi.json", ref


def test_swagger_ui_has_no_online_validator(api: Any) -> None:
    assert '"validatorUrl": null' in api.get("/docs").text
