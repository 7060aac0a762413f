"""Decoding the compact window transport (float64 columns; see docs/contracts.md).

The client asks for it with ``Accept`` (`WINDOW_ACCEPT`); a server that does not know the
format answers JSON, which the client reads as before. Needs only the standard library.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from typing import Any

WINDOW_MEDIA_TYPE = "application/x-lrhub-window"
WINDOW_ACCEPT = f"{WINDOW_MEDIA_TYPE}, application/json;q=0.5"
MAGIC = b"LRHW"


class WindowDecodeError(ValueError):
    """A body announced as ``application/x-lrhub-window`` is not a valid window."""


def _columns(data: memoryview, offset: int, groups: int, count: int) -> list[list[float]]:
    size = groups * count * 8
    if offset + size > len(data):
        raise WindowDecodeError(
            f"window body too short: {groups} x {count} float64 values need {size} bytes "
            f"from offset {offset}, {len(data) - offset} present"
        )
    values = array("d")
    values.frombytes(data[offset : offset + size])
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        values.byteswap()
    return [values[g * count : (g + 1) * count].tolist() for g in range(groups)]


def decode_window(body: bytes) -> dict[str, Any]:
    """The `Window` JSON object (``lrs``/``momentums`` as lists of columns) of a binary body."""
    data = memoryview(body)
    if len(data) < 8 or bytes(data[:4]) != MAGIC:
        raise WindowDecodeError("window body does not start with the LRHW magic")
    (header_len,) = struct.unpack_from("<I", data, 4)
    end = 8 + header_len
    if end > len(data):
        raise WindowDecodeError(f"window header of {header_len} bytes overruns the body")
    try:
        header = json.loads(bytes(data[8:end]))
    except ValueError as exc:
        raise WindowDecodeError(f"window header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise WindowDecodeError("window header must be a JSON object")
    try:
        groups, count = int(header.pop("groups")), int(header["count"])
        has_momentum = bool(header.pop("has_momentum"))
    except (KeyError, TypeError, ValueError) as exc:
        raise WindowDecodeError(f"window header lacks a valid {exc}") from None
    if groups < 0 or count < 0:
        raise WindowDecodeError(f"window header has groups={groups}, count={count}")
    header["lrs"] = _columns(data, end, groups, count)
    header["momentums"] = (
        _columns(data, end + groups * count * 8, groups, count) if has_momentum else None
    )
    return header
