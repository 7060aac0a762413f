"""The parts of lrhub that need an optional extra, imported on first use, so that
``import lrhub`` needs only httpx: the torch scheduler (``lrhub.scheduler``, extra ``torch``)
and the command line (``lrhub.cli.app``, extra ``cli``). The module that loads one also
imports it under ``TYPE_CHECKING``, so the import graph shows the dependency."""

from __future__ import annotations

import importlib
from types import ModuleType

# extra -> the distributions it brings (a missing one gets the install hint)
EXTRAS = {"torch": ("torch",), "cli": ("typer", "rich")}


def load_extra(module: str, extra: str) -> ModuleType:
    """Import ``module`` of lrhub; when a package of ``extra`` is missing, the
    ``ModuleNotFoundError`` says what to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name not in EXTRAS[extra]:
            raise
        raise ModuleNotFoundError(
            f"{module} needs {exc.name}, which comes with the {extra} extra: "
            f"pip install 'lrhub[{extra}]'",
            name=exc.name,
        ) from exc
