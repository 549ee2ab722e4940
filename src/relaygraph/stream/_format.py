"""Stream arguments in, yielded items out: mode parsing and the v1/v2 item shapes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from relaygraph.constants import INTERRUPT
from relaygraph.errors import InvalidStreamArgumentError

STREAM_MODES = ("values", "updates", "checkpoints", "tasks", "debug", "messages", "custom")
EXTRA_MODES = ("tools",)
VALID_MODES = frozenset(STREAM_MODES + EXTRA_MODES)

Item = tuple[tuple[str, ...], str, Any]


def parse_modes(stream_mode: Any, default: str) -> tuple[list[str], bool]:
    """``(modes, tagged)``: the requested modes, deduplicated, and whether items carry them.

    Only a ``list`` tags items with their mode (a tuple streams several modes untagged, as
    the reference does). Unknown modes raise ``InvalidStreamArgumentError``.
    """
    if stream_mode is None:
        stream_mode = default
    if isinstance(stream_mode, str):
        modes, tagged = [stream_mode], False
    elif isinstance(stream_mode, (list, tuple)):
        modes, tagged = list(stream_mode), isinstance(stream_mode, list)
    else:
        raise InvalidStreamArgumentError(
            f"stream_mode must be a string or a list of strings, got {type(stream_mode).__name__}"
        )
    seen: list[str] = []
    for m in modes:
        if not isinstance(m, str) or m not in VALID_MODES:
            raise InvalidStreamArgumentError(
                f"Unknown stream mode {m!r}; expected one of {', '.join(STREAM_MODES)}"
            )
        if m not in seen:
            seen.append(m)
    return seen, tagged


def formatter(
    tagged: bool, subgraphs: bool, version: str, to_state: Callable[[Any], Any] | None
) -> Callable[[tuple[str, ...], str, Any], Any]:
    """The function that shapes each ``(ns, mode, payload)`` event into a yielded item."""
    if version == "v2":

        def v2(ns: tuple[str, ...], mode: str, payload: Any) -> Any:
            if mode == "values":
                interrupts: tuple[Any, ...] = ()
                if isinstance(payload, dict) and INTERRUPT in payload:
                    payload = dict(payload)
                    interrupts = tuple(payload.pop(INTERRUPT))
                if to_state is not None and not ns:
                    payload = to_state(payload)
                return {"type": mode, "ns": ns, "data": payload, "interrupts": interrupts}
            return {"type": mode, "ns": ns, "data": payload}

        return v2
    if tagged and subgraphs:
        return lambda ns, mode, payload: (ns, mode, payload)
    if tagged:
        return lambda ns, mode, payload: (mode, payload)
    if subgraphs:
        return lambda ns, mode, payload: (ns, payload)
    return lambda ns, mode, payload: payload


def print_item(ns: tuple[str, ...], mode: str, payload: Any) -> None:
    """``print_mode`` output: ``[mode] payload`` in bold, with the graph namespace if any."""
    graph = f" \x1b[1;30;33m[graph={ns!r}]\x1b[0m" if ns else ""
    print(f"\x1b[1m[{mode}]\x1b[0m{graph} {payload!r}")


def check_version(version: Any) -> str:
    if version not in ("v1", "v2"):
        raise InvalidStreamArgumentError(f"version must be 'v1' or 'v2', got {version!r}")
    return str(version)


def normalize_names(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)
