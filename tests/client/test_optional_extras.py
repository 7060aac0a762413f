"""``lrhub.extras.load_extra``: a module that needs an optional extra says what to install."""

from __future__ import annotations

import sys

import pytest

from lrhub.extras import load_extra


def test_a_missing_package_of_an_extra_names_the_pip_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    monkeypatch.delitem(sys.modules, "lrhub.scheduler", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lrhub\[torch\]'") as exc:
        load_extra("lrhub.scheduler", "torch")
    assert exc.value.name == "torch"


def test_a_missing_module_outside_the_extra_is_not_disguised() -> None:
    with pytest.raises(ModuleNotFoundError) as exc:
        load_extra("lrhub.no_such_module", "torch")
    assert exc.value.name == "lrhub.no_such_module" and "pip install" not in str(exc.value)
