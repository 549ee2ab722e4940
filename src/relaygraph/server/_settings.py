"""Server settings: one frozen record, read from flags or ``RELAYGRAPH_*`` environment variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ServerSettings"]


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """What one server process runs with.

    ``config`` is the ``langgraph.json`` path; ``data_dir`` holds the SQLite databases
    (``server.sqlite`` for assistants/threads/runs/events, ``checkpoints.sqlite``);
    ``n_jobs`` bounds the runs executing at once; ``event_retention_s`` is how long a
    finished run's event log stays joinable.

    Scale-out: ``database_url`` (``postgresql://...``) puts everything durable in PostgreSQL
    so several instances can share it; ``redis_url`` carries their wake-ups, live event
    signals and cancels (LISTEN/NOTIFY is used without it) on ``bus_channel``. A claimed
    run holds a ``run_lease_s`` lease; a run whose worker died is retried from its last
    checkpoint up to ``max_attempts`` times. On shutdown, runs get ``shutdown_grace_s`` to
    finish, then are handed back to the queue (``on_shutdown="handoff"``, the default with
    shared storage) or interrupted (``"interrupt"``, the default with SQLite).
    """

    config: Path = Path("langgraph.json")
    data_dir: Path = Path(".relaygraph")
    host: str = "127.0.0.1"
    port: int = 2024
    api_key: str | None = None
    n_jobs: int = 10
    event_retention_s: float = 24 * 3600.0
    heartbeat_s: float = 5.0
    max_body_bytes: int = 10 * 1024 * 1024
    subscriber_buffer: int = 1024
    log_level: str = "info"
    access_log: bool = True
    api_url: str = ""
    database_url: str | None = None
    redis_url: str | None = None
    bus_channel: str = "relaygraph"
    run_lease_s: float = 15.0
    max_attempts: int = 3
    shutdown_grace_s: float = 0.0
    on_shutdown: str = "auto"

    @property
    def shared_storage(self) -> bool:
        """Whether the storage is a shared PostgreSQL database."""
        return bool(self.database_url)

    @property
    def handoff_on_shutdown(self) -> bool:
        if self.on_shutdown == "auto":
            return self.shared_storage
        return self.on_shutdown == "handoff"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Settings from ``RELAYGRAPH_*`` variables, then ``overrides`` (``None`` values skipped)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"RELAYGRAPH_{field.name.upper()}")
            if raw is None:
                continue
            kind: type = type(field.default)
            if kind is bool:
                values[field.name] = raw.lower() in ("1", "true", "yes", "on")
            elif field.name in ("config", "data_dir"):
                values[field.name] = Path(raw)
            elif kind in (int, float):
                values[field.name] = kind(raw)
            else:
                values[field.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
