"""``/ok``, ``/info``, ``/openapi.json``, ``/docs`` and ``/metrics``."""

from __future__ import annotations

import html
from importlib import metadata

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from relaygraph.server.routes._common import ctx_of, json

__all__ = ["routes"]


def _version() -> str:
    try:
        return metadata.version("relaygraph")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


async def ok(request: Request) -> Response:
    return json({"ok": True, "services": {}})


async def info(request: Request) -> Response:
    version = _version()
    return json(
        {
            "version": version,
            "relaygraph_version": version,
            "flags": {"assistants": True, "crons": False, "langsmith": False},
            "host": {
                "kind": "self-hosted",
                "project_id": None,
                "host_revision_id": None,
                "revision_id": None,
                "tenant_id": None,
            },
        }
    )


async def openapi(request: Request) -> Response:
    return Response(ctx_of(request).openapi.body, media_type="application/json")


async def docs(request: Request) -> Response:
    document = ctx_of(request).openapi.document
    rows = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            summary = html.escape(str(op.get("summary", "")))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code>"
                f"</td><td>{summary}</td></tr>"
            )
    title = html.escape(document["info"]["title"])
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}</style></head>"
        f"<body><h1>{title}</h1><p>The machine-readable spec is at "
        "<a href='/openapi.json'>/openapi.json</a>.</p><table>"
        + "".join(rows)
        + "</table></body></html>"
    )
    return HTMLResponse(page)


async def metrics(request: Request) -> Response:
    return PlainTextResponse(
        ctx_of(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


routes = [
    Route("/ok", ok, methods=["GET"]),
    Route("/info", info, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
