"""Request and response plumbing shared by the routes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relaygraph.server import _json
from relaygraph.server._context import ServerContext
from relaygraph.server._errors import HTTPError
from relaygraph.server._ids import parse_uuid

__all__ = ["ctx_of", "json", "path_id", "query_bool", "query_int", "read_json"]

INT64_MAX = 2**63 - 1


def ctx_of(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def read_json(request: Request, *, default: Any = ..., object_only: bool = True) -> Any:
    """The request's JSON body; 413 past the size limit, 422 when it is not JSON.

    ``default`` is returned for an empty body when given; ``object_only`` makes any
    non-object a 422 in the reference's wording.
    """
    limit = ctx_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared[:20]) > limit:
        raise HTTPError(413, "Request body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, "Request body too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip() and default is not ...:
        return default
    try:
        body = _json.loads(raw)
    except ValueError:
        raise HTTPError(422, "Invalid JSON in request body") from None
    if object_only and not isinstance(body, dict):
        shown = _json.dumps(body).decode()
        raise HTTPError(
            422,
            f'{shown} is not of type "object"\n\nFailed validating "type" in schema\n\nOn instance:\n    {shown}',
        )
    return body


def json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response."""
    return Response(_json.dumps(data), status, dict(headers or {}), "application/json")


def path_id(request: Request, name: str, what: str, *, status: int = 422) -> str:
    """A UUID path parameter, or the reference's error for a malformed one."""
    return parse_uuid(str(request.path_params[name]), what, status=status)


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true", "yes", "on")


def query_int(
    request: Request, name: str, default: int, *, minimum: int = 0, maximum: int = INT64_MAX
) -> int:
    """An integer query parameter; 422 unless it lies in ``[minimum, maximum]`` (the
    default maximum is the largest integer the databases store)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPError(422, f"Invalid {name}: {value!r} is not an integer") from None
    if number < minimum:
        raise HTTPError(422, f"Invalid {name}: must be >= {minimum}")
    if number > maximum:
        raise HTTPError(422, f"Invalid {name}: must be <= {maximum}")
    return number


def page(items: list[Any], total: int, offset: int) -> Response:
    """A search result: the items, with the reference's ``x-pagination-*`` headers."""
    headers = {"x-pagination-total": str(total)}
    if offset + len(items) < total:
        headers["x-pagination-next"] = str(offset + len(items))
    return json(items, headers=headers)
