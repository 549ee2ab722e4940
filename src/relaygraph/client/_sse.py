"""An incremental Server-Sent Events decoder (WHATWG "event stream interpretation"), no I/O.

Feed it the body's bytes as they arrive, in chunks of any size; it returns the events those
bytes complete and keeps the unfinished tail. Lines may end in CRLF, LF or CR, and a chunk
boundary may fall anywhere, including between the CR and the LF of one CRLF. A leading BOM
is dropped, ``:`` lines are comments (heartbeats), ``data`` lines join with ``\\n``, ``id``
persists across events (the spec's "last event ID"), ``retry`` keeps the last valid value.

Where the spec leaves room, this follows the LangGraph SDKs: a block with an ``event`` line
but no ``data`` is still dispatched (``data == ""``), while a block that only sets ``id`` or
``retry`` updates the decoder's state without producing an event.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One dispatched event: its type, its data (lines joined by ``\\n``), the last event id."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns chunks of an ``text/event-stream`` body into :class:`ServerSentEvent` values.

    ``last_event_id`` may be seeded (a reconnecting client keeps counting from where it was)
    and is what a reconnect should send as ``Last-Event-ID``.
    """

    __slots__ = ("_data", "_event", "_pending", "_skip_lf", "_started", "last_event_id", "retry")

    def __init__(self, last_event_id: str | None = None) -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self._pending = b""  # an unterminated last line
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._started = False  # the BOM check has been done
        self._event: bytes | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk``; returns the events it completes (often none, sometimes many)."""
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[0] == 10:  # "\n"
                chunk = chunk[1:]
                if not chunk:
                    return []
        if self._pending:
            chunk = self._pending + chunk
            self._pending = b""
        if not self._started:
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._pending = chunk  # too short to tell; wait for more
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
                if not chunk:
                    return []
        lines = chunk.splitlines()  # bytes.splitlines splits on exactly \r\n, \n and \r
        last = chunk[-1]
        if last == 13:  # "\r": the line is complete, but an LF may follow in the next chunk
            self._skip_lf = True
        elif last != 10 and lines:
            self._pending = lines.pop()
        return self._lines(lines) if lines else []

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        # The hot loop: the common fields are matched inline, the rest in _field.
        out: list[ServerSentEvent] = []
        data = self._data
        event = self._event
        for line in lines:
            if not line:
                if data or event is not None:
                    out.append(
                        ServerSentEvent(
                            event.decode("utf-8", "replace") if event else "message",
                            (data[0] if len(data) == 1 else b"\n".join(data)).decode(
                                "utf-8", "replace"
                            ),
                            self.last_event_id,
                            self.retry,
                        )
                    )
                    data = self._data = []
                    event = None
            elif line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[:7] == b"event: ":
                event = line[7:]
            elif line[:4] == b"id: " and b"\0" not in line:
                self.last_event_id = line[4:].decode("utf-8", "replace")
            elif line[0] != 58:  # not a ":" comment
                self._event = event
                self._field(line)
                event = self._event
        self._event = event
        return out

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            self._event = value
        elif name == b"data":  # "data" with no colon: an empty data line
            self._data.append(value)
        elif name == b"id":
            if b"\0" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self.retry = int(value)
        # any other field is ignored, as the spec says

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: per the spec an unterminated last event is discarded."""
        self._pending = b""
        self._data = []
        self._event = None
        return []
