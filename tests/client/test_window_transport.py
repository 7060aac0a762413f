"""The compact window transport: the server's encoder, the client's decoder, content
negotiation against the real server, and the JSON fallback of an older server."""

from __future__ import annotations

import struct

import httpx
import numpy as np
import orjson
import pytest
from client_support import make_optimizer

import lrhub
from lrhub.types import Window
from lrhub.window_codec import WINDOW_ACCEPT, WindowDecodeError, decode_window
from lrhub_service.api.window_codec import (
    COLUMNS_WINDOW,
    WINDOW_MEDIA_TYPE,
    encode_window,
    wants_window_binary,
)
from lrhub_service.usecases.values import JSON_WINDOW

ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 5000}


def sample_window(columns: str) -> dict[str, object]:
    lrs = [[0.1 * (i + 1) / 3 for i in range(5)], [1e-300, 2.5, -0.0, 7e300, 0.3]]
    moms = [[0.85, 0.9, 0.95, 0.9, 0.85], [0.8, 0.8, 0.8, 0.8, 0.8]]
    if columns == "numpy":
        lrs, moms = np.array(lrs), np.array(moms)
    return {
        "start": 7,
        "count": 5,
        "revision": 2,
        "lrs": lrs,
        "momentums": moms,
        "next_report": None,
        "stop": False,
        "promised_through": 11,
    }


@pytest.mark.parametrize("columns", ["lists", "numpy"])
def test_round_trip_is_bit_exact(columns: str) -> None:
    window = sample_window(columns)
    body = encode_window(window)
    assert body[:4] == b"LRHW"
    (header_len,) = struct.unpack_from("<I", body, 4)
    assert (8 + header_len) % 8 == 0  # columns aligned for zero-copy readers
    assert len(body) == 8 + header_len + 2 * 2 * 5 * 8
    decoded = decode_window(body)
    assert decoded["lrs"] == np.asarray(window["lrs"]).tolist()
    assert decoded["momentums"] == np.asarray(window["momentums"]).tolist()
    assert {k: decoded[k] for k in ("start", "count", "revision", "promised_through")} == {
        "start": 7,
        "count": 5,
        "revision": 2,
        "promised_through": 11,
    }


def test_no_momentum_column_when_the_schedule_has_none() -> None:
    window = {
        "start": 0,
        "count": 3,
        "revision": 1,
        "lrs": [[0.1, 0.2, 0.3]],
        "momentums": None,
        "next_report": 3,
        "stop": True,
    }
    decoded = decode_window(encode_window(window))
    assert decoded["momentums"] is None and decoded["lrs"] == [[0.1, 0.2, 0.3]]
    assert decoded["next_report"] == 3 and decoded["stop"] is True


def test_bad_bodies_are_refused_clearly() -> None:
    body = encode_window(sample_window("lists"))
    with pytest.raises(WindowDecodeError, match="magic"):
        decode_window(b"JSON" + body[4:])
    with pytest.raises(WindowDecodeError, match="too short"):
        decode_window(body[:-8])
    with pytest.raises(ValueError):
        decode_window(body[:6])
    with pytest.raises(ValueError, match="shape"):
        encode_window({**sample_window("lists"), "count": 4})


@pytest.mark.parametrize(
    ("accept", "binary"),
    [
        (None, False),
        ("application/json", False),
        ("*/*", False),
        (WINDOW_ACCEPT, True),
        (WINDOW_MEDIA_TYPE, True),
        (f"application/json, {WINDOW_MEDIA_TYPE};q=0.9", False),
        (f"{WINDOW_MEDIA_TYPE};q=0, application/json", False),
    ],
)
def test_negotiation(accept: str | None, binary: bool) -> None:
    assert wants_window_binary(accept) is binary


