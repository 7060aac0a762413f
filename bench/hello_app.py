"""The peer of the read-path benchmark: a hello-world FastAPI `async def` endpoint.

`python -m bench.hello_app PORT WORKERS` serves it with the uvicorn options `lrhub serve` uses
(lrhub_service/cli/main.py: uvloop, httptools, no access log, no log config, same workers).
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    """The cheapest JSON answer FastAPI can give."""
    return {"hello": "world"}


def main(port: int, workers: int) -> None:
    """Serve `app` on 127.0.0.1:port exactly as `lrhub serve` serves lrhub."""
    import uvicorn

    uvicorn.run(
        "bench.hello_app:app",
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
