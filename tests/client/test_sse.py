"""The SSE decoder: the spec's line handling, fed whole and split at every byte offset."""

from __future__ import annotations

import random

import pytest

from relaygraph.client import ServerSentEvent, SSEDecoder

# What the reference server writes (CRLF, id after data), with a heartbeat between events.
WIRE = (
    b"event: metadata\r\n"
    b'data: {"run_id":"r","attempt":1}\r\n'
    b"id: 1-0\r\n"
    b"\r\n"
    b": heartbeat\r\n"
    b"\r\n"
    b"event: updates|node_2:5d53\r\n"
    b'data: {"a":"\xc3\xa9t\xc3\xa9 \xf0\x9f\x8c\x9e"}\r\n'
    b"id: 2-0\r\n"
    b"\r\n"
)
EXPECTED = [
    ServerSentEvent("metadata", '{"run_id":"r","attempt":1}', "1-0"),
    ServerSentEvent("updates|node_2:5d53", '{"a":"été 🌞"}', "2-0"),
]


def decode(chunks: list[bytes], decoder: SSEDecoder | None = None) -> list[ServerSentEvent]:
    decoder = decoder or SSEDecoder()
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.flush())
    return out


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_whole_body_in_each_line_ending(newline: bytes) -> None:
    assert decode([WIRE.replace(b"\r\n", newline)]) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_split_at_every_offset(newline: bytes) -> None:
    body = WIRE.replace(b"\r\n", newline)
    for i in range(len(body) + 1):
        assert decode([body[:i], body[i:]]) == EXPECTED, f"split at {i}"


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"], ids=["crlf", "lf", "cr"])
def test_split_at_every_pair_of_offsets(newline: bytes) -> None:
    body = WIRE.replace(b"\r\n", newline)
    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1):
            assert decode([body[:i], body[i:j], body[j:]]) == EXPECTED, f"split at {i}, {j}"


def test_one_byte_at_a_time_and_random_chunks() -> None:
    assert decode([WIRE[i : i + 1] for i in range(len(WIRE))]) == EXPECTED
    rng = random.Random(7)
    mixed = WIRE.replace(b"\r\n", b"\n", 3).replace(b"\r\n", b"\r", 2)  # endings mixed in one body
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(mixed)), rng.randint(1, 12)))
        chunks = [mixed[a:b] for a, b in zip([0, *cuts], [*cuts, len(mixed)], strict=True)]
        assert decode(chunks) == EXPECTED


def test_events_come_out_as_soon_as_their_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: a\r\ndata: 1\r\n") == []
    assert decoder.feed(b"\r") == [ServerSentEvent("a", "1")]  # a CR ends the line at once
    assert decoder.feed(b"\n") == []  # ...and the LF that follows is not another blank line
    assert decoder.feed(b"data: 2\n\n") == [ServerSentEvent("message", "2")]


def test_multiline_data_and_field_forms() -> None:
    body = (
        b"data: first\n"
        b"data:second\n"  # no space after the colon
        b"data\n"  # a field with no colon: empty value
        b"data:  two spaces\n"  # only one space is stripped
        b"\n"
    )
    assert decode([body]) == [ServerSentEvent("message", "first\nsecond\n\n two spaces")]


def test_comments_unknown_fields_and_bom_are_ignored() -> None:
    body = b"\xef\xbb\xbf: hello\nfoo: bar\nevent: x\ndata: 1\n\n"
    assert decode([body]) == [ServerSentEvent("x", "1")]
    for i in range(1, 4):  # the BOM itself split across chunks
        assert decode([body[:i], body[i:]]) == [ServerSentEvent("x", "1")]


def test_id_persists_and_can_be_reset_and_seeded() -> None:
    body = b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: bad\0id\ndata: d\n\n"
    assert [e.id for e in decode([body])] == ["7", "7", "", ""]
    decoder = SSEDecoder(last_event_id="41")
    assert decoder.feed(b"data: x\n\n")[0].id == "41"
    assert decoder.last_event_id == "41"


def test_retry_takes_digits_only() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"retry: 1500\ndata: a\n\nretry: soon\ndata: b\n\n")
    assert [e.retry for e in events] == [1500, 1500]
    assert decoder.retry == 1500


def test_blocks_without_data_or_event_are_not_dispatched() -> None:
    body = b"id: 3\n\nretry: 10\n\n\n\nevent: end\n\n"
    events = decode([body])
    assert events == [ServerSentEvent("end", "", "3", 10)]  # an event line alone still counts


def test_an_unterminated_last_event_is_dropped() -> None:
    assert decode([b"data: complete\n\ndata: cut off"]) == [ServerSentEvent("message", "complete")]
    assert decode([b"data: complete\n\ndata: no blank line\n"]) == [
        ServerSentEvent("message", "complete")
    ]


def test_empty_chunks_are_harmless() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decode([b"", b"data: 1\r", b"", b"\n", b"", b"\r\n"]) == [
        ServerSentEvent("message", "1")
    ]


def test_many_events_in_one_chunk() -> None:
    body = b"".join(b"event: e\r\ndata: %d\r\nid: %d\r\n\r\n" % (i, i) for i in range(1000))
    events = decode([body])
    assert [e.data for e in events] == [str(i) for i in range(1000)]
    assert events[-1].id == "999"
