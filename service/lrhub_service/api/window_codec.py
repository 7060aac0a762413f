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
import threading
from collections import OrderedDict
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


def encode_window(window: Mapping[str, Any]) -> bytes:
    """Encode a `Window` mapping whose ``lrs``/``momentums`` are arrays or lists of lists."""
    lrs = window["lrs"]
    momentums = window.get("momentums")
    count = int(window["count"])
    groups = len(lrs)
    header = {k: v for k, v in window.items() if k not in _COLUMN_FIELDS}
    header["groups"] = groups
    header["has_momentum"] = momentums is not None
    text = orjson.dumps(header)
    padded = len(text) + (-(8 + len(text)) % 8)
    parts = [MAGIC, struct.pack("<I", padded), text.ljust(padded, b" ")]
    parts.append(_column_bytes(lrs, groups, count, "lrs"))
    if momentums is not None:
        parts.append(_column_bytes(momentums, groups, count, "momentums"))
    return b"".join(parts)


_RECENT_MAX = 32
# id(payload) -> (payload, encoded): the payload is held, so its id stays its own
_recent: OrderedDict[int, tuple[bytes, bytes]] = OrderedDict()
_recent_lock = threading.Lock()


def encode_json_window(payload: bytes) -> bytes:
    """Re-encode a rendered JSON `Window` compactly. It costs a JSON parse, so the last
    few are remembered by payload object: the window use case hands every rank the same
    cached payload. Better still, give `render_window` the window itself."""
    with _recent_lock:
        hit = _recent.get(id(payload))
        if hit is not None and hit[0] is payload:
            _recent.move_to_end(id(payload))
            return hit[1]
    encoded = encode_window(orjson.loads(payload))
    with _recent_lock:
        _recent[id(payload)] = (payload, encoded)
        while len(_recent) > _RECENT_MAX:
            _recent.popitem(last=False)
    return encoded


def render_window(window: bytes | Mapping[str, Any], binary: bool) -> tuple[bytes, str]:
    """The body and media type of a window answer: ``window`` is the `Window` mapping
    (numpy or list columns) or its rendered JSON; ``binary`` from `wants_window_binary`."""
    if binary:
        body = encode_json_window(window) if isinstance(window, bytes) else encode_window(window)
        return body, WINDOW_MEDIA_TYPE
    if isinstance(window, bytes):
        return window, "application/json"
    return orjson.dumps(window, option=orjson.OPT_SERIALIZE_NUMPY), "application/json"
