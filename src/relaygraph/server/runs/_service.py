"""Run lifecycle for the routes: create (with multitask strategies), cancel, outcome, delete.

Every run is created ``pending`` with its event log open, then the queue is rung; a worker
claims it when its thread is free. The routes only translate HTTP to these calls.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from relaygraph.server import _json
from relaygraph.server._errors import HTTPError, conflict, not_found
from relaygraph.server._graphs import GraphRegistry
from relaygraph.server._ids import assistant_id_for, now_iso, uuid7
from relaygraph.server._metrics import Metrics
from relaygraph.server._schema import OpenAPI
from relaygraph.server.bus import Bus, LocalBus, Signal
from relaygraph.server.runs._execute import RunExecutor
from relaygraph.server.runs._handles import CANCEL_MESSAGES
from relaygraph.server.runs._queue import RunQueue
from relaygraph.server.runs._stream import EventLog
from relaygraph.server.runs._webhooks import WebhookSender
from relaygraph.server.runs._worker import WorkerPool
from relaygraph.server.storage import Row, Storage, failed_attempts

__all__ = ["RunService"]

_BUSY = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."
_BOTH = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was "
    "introduced in LangGraph 0.6.0 and is the long term planned replacement for configurable."
)
_STRATEGIES = frozenset(("reject", "rollback", "interrupt", "enqueue"))
_KWARG_FIELDS = ("interrupt_before", "interrupt_after", "webhook", "feedback_keys")


def _modes(value: Any) -> list[str]:
    if value is None:
        return ["values"]
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(items)) or ["values"]


def _check_webhook(url: Any) -> None:
    if not isinstance(url, str):
        return
    host = urlparse(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        raise HTTPError(422, "Webhook host blocked: loopback IP range")


class RunService:
    """Creates, cancels and reports on runs; owns the worker pool."""

    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        openapi: OpenAPI,
        log: EventLog,
        saver: Any,
        metrics: Metrics,
        n_jobs: int,
        *,
        bus: Bus | None = None,
        lease_s: float = 15.0,
        max_attempts: int = 3,
    ) -> None:
        self.storage = storage
        self.graphs = graphs
        self.openapi = openapi
        self.log = log
        self.saver = saver
        self.metrics = metrics
        self.bus: Bus = bus if bus is not None else LocalBus()
        self.queue = RunQueue(n_jobs)
        executor = RunExecutor(
            storage, graphs, log, saver, metrics, after_run=self._after_run, bus=self.bus
        )
        self.executor = executor
        self.pool = WorkerPool(
            n_jobs,
            storage,
            self.queue,
            executor,
            metrics,
            self.bus,
            lease_s=lease_s,
            max_attempts=max_attempts,
            on_failed=self._worker_lost,
        )
        executor.worker_id = log.owner = self.pool.worker_id
        log.on_lost = lambda run_id: self.pool.cancel_local(run_id, "lost", via="storage")
        self.webhooks = WebhookSender(storage)

    # == lifecycle =======================================================================
    async def start(self) -> None:
        """Listen to the bus and start the workers. When this process owns its storage,
        runs a previous process left running are re-queued at once (they resume from
        their last checkpoint); with shared storage the reapers find them when their
        lease ends."""
        await self.bus.start(self._on_signal)
        if self.storage.single_instance:
            await self.pool.reap(float("inf"))
        self.pool.start()

    async def stop(self, *, grace_s: float = 0.0, handoff: bool = False) -> None:
        """Stop claiming, then drain for ``grace_s`` and hand back (or interrupt) the rest."""
        await self.pool.stop(grace_s=grace_s, handoff=handoff)
        await self.bus.close()
        await self.webhooks.close()

    def _on_signal(self, signal: Signal) -> None:
        if signal.kind == "wake":
            self.queue.notify()
        elif signal.kind == "events":
            self.log.poke(signal.run_id)
        elif signal.kind == "cancel":
            self.pool.cancel_local(signal.run_id, signal.action, via="bus")

    async def _worker_lost(self, run: Row) -> None:
        """A run failed because its workers kept dying: record it like a run error."""
        error = {
            "error": "WorkerLost",
            "message": f"the run's worker stopped {failed_attempts(run)} times; giving up",
        }
        run_id, thread_id = run["run_id"], run["thread_id"]
        seq = await self.storage.last_event_seq(run_id)
        await self.storage.append_events([(run_id, seq + 1, "error", _json.dumps(error))])
        await self.storage.update_thread(
            thread_id, {"status": "error", "error": error}, busy_if_inflight=True
        )
        self._ended(run_id)
        await self._after_run(run)

    def _ended(self, run_id: str) -> None:
        """Tell readers and idle workers, here and elsewhere, that ``run_id`` ended."""
        self.log.poke(run_id)
        self.bus.publish(Signal("events", run_id))
        self.queue.notify()
        self.bus.publish(Signal("wake"))

    async def _after_run(self, run: Row) -> None:
        """Once a run has ended: send its webhook, drop its temporary thread."""
        await self.webhooks.run_ended(run)
        kwargs = run["kwargs"]
        if kwargs.get("temporary") and kwargs.get("on_completion", "delete") == "delete":
            await self.storage.delete_thread(run["thread_id"])
            delete = getattr(self.saver, "adelete_thread", None)
            if delete is not None:
                await delete(run["thread_id"])

    # == assistants ======================================================================
    async def resolve_assistant(self, assistant_id: str) -> Row:
        """An assistant by UUID or a graph name (its default assistant)."""
        if assistant_id in self.graphs:
            assistant_id = assistant_id_for(assistant_id)
        else:
            try:
                assistant_id = str(uuid.UUID(assistant_id))
            except ValueError:
                graphs = ", ".join(self.graphs.ids)
                raise HTTPError(
                    422,
                    f"Invalid assistant: '{assistant_id}'. Must be either:\n- A valid assistant "
                    f"UUID, or\n- One of the registered graphs: {graphs}",
                ) from None
        row = await self.storage.get_assistant(assistant_id)
        if row is None or row["graph_id"] not in self.graphs:
            raise not_found("Thread or assistant not found.")
        return row

    # == creation ========================================================================
    async def create(self, thread_id: str | None, body: Any, *, stateless: bool) -> Row:
        """Validate ``body`` and create a pending run (a temporary thread when ``stateless``)."""
        self.openapi.validate(body, "RunCreateStateless" if stateless else "RunCreateStateful")
        _check_webhook(body.get("webhook"))
        assistant = await self.resolve_assistant(body["assistant_id"])
        graph_id = assistant["graph_id"]
        body_config = body.get("config") or {}
        if body_config.get("configurable") and body.get("context"):
            raise HTTPError(400, _BOTH)
        now, created = time.time(), now_iso()
        if stateless:
            thread_id = uuid7()
            await self.storage.create_thread(
                {
                    "thread_id": thread_id,
                    "created_at": created,
                    "metadata": {"graph_id": graph_id, "assistant_id": assistant["assistant_id"]},
                    "status": "busy",
                }
            )
        else:
            assert thread_id is not None
            metadata = await self.storage.thread_metadata(thread_id)
            if metadata is None:
                if body.get("if_not_exists") != "create":
                    raise not_found("Thread or assistant not found.")
                await self.storage.create_thread({"thread_id": thread_id, "created_at": created})
                metadata = await self.storage.thread_metadata(thread_id) or {}
            strategy = body.get("multitask_strategy") or "enqueue"
            if strategy != "enqueue":  # enqueue waits its turn: no need to look
                inflight = await self.storage.inflight_runs(thread_id)
                if inflight and strategy == "reject":
                    raise conflict(_BUSY)
                if inflight and strategy in ("interrupt", "rollback"):
                    for other in inflight:
                        await self.cancel_run(other, strategy)
            if metadata.get("graph_id") != graph_id or "assistant_id" not in metadata:
                merged = {
                    **metadata,
                    "graph_id": graph_id,
                    "assistant_id": assistant["assistant_id"],
                }
                await self.storage.update_thread(thread_id, {"metadata": merged})
        run = self._run_row(thread_id, body, assistant, stateless, created, now)
        await self.storage.create_run(run)
        self.metrics.runs_created += 1
        self.queue.notify()
        self.bus.publish(Signal("wake"))
        return run

    def _run_row(
        self, thread_id: str, body: Row, assistant: Row, stateless: bool, created: str, now: float
    ) -> Row:
        run_id = uuid7()
        graph_id, assistant_id = assistant["graph_id"], assistant["assistant_id"]
        metadata = {"created_by": "system", "graph_id": graph_id, "assistant_id": assistant_id}
        metadata.update(body.get("metadata") or {})
        a_config, b_config = assistant.get("config") or {}, body.get("config") or {}
        configurable = {
            **(a_config.get("configurable") or {}),
            **(b_config.get("configurable") or {}),
            "run_id": run_id,
            "thread_id": thread_id,
            "graph_id": graph_id,
            "assistant_id": assistant_id,
            "user_id": "",
            "langgraph_auth_user_id": "",
        }
        given = body.get("checkpoint")
        checkpoint = dict(given) if isinstance(given, dict) else {}
        if isinstance(body.get("checkpoint_id"), str) and body["checkpoint_id"]:
            checkpoint["checkpoint_id"] = body["checkpoint_id"]
        for key in ("checkpoint_id", "checkpoint_ns"):
            if checkpoint.get(key):
                configurable[key] = checkpoint[key]
        config = {**a_config, **b_config, "configurable": configurable}
        config["metadata"] = {
            **metadata,
            "run_attempt": 1,
            "thread_id": thread_id,
            "run_id": run_id,
        }
        config.setdefault("run_name", graph_id)
        context = {**(assistant.get("context") or {}), **(body.get("context") or {})}
        strategy = body.get("multitask_strategy")
        durability = body.get("durability")
        if durability is None and body.get("checkpoint_during") is False:
            durability = "exit"
        kwargs: Row = {
            "input": body.get("input"),
            "command": body.get("command"),
            "config": config,
            "context": context,
            "stream_mode": _modes(body.get("stream_mode")),
            **{k: body.get(k) for k in _KWARG_FIELDS},
            "temporary": stateless,
            "subgraphs": bool(body.get("stream_subgraphs", False)),
            "resumable": bool(body.get("stream_resumable", False)),
            "checkpoint_during": body.get("checkpoint_during", True),
            "durability": durability or "async",
            "on_completion": body.get("on_completion", "delete"),
        }
        return {
            "run_id": run_id,
            "thread_id": thread_id,
            "assistant_id": assistant_id,
            "metadata": metadata,
            "status": "pending",
            "kwargs": kwargs,
            "multitask_strategy": strategy
            if isinstance(strategy, str) and strategy in _STRATEGIES
            else "enqueue",
            "created_at": created,
            "updated_at": created,
            "run_at": now + float(body.get("after_seconds") or 0),
        }

    # == cancellation ====================================================================
    async def cancel_run(self, run: Row, action: str) -> None:
        """Cancel a pending or running run with ``action`` (``interrupt``/``rollback``) or
        ``disconnect``.

        The request is stored first (a pending run ends right there), so it reaches a run
        executing on another instance through that instance's heartbeat even if the bus
        message announcing it is lost."""
        run_id = run["run_id"]
        if self.pool.cancel_local(run_id, action):
            return
        where = await self.storage.request_cancel(run_id, action, time.time())
        if where == "running":
            if not self.pool.cancel_local(run_id, action):  # claimed here meanwhile?
                self.bus.publish(Signal("cancel", run_id, action))
            return
        if where is None:
            return
        name, message = CANCEL_MESSAGES.get(action, CANCEL_MESSAGES["interrupt"])
        thread_id = run["thread_id"]
        await self.storage.update_thread(
            thread_id,
            {"status": "idle", "error": {"error": name, "message": message}},
            busy_if_inflight=True,
        )
        self._ended(run_id)
        await self._after_run(run)

    async def cancel(self, thread_id: str | None, run_ids: Sequence[str], action: str) -> int:
        """Cancel each listed run that exists (on ``thread_id`` when given); how many."""
        found = 0
        for run_id in run_ids:
            run = await self.storage.get_run(run_id)
            if run is None or (thread_id is not None and run["thread_id"] != thread_id):
                continue
            found += 1
            if run["status"] in ("pending", "running"):
                await self.cancel_run(run, action)
        return found

    async def delete(self, thread_id: str, run_id: str) -> bool:
        run = await self.storage.get_run(run_id)
        if run is None or run["thread_id"] != thread_id:
            return False
        if run["status"] in ("pending", "running"):
            await self.cancel_run(run, "interrupt")
            await self.log.wait_ended(run_id)
        return await self.storage.delete_run(run_id)

    # == results =========================================================================
    async def outcome(self, run_id: str, thread_id: str | None = None, *, gone: Any = None) -> Any:
        """The run's final values (with ``__interrupt__``) or ``{"__error__": ...}``, once it
        has ended; ``gone`` (or a 404 error) when the run no longer exists then."""
        ended_here = await self.log.wait_ended(run_id)
        if ended_here is not None:
            return ended_here
        run = await self.storage.get_run(run_id)
        if run is None or (thread_id is not None and run["thread_id"] != thread_id):
            if gone is not None:
                return gone
            return {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}
        thread = await self.storage.get_thread(run["thread_id"])
        if thread is None:
            return {}
        if run["status"] == "error" and thread.get("error"):
            return {"__error__": thread["error"]}
        values = thread.get("values")
        out: Any = (
            dict(values) if isinstance(values, dict) else values if values is not None else {}
        )
        interrupts = [i for items in (thread.get("interrupts") or {}).values() for i in items]
        if interrupts and isinstance(out, dict):
            out["__interrupt__"] = interrupts
        return _json.plain(out)