def test_the_server_answers_the_same_values_in_both_forms(server, run_name) -> None:
    client = lrhub.Client(server.url)
    run = client.create_run(run_name, ONE_CYCLE)
    run.attach(make_optimizer("sgd", [0.1, 0.2])).close(0)
    path = f"{server.url}/v1/runs/{run.id}/window?start=0&count=4096"
    as_json = httpx.get(path)
    assert as_json.headers["content-type"].startswith("application/json")  # the default
    compact = httpx.get(path, headers={"Accept": WINDOW_ACCEPT})
    assert compact.headers["content-type"] == WINDOW_MEDIA_TYPE
    assert "accept" in compact.headers["vary"].lower()
    assert len(compact.content) < len(as_json.content) / 2
    decoded, reference = decode_window(compact.content), as_json.json()
    assert decoded == reference  # every field, every float bit for bit
    missing = httpx.get(
        f"{server.url}/v1/runs/987654321/window?start=0", headers={"Accept": WINDOW_ACCEPT}
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = httpx.get(path.replace("start=0", "start=-1"), headers={"Accept": WINDOW_ACCEPT})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert "start" in bad.json()["errors"][0]["loc"]


class Recording(httpx.BaseTransport):
    """The real server, recording the content type of every window answer; with
    ``older=True`` it drops ``Accept`` first, as a server that predates the compact form
    ignores it, so every window comes back as JSON."""

    def __init__(self, older: bool) -> None:
        self.inner = httpx.HTTPTransport()
        self.older = older
        self.content_types: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.older:
            del request.headers["Accept"]
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/window"):
            self.content_types.append(response.headers.get("content-type", ""))
        return response


@pytest.mark.parametrize("older", [False, True], ids=["compact", "older-server-json"])
def test_the_scheduler_reads_either_form(server, run_name, older) -> None:
    transport = Recording(older)
    run = lrhub.Client(server.url, transport=transport).create_run(run_name, ONE_CYCLE)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=64)
    for _ in range(200):
        optimizer.step()
        scheduler.step()
    scheduler.close(0.5)
    expected = "application/json" if older else WINDOW_MEDIA_TYPE
    assert len(transport.content_types) >= 3
    assert all(t.startswith(expected) for t in transport.content_types)
    reference = lrhub.Client(server.url).get_run(run.id).lr_at(200)
    assert scheduler.get_last_lr() == reference.lrs  # bit for bit either way


def test_the_client_uses_only_promised_steps() -> None:
    data = {
        "start": 10,
        "count": 4,
        "revision": 1,
        "lrs": [[1.0, 2.0, 3.0, 4.0]],
        "momentums": None,
        "next_report": None,
        "stop": False,
    }
    assert Window.from_json(data).promised_end == 14  # an older server: all promised
    assert Window.from_json({**data, "promised_through": 11}).promised_end == 12
    assert Window.from_json({**data, "promised_through": None}).promised_end == 10
    assert Window.from_json({**data, "promised_through": 99}).promised_end == 14
    from lrhub.optim import OptimizerBinding

    binding = OptimizerBinding([1.0], None, None, None)
    block = binding.block(Window.from_json({**data, "promised_through": 11}))
    assert block.lrs == [[1.0, 2.0]] and block.end == 12


@pytest.mark.parametrize("promised", [None, 9])
def test_both_forms_render_once_and_add_the_promise_per_request(promised: int | None) -> None:
    window = sample_window("numpy")
    body = {k: v for k, v in window.items() if k != "promised_through"}
    expected = {**window, "promised_through": promised}
    columns = COLUMNS_WINDOW.finish(COLUMNS_WINDOW.render(body), promised)
    assert decode_window(columns) == decode_window(encode_window(expected))
    as_json = orjson.loads(JSON_WINDOW.finish(JSON_WINDOW.render(body), promised))
    listed = {**expected, "lrs": window["lrs"].tolist(), "momentums": window["momentums"].tolist()}
    assert as_json == listed  # numpy columns render exactly as Python floats do
    assert JSON_WINDOW.render(body) == orjson.dumps(
        {k: v for k, v in listed.items() if k != "promised_through"}
    )


class Unpromised(httpx.BaseTransport):
    """The real server, except that every window answer promises none of its steps (as
    for a read-scope token): fault injection on the answer, in front of the server."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/window"):
            return self.inner.handle_request(request)
        del request.headers["Accept"]
        response = self.inner.handle_request(request)
        body = {**orjson.loads(response.read()), "promised_through": None}
        return httpx.Response(200, json=body, request=request)


def test_values_that_are_not_promised_are_never_trained_on(server, run_name) -> None:
    run = lrhub.Client(server.url, transport=Unpromised()).create_run(run_name, ONE_CYCLE)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, on_outage="raise")  # holds the attach answer's step 0
    optimizer.step()
    with pytest.raises(lrhub.LrhubError, match="promised none"):
        scheduler.step()
    scheduler.close(0)
    held = lrhub.Client(server.url).get_run(run.id).lr_at(0).lrs
    assert scheduler.get_last_lr() == held  # still step 0's value
