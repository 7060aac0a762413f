"""The one error type of the engine: a refused spec, naming each field and reason."""

from __future__ import annotations

from collections.abc import Iterable


class SpecError(ValueError):
    """An invalid spec or schedule; ``.errors`` is ``[{"loc": "a.b[1]", "msg": "..."}]``."""

    def __init__(self, errors: Iterable[dict[str, str]] | str, loc: str = "") -> None:
        if isinstance(errors, str):
            errors = [{"loc": loc, "msg": errors}]
        self.errors: list[dict[str, str]] = [dict(e) for e in errors]
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        """All errors on one line: ``loc: msg; loc: msg``."""
        return "; ".join(f"{e['loc']}: {e['msg']}" if e["loc"] else e["msg"] for e in self.errors)


def join_loc(parent: str, child: str | int) -> str:
    """Extend a field path: ``join_loc("schedulers[1]", "T_max") == "schedulers[1].T_max"``."""
    if isinstance(child, int):
        return f"{parent}[{child}]"
    return f"{parent}.{child}" if parent else child


class MissingBaseLR(SpecError):
    """No base learning rate: neither the spec nor an attached optimizer gave one."""

    def __init__(self, loc: str = "base_lr") -> None:
        super().__init__("base_lr missing: give it in the spec or attach an optimizer first", loc)
