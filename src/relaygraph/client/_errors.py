"""Exceptions raised by the client, and the one table that maps an HTTP status to them.

The tree::

    LangGraphError                      every error the client raises on purpose
    ├── APIStatusError (httpx.HTTPStatusError)  the server answered non-2xx
    │   ├── BadRequestError        400
    │   ├── AuthenticationError    401
    │   ├── PermissionDeniedError  403
    │   ├── NotFoundError          404  (also a LookupError)
    │   ├── ConflictError          409
    │   ├── UnprocessableEntityError  422  (alias: ValidationError; also a ValueError)
    │   ├── RateLimitError         429
    │   └── InternalServerError    5xx
    ├── APIConnectionError (httpx.TransportError)  the connection failed and retrying gave up
    ├── ProtocolError              the response broke the wire protocol (e.g. not SSE)
    └── RunError                   the run itself failed on the server (an ``error`` event,
                                   or ``__error__`` in a wait/join result)

Status errors keep what the server said: ``status_code``, ``detail`` (the ``{"detail": ...}``
body), ``code`` when the body has one, ``body`` (the decoded JSON, or the text). They also
subclass ``httpx.HTTPStatusError`` so code written for a bare httpx client keeps working.
"""

from __future__ import annotations

from typing import Any

import httpx

from relaygraph.client._json import loads

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "LangGraphError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RunError",
    "UnprocessableEntityError",
    "ValidationError",
    "error_for_response",
]


class LangGraphError(Exception):
    """The LangGraph API client failed."""


class APIStatusError(LangGraphError, httpx.HTTPStatusError):
    """The server answered with an error status."""

    status_code: int
    detail: Any
    code: str | None
    body: Any

    def __init__(self, message: str, *, response: httpx.Response, body: Any = None) -> None:
        httpx.HTTPStatusError.__init__(self, message, request=response.request, response=response)
        self.status_code = response.status_code
        self.body = body
        detail = body.get("detail") if isinstance(body, dict) else None
        self.detail = detail if detail is not None else body
        code = body.get("code") if isinstance(body, dict) else None
        self.code = code if isinstance(code, str) else None


class BadRequestError(APIStatusError):
    """400 Bad Request."""


class AuthenticationError(APIStatusError):
    """401 Unauthorized: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403 Forbidden."""


class NotFoundError(APIStatusError, LookupError):
    """404 Not Found."""


class ConflictError(APIStatusError):
    """409 Conflict (e.g. the id exists, or the thread is busy and multitask is ``reject``)."""


class UnprocessableEntityError(APIStatusError, ValueError):
    """422 Unprocessable Entity: the request failed validation."""


ValidationError = UnprocessableEntityError


class RateLimitError(APIStatusError):
    """429 Too Many Requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(LangGraphError, httpx.TransportError):
    """The connection failed and the client gave up reconnecting."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        httpx.TransportError.__init__(self, message, request=request)


class ProtocolError(LangGraphError):
    """The server's response does not follow the LangGraph wire protocol."""


class RunError(LangGraphError):
    """The run failed on the server; ``error`` is the exception's type name there."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message

    @classmethod
    def from_payload(cls, payload: Any) -> RunError:
        """Build from an ``error`` event's data or a ``__error__`` value."""
        if isinstance(payload, dict):
            return cls(str(payload.get("error", "Error")), str(payload.get("message", "")))
        return cls("Error", str(payload))


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_response(response: httpx.Response) -> APIStatusError:
    """The exception for a non-2xx ``response`` whose body has been read."""
    status = response.status_code
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    content = response.content
    body: Any
    try:
        body = loads(content) if content.strip() else None
    except ValueError:
        body = content.decode("utf-8", "replace")
    detail = body.get("detail") if isinstance(body, dict) else body
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    where = f"{response.request.method} {response.request.url.path}"
    message = f"{status} {reason} ({where})"
    if detail not in (None, ""):
        message += ": " + (detail if isinstance(detail, str) else repr(detail))
    return cls(message, response=response, body=body)
