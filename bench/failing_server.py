"""A stand-in for a scoring server whose errors escape it, run by uvicorn as MLflow's app is.

What MLflow 3.17's server did on a RecursionError or a missing Content-Type: Starlette's error
middleware sends a complete 500 and re-raises; uvicorn logs the traceback and only then closes
the connection (uvicorn/protocols/http/h11_impl.py, run_asgi). A proxy that keeps upstream
connections alive has taken that one back after the complete 500 and sends the next request on
it; uvicorn starts on it, and the close kills it while it is being scored: "connection reset by
peer" and a 502 for an innocent client. Here the time uvicorn spends logging is a fixed 50 ms and
scoring a request (a body that is JSON, answered 200) takes 100 ms, so that window is there on
every try. tests/e2e/test_proxy.py and bench.perf.serve_overhead put nginx in front of it.
"""

import asyncio
import json
from typing import Any

LOGGING_SECONDS = 0.05
SCORING_SECONDS = 0.1


async def _answer(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    if scope["path"] == "/ping":
        await _answer(send, 200, b"\n")
        return
    try:
        json.loads(body)
    except ValueError:
        await _answer(send, 500, b"Internal Server Error")
        await asyncio.sleep(LOGGING_SECONDS)
        raise RuntimeError("escaped the app") from None
    await asyncio.sleep(SCORING_SECONDS)
    await _answer(send, 200, b'{"predictions": []}')
