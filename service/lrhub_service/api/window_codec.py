"""The compact window transport: a `Window` as float64 columns (docs/contracts.md).

Layout: ``b"LRHW"``, a uint32 little-endian header length ``H``, ``H`` bytes of UTF-8
JSON (every `Window` field except ``lrs`` and ``momentums``, plus ``groups`` and
``has_momentum``, space-padded so the columns start at a multiple of 8), then ``lrs`` as
``groups x count`` float64 little-endian, row-major, then ``momentums`` the same way when
``has_momentum``. Only a client that asks for it (``Accept``) gets it; JSON stays the
default, and errors stay ``application/problem+json``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

WINDOW_MEDIA_TYPE = "application/x-lrhub-window"
MAGIC = b"LRHW"
_COLUMN_FIELDS = ("lrs", "momentums")


def wants_window_binary(accept: str | None) -> bool:
    """Whether an ``Accept`` header prefers the binary window to JSON.

    The binary form is chosen only when it is listed with a quality at least that of any
    JSON type the header lists (``*/*`` alone never selects it).
    """
    if not accept or WINDOW_MEDIA_TYPE not in accept:
        return False
    binary_q, json_q = 0.0, 0.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        quality = _quality(params)
        media = media.strip().lower()
        if media == WINDOW_MEDIA_TYPE:
            binary_q = max(binary_q, quality)
        elif media in ("application/json", "application/*"):
            json_q = max(json_q, quality)
    return binary_q > 0 and binary_q >= json_q


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def _column_bytes(columns: Any, groups: int, count: int, name: str) -> bytes:
    """``columns`` (numpy array or lists of lists) as row-major float64 LE bytes."""
    array = np.asarray(columns, dtype="<f8")
    if array.shape != (groups, count):
        raise ValueError(f"{name} has shape {array.shape}, expected {(groups, count)}")
    return np.ascontiguousarray(array).tobytes()


def _split(window: Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
    """A `Window` mapping as its header fields and its column bytes."""
    lrs = window["lrs"]
    momentums = window.get("momentums")
    count = int(window["count"])
    groups = len(lrs)
    header = {k: v for k, v in window.items() if k not in _COLUMN_FIELDS}
    header["groups"] = groups
    header["has_momentum"] = momentums is not None
    columns = _column_bytes(lrs, groups, count, "lrs")
    if momentums is not None:
        columns += _column_bytes(momentums, groups, count, "momentums")
    return header, columns


def _frame(header: Mapping[str, Any], columns: bytes) -> bytes:
    text = orjson.dumps(header)
    padded = len(text) + (-(8 + len(text)) % 8)
    return b"".join((MAGIC, struct.pack("<I", padded), text.ljust(padded, b" "), columns))


def encode_window(window: Mapping[str, Any]) -> bytes:
    """Encode a `Window` mapping whose ``lrs``/``momentums`` are arrays or lists of lists."""
    return _frame(*_split(window))


class ColumnsWindow:
    """The compact form as a `WindowForm` of the window use case: the columns are rendered
    once per cached window, the small header per request (it carries the promise)."""

    name = "columns"

    def render(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        return _split(body)

    def finish(self, rendered: tuple[dict[str, Any], bytes], promised_through: int | None) -> bytes:
        header, columns = rendered
        return _frame({**header, "promised_through": promised_through}, columns)


COLUMNS_WINDOW = ColumnsWindow()
