"""Client commands for the ``relaygraph`` CLI: stream a run, look at threads.

    relaygraph runs stream agent --input '{"topic": "ice cream"}' --mode updates,custom
    relaygraph threads list --status idle
    relaygraph threads get THREAD_ID
    relaygraph threads state THREAD_ID

``add_client_commands(subparsers)`` adds the ``runs`` and ``threads`` commands to an
``argparse`` sub-parser set; each leaf sets ``client_command`` (a ``(args) -> exit code``
callable) in its defaults, so the host CLI dispatches with
``sys.exit(args.client_command(args))``. ``main()`` runs them standalone
(``python -m relaygraph.client.cli``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO, cast

from relaygraph.client._client import DEFAULT_URL, SyncLangGraphClient, get_sync_client
from relaygraph.client._errors import APIConnectionError, APIStatusError
from relaygraph.client._stream import StreamPart

__all__ = ["add_client_commands", "format_part", "main"]

_EPILOG = f"""\
The server comes from --url, else $RELAYGRAPH_URL, else {DEFAULT_URL};
the key from --api-key, else $LANGGRAPH_API_KEY / $LANGSMITH_API_KEY."""


def _json_arg(text: str) -> Any:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc.msg}): {text!r}") from None


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "), default=str)


def format_part(part: StreamPart) -> list[str]:
    """The lines ``runs stream`` prints for one event (pure, so it is easy to test).

    ``updates`` get a line per node, ``messages`` show the token's text, ``values``/
    ``custom``/the rest their JSON; a subgraph's namespace follows the mode in brackets.
    """
    mode, *ns = part.event.split("|")
    label = f"{mode}[{'|'.join(ns)}]" if ns else mode
    data = part.data
    if mode == "updates" and isinstance(data, dict) and data:
        return [f"{label:<10} {node}: {_compact(update)}" for node, update in data.items()]
    if mode == "messages" and isinstance(data, list) and len(data) == 2:
        message, meta = data
        node = meta.get("langgraph_node", "?") if isinstance(meta, dict) else "?"
        text = message.get("content") if isinstance(message, dict) else message
        return [f"{label:<10} {node}: {text if isinstance(text, str) else _compact(text)}"]
    if mode == "error" and isinstance(data, dict):
        return [f"{label:<10} {data.get('error')}: {data.get('message')}"]
    return [f"{label:<10} {_compact(data)}"]


class _Printer:
    """Writes events as they come; LLM tokens of one message continue on one line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.open: tuple[str, Any] | None = None  # (event, message id) of a line in progress

    def write(self, part: StreamPart) -> None:
        mode, *_ns = part.event.split("|")
        data = part.data
        if mode == "messages" and isinstance(data, list) and len(data) == 2:
            message, meta = data
            if (
                isinstance(message, dict)
                and str(message.get("type", "")).endswith("Chunk")
                and isinstance(message.get("content"), str)
            ):
                key = (part.event, message.get("id"))
                if self.open != key:
                    self.close()
                    head = format_part(part._replace(data=[{**message, "content": ""}, meta]))
                    self.out.write(head[0])
                    self.open = key
                self.out.write(message["content"])
                self.out.flush()
                return
        self.close()
        self.out.write("\n".join(format_part(part)) + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.open is not None:
            self.out.write("\n")
            self.open = None


def _client(args: argparse.Namespace) -> SyncLangGraphClient:
    return get_sync_client(url=args.url, api_key=args.api_key or None, timeout=args.timeout)


def _guarded(
    run: Callable[[argparse.Namespace, TextIO], int],
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        try:
            return run(args, sys.stdout)
        except APIStatusError as exc:
            print(f"relaygraph: error: {exc}", file=sys.stderr)
        except APIConnectionError as exc:
            print(f"relaygraph: error: cannot reach {args.url}: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:  # e.g. piped into `head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return 1

    return command


def _runs_stream(args: argparse.Namespace, out: TextIO) -> int:
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    client = _client(args)
    printer = _Printer(out)
    failed = False
    try:
        parts = client.runs.stream(
            args.thread,
            args.assistant,
            input=args.input,
            command={"resume": args.resume} if args.resume is not None else None,
            stream_mode=cast(Any, modes[0] if len(modes) == 1 else modes),
            stream_subgraphs=args.subgraphs,
            stream_resumable=args.resumable,
            if_not_exists="create" if args.thread else None,
        )
        for part in parts:
            if args.json:
                line = json.dumps({"event": part.event, "data": part.data, "id": part.id})
                out.write(line + "\n")
                out.flush()
            else:
                printer.write(part)
            failed = failed or part.event == "error"
    finally:
        printer.close()
        client.close()
    return 1 if failed else 0


def _print_json(out: TextIO, data: Any) -> None:
    out.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _threads_list(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        threads = client.threads.search(
            metadata=args.metadata, status=args.status, limit=args.limit, offset=args.offset
        )
    if args.json:
        _print_json(out, threads)
        return 0
    out.write(f"{'THREAD ID':<38}{'STATUS':<13}{'UPDATED':<28}METADATA\n")
    for t in threads:
        out.write(
            f"{t.get('thread_id', ''):<38}{t.get('status', ''):<13}"
            f"{t.get('updated_at', ''):<28}{_compact(t.get('metadata') or {})}\n"
        )
    return 0


def _threads_get(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        _print_json(out, client.threads.get(args.thread_id))
    return 0


def _threads_state(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        state = client.threads.get_state(
            args.thread_id, checkpoint_id=args.checkpoint, subgraphs=args.subgraphs
        )
    _print_json(out, state)
    return 0


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("server")
    group.add_argument(
        "--url",
        default=os.environ.get("RELAYGRAPH_URL") or DEFAULT_URL,
        help="the API server (default: $RELAYGRAPH_URL or %(default)s)",
    )
    group.add_argument(
        "--api-key",
        default=os.environ.get("LANGGRAPH_API_KEY") or os.environ.get("LANGSMITH_API_KEY"),
        help="sent as x-api-key (default: $LANGGRAPH_API_KEY)",
    )
    group.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a response (300)"
    )
    return common


def add_client_commands(subparsers: Any) -> None:
    """Add ``runs`` and ``threads`` to ``subparsers`` (from ``add_subparsers()``)."""
    common = _connection_options()
    fmt = argparse.RawDescriptionHelpFormatter

    runs = subparsers.add_parser(
        "runs", help="start and stream runs on a server", description="Runs on a server."
    )
    runs_cmds = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    stream = runs_cmds.add_parser(
        "stream",
        parents=[common],
        help="start a run and print its events as they arrive",
        description=(
            "Start a run of ASSISTANT and print each event as it arrives.\n\n"
            '  relaygraph runs stream agent --input \'{"topic": "ice cream"}\'\n'
            "  relaygraph runs stream custom --input '{\"n\": 3}' --mode updates,custom\n"
            "  relaygraph runs stream hitl --thread T --resume '\"yes\"'   # answer an interrupt"
        ),
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    stream.add_argument("assistant", metavar="ASSISTANT", help="a graph name or an assistant id")
    stream.add_argument(
        "--input", type=_json_arg, help="the run's input as JSON, or @FILE holding JSON"
    )
    stream.add_argument(
        "--mode",
        default="updates",
        help="stream modes, comma-separated: values, updates, messages-tuple, custom, debug, "
        "tasks, checkpoints, events (default: updates)",
    )
    stream.add_argument(
        "--thread", metavar="ID", help="run on this thread (created if new); default: stateless"
    )
    stream.add_argument(
        "--resume", type=_json_arg, metavar="JSON", help="resume an interrupt with this value"
    )
    stream.add_argument("--subgraphs", action="store_true", help="include subgraph events")
    stream.add_argument(
        "--resumable", action="store_true", help="make the run rejoinable after a disconnect"
    )
    stream.add_argument("--json", action="store_true", help="print JSON lines, not text")
    stream.set_defaults(client_command=_guarded(_runs_stream))

    threads = subparsers.add_parser(
        "threads", help="list and inspect threads on a server", description="Threads on a server."
    )
    threads_cmds = threads.add_subparsers(dest="threads_command", metavar="COMMAND", required=True)
    listing = threads_cmds.add_parser(
        "list",
        parents=[common],
        help="list threads, newest first",
        description="List threads, newest first.",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    listing.add_argument("--status", choices=["idle", "busy", "interrupted", "error"])
    listing.add_argument("--metadata", type=_json_arg, help="match this metadata (JSON object)")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (20)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many (0)")
    listing.add_argument("--json", action="store_true", help="print the JSON objects")
    listing.set_defaults(client_command=_guarded(_threads_list))

    get = threads_cmds.add_parser(
        "get",
        parents=[common],
        help="print a thread",
        description="Print a thread as JSON.",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    get.add_argument("thread_id", metavar="THREAD_ID")
    get.set_defaults(client_command=_guarded(_threads_get))

    state = threads_cmds.add_parser(
        "state",
        parents=[common],
        help="print a thread's current state",
        description="Print a thread's state (values, next nodes, tasks, checkpoint) as JSON.",
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    state.add_argument("thread_id", metavar="THREAD_ID")
    state.add_argument("--checkpoint", metavar="ID", help="the state at this checkpoint")
    state.add_argument("--subgraphs", action="store_true", help="include subgraph states")
    state.set_defaults(client_command=_guarded(_threads_state))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the client commands on their own (``python -m relaygraph.client.cli``)."""
    parser = argparse.ArgumentParser(
        prog="relaygraph", description="Talk to a LangGraph API server."
    )
    add_client_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(argv)
    return int(args.client_command(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
