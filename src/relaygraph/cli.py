"""``relaygraph``: serve the graphs of a ``langgraph.json`` over the LangGraph Platform API,
and talk to such a server from the terminal.

relaygraph dev                 # 127.0.0.1:2024, SQLite in ./.relaygraph/
relaygraph serve --port 8000   # the same server, configured by flags or RELAYGRAPH_* env
relaygraph runs stream agent --input '{"topic": "cats"}' --mode updates,custom
relaygraph threads list|get|state
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_EPILOG = """\
Every flag also reads an environment variable (RELAYGRAPH_<FLAG>, e.g. RELAYGRAPH_API_KEY,
RELAYGRAPH_PORT, RELAYGRAPH_DATA_DIR, RELAYGRAPH_N_JOBS); a flag wins over the variable.
The official SDKs work unchanged:  get_client(url="http://127.0.0.1:2024")"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relaygraph",
        description="Serve relaygraph graphs over the LangGraph Platform wire protocol, "
        "or drive such a server from the terminal.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, host, port, text in (
        ("dev", "127.0.0.1", 2024, "run a local development server (127.0.0.1:2024)"),
        ("serve", "0.0.0.0", 8000, "run the server for deployment (0.0.0.0:8000)"),
    ):
        sub = commands.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Graphs come from langgraph.json.",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--config", type=Path, help="path to langgraph.json (default: ./langgraph.json)"
        )
        sub.add_argument("--host", help=f"interface to bind (default: {host})")
        sub.add_argument("--port", type=int, help=f"port to bind (default: {port})")
        sub.add_argument(
            "--data-dir", type=Path, help="where the SQLite databases live (default: ./.relaygraph)"
        )
        sub.add_argument(
            "--api-key", help="require this key in the x-api-key header (all routes but /ok)"
        )
        sub.add_argument("--n-jobs", type=int, help="runs executed at once (default: 10)")
        sub.add_argument(
            "--event-retention",
            type=float,
            metavar="SECONDS",
            help="keep finished runs' event logs joinable this long (default: 86400)",
        )
        sub.add_argument(
            "--log-level", choices=["debug", "info", "warning", "error"], help="default: info"
        )
        sub.add_argument("--no-access-log", action="store_true", help="do not log each request")
        scale = sub.add_argument_group(
            "scale-out", "run several instances over one PostgreSQL database (and Redis)"
        )
        scale.add_argument(
            "--database-url",
            metavar="URL",
            help="postgresql://... for assistants, threads, runs, event logs and checkpoints "
            "(default: SQLite in --data-dir)",
        )
        scale.add_argument(
            "--redis-url",
            metavar="URL",
            help="redis://... for wake-ups, live events and cancels between instances "
            "(default: PostgreSQL LISTEN/NOTIFY)",
        )
        scale.add_argument(
            "--run-lease",
            type=float,
            metavar="SECONDS",
            help="a run whose worker is silent this long is retried elsewhere (default: 15)",
        )
        scale.add_argument(
            "--shutdown-grace",
            type=float,
            metavar="SECONDS",
            help="on shutdown, let running runs finish this long first (default: 0)",
        )
        scale.add_argument(
            "--on-shutdown",
            choices=["auto", "handoff", "interrupt"],
            help="what happens to runs still running at shutdown: hand them back to the "
            "queue, or interrupt them (default: handoff with --database-url, else interrupt)",
        )
        sub.set_defaults(default_host=host, default_port=port)
    from relaygraph.client.cli import add_client_commands

    add_client_commands(commands)
    return parser


def _server_class() -> type:
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, but on shutdown runs are stopped first, so open streams end cleanly
        (each run's stream closes with its final status) instead of being cut at the
        graceful-shutdown timeout."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
            if ctx is not None and not self.should_exit:
                try:
                    loop = asyncio.get_event_loop()
                    stop = ctx.runs.stop(
                        grace_s=ctx.settings.shutdown_grace_s,
                        handoff=ctx.settings.handoff_on_shutdown,
                    )
                    loop.call_soon_threadsafe(lambda: asyncio.ensure_future(stop))
                except RuntimeError:
                    pass
            super().handle_exit(sig, frame)

    return Server


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``relaygraph`` command."""
    args = _parser().parse_args(argv)
    client_command = getattr(args, "client_command", None)
    if client_command is not None:
        return int(client_command(args))
    from relaygraph.server import GraphLoadError, ServerSettings, create_app
    from relaygraph.server._logging import log_config

    env = dict(os.environ)
    env.setdefault("RELAYGRAPH_HOST", args.default_host)
    env.setdefault("RELAYGRAPH_PORT", str(args.default_port))
    settings = ServerSettings.from_env(
        env,
        config=args.config,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        api_key=args.api_key,
        n_jobs=args.n_jobs,
        event_retention_s=args.event_retention,
        log_level=args.log_level,
        access_log=False if args.no_access_log else None,
        database_url=args.database_url,
        redis_url=args.redis_url,
        run_lease_s=args.run_lease,
        shutdown_grace_s=args.shutdown_grace,
        on_shutdown=args.on_shutdown,
    )
    try:
        app = create_app(settings)
    except GraphLoadError as exc:
        print(f"relaygraph: error: {exc}", file=sys.stderr)
        return 1
    import uvicorn

    server_class = _server_class()
    print(
        f"relaygraph {args.command}: serving {settings.config} at http://{settings.host}:{settings.port}"
        f" (docs: /docs)",
        file=sys.stderr,
        flush=True,
    )
    server = server_class(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=log_config(settings.log_level),
            access_log=settings.access_log,
            timeout_graceful_shutdown=5,
            # longer than clients keep idle connections (httpx: 5 s), so a client never
            # sends a request on a connection the server is closing at that moment
            timeout_keep_alive=75,
        )
    )
    server.run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
