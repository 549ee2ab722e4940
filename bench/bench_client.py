"""Client benchmarks: SSE decoding throughput, in one process, no network.

    .venv/bin/python bench/bench_client.py [--events N] [--repeat R] [--chunk BYTES]

Workloads (events per second; best and median of ``--repeat`` runs):

- ``decode``: ``SSEDecoder.feed`` over a body cut into ``--chunk``-byte chunks (default
  4096, like a socket read), reference-server framing (``event``/``data``/``id``, CRLF).
- ``decode+json``: the same plus each event's data parsed as JSON, as a stream op does.
- ``stream_op``: the whole pure stream path a client runs per chunk (``sse_stream``: decode,
  JSON, ``StreamPart``s, the Emit instructions), driven by a loop with no I/O.
- ``sync_client``: ``SyncLangGraphClient.runs.stream`` end to end over an in-memory httpx
  transport (the sync face's driver loop, httpx's response iteration included).
- ``langgraph_sdk``: the official SDK's decoder on the same chunks, when it is installed.

The target for ``decode+json`` is at least 200,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import httpx

from relaygraph.client import SSEDecoder, get_sync_client
from relaygraph.client._json import loads
from relaygraph.client._protocol import Emit, Read, Request
from relaygraph.client._stream import sse_stream


def make_body(n: int) -> bytes:
    """``n`` events the way the server frames them: a few modes, realistic payload sizes."""
    events = []
    for i in range(n):
        if i % 3 == 0:
            events.append(
                b'event: updates\r\ndata: {"refine_topic":{"topic":"ice cream and cats %d"}}\r\n'
                b"id: %d\r\n\r\n" % (i, i)
            )
        elif i % 3 == 1:
            events.append(
                b'event: custom\r\ndata: {"progress":%d,"msg":"item %d"}\r\nid: %d\r\n\r\n'
                % (i, i, i)
            )
        else:
            events.append(
                b"event: messages|inner:aadbf58e-1d2b-4c50-9a3a-6c7f29e1f0aa\r\n"
                b'data: [{"content":"tok%d","type":"AIMessageChunk","id":"lc_run--1"},'
                b'{"langgraph_node":"call_model","langgraph_step":1}]\r\nid: %d\r\n\r\n' % (i, i)
            )
        if i % 500 == 0:
            events.append(b": heartbeat\r\n\r\n")
    return b"".join(events)


def chunked(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def run_decode(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    feed = decoder.feed
    n = 0
    for chunk in chunks:
        n += len(feed(chunk))
    return n


def run_decode_json(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    feed = decoder.feed
    n = 0
    for chunk in chunks:
        for event in feed(chunk):
            loads(event.data)
            n += 1
    return n


class _Head:
    """Just enough of an ``httpx.Response`` for ``sse_stream``'s checks."""

    status_code = 200
    headers: ClassVar[dict[str, str]] = {"content-type": "text/event-stream; charset=utf-8"}
    request = httpx.Request("GET", "http://bench/stream")


def run_stream_op(chunks: list[bytes]) -> int:
    op = sse_stream(Request("POST", "/runs/stream", stream=True))
    it = iter(chunks)
    n = 0
    value: Any = None
    try:
        while True:
            instr = op.send(value)
            if isinstance(instr, Read):
                value = next(it, b"")
            elif isinstance(instr, Emit):
                n += len(instr.items)
                value = None
            else:
                value = _Head()
    except StopIteration:
        return n


def run_sync_client(chunks: list[bytes]) -> int:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8"},
            stream=httpx.ByteStream(b"") if not chunks else _Chunks(chunks),
        )

    client = get_sync_client(url="http://bench", transport=httpx.MockTransport(handler))
    n = sum(1 for _ in client.runs.stream(None, "agent", input={}))
    client.close()
    return n


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)


def run_langgraph_sdk(chunks: list[bytes]) -> int:
    from langgraph_sdk.sse import BytesLineDecoder
    from langgraph_sdk.sse import SSEDecoder as Official

    lines = BytesLineDecoder()
    decoder = Official()
    n = 0
    for chunk in chunks:
        for line in lines.decode(chunk):
            if decoder.decode(line.rstrip(b"\n")) is not None:
                n += 1
    return n


def measure(fn: Callable[[list[bytes]], int], chunks: list[bytes], repeat: int) -> list[float]:
    fn(chunks)  # warm up
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        n = fn(chunks)
        rates.append(n / (time.perf_counter() - start))
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=4096)
    args = parser.parse_args()
    body = make_body(args.events)
    chunks = chunked(body, args.chunk)
    workloads: dict[str, Callable[[list[bytes]], int]] = {
        "decode": run_decode,
        "decode+json": run_decode_json,
        "stream_op": run_stream_op,
        "sync_client": run_sync_client,
    }
    try:
        import langgraph_sdk.sse  # noqa: F401

        workloads["langgraph_sdk decode+json"] = run_langgraph_sdk
    except ImportError:
        pass
    print(
        f"{args.events:,} events, {len(body) / 1e6:.1f} MB, {len(chunks):,} chunks of "
        f"{args.chunk} B, best/median of {args.repeat}"
    )
    print(f"{'workload':<28}{'best ev/s':>14}{'median ev/s':>14}")
    for name, fn in workloads.items():
        rates = measure(fn, chunks, args.repeat)
        print(f"{name:<28}{max(rates):>14,.0f}{statistics.median(rates):>14,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
