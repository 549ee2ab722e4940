"""HTTP errors with the reference's ``{"detail": ...}`` body, and the one table that maps
engine and request errors to status codes.

    HTTPError            any error answered before a response starts
      └─ its status:     400 bad request, 404 missing, 409 conflict, 413 too large, 422 invalid
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["HTTPError", "conflict", "invalid", "not_found", "status_for"]


class HTTPError(Exception):
    """An error answered as ``{"detail": detail}`` with ``status``."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})


def not_found(detail: str = "Not Found") -> HTTPError:
    return HTTPError(404, detail)


def conflict(detail: str) -> HTTPError:
    return HTTPError(409, detail)


def invalid(detail: str) -> HTTPError:
    return HTTPError(422, detail)


_STATUS_BY_TYPE = {
    "InvalidUpdateError": 400,
    "GraphSetupError": 400,
    "UnknownNodeError": 400,
    "EmptyInputError": 400,
    "InvalidStreamArgumentError": 422,
    "ValueError": 400,
    "TypeError": 400,
    "KeyError": 400,
    "NotImplementedError": 501,
}


def status_for(exc: BaseException) -> int:
    """The status for an engine error raised while serving a request the client shaped
    (state update, history...): the first class in its MRO found in the table, else 400."""
    if isinstance(exc, HTTPError):
        return exc.status
    for cls in type(exc).__mro__:
        status = _STATUS_BY_TYPE.get(cls.__name__)
        if status is not None:
            return status
    return 400
