"""Executing one claimed run: stream the graph into the run's event log, then record the
outcome on the run and its thread.

The order at the end is fixed: the run's status becomes terminal, the thread is updated, and
only then is the log closed (which ends every stream on it), so a client that checks the run
after its stream closes always sees a terminal status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from relaygraph.runtime import RunControl
from relaygraph.server import _json
from relaygraph.server._graphs import GraphRegistry
from relaygraph.server._ids import now_iso
from relaygraph.server._metrics import Metrics
from relaygraph.server._resources import interrupts_json
from relaygraph.server.bus import Bus, LocalBus, Signal
from relaygraph.server.runs._handles import CANCEL_MESSAGES, LEAVE_REASONS, RunHandle
from relaygraph.server.runs._modes import WireEmitter, engine_modes
from relaygraph.server.runs._rollback import rollback_thread
from relaygraph.server.runs._stream import DETACHED, EventLog
from relaygraph.server.storage import Row, Storage

__all__ = ["RunExecutor", "to_command"]

logger = logging.getLogger("relaygraph.server.runs")


def to_command(command: dict[str, Any]) -> Any:
    """A wire ``command`` (``{resume?, update?, goto?}``) as the engine's ``Command``."""
    from relaygraph.types import Command, Send

    def target(goto: Any) -> Any:
        if isinstance(goto, dict) and "node" in goto:
            return Send(goto["node"], goto.get("input"))
        return goto

    goto = command.get("goto")
    if isinstance(goto, list):
        goto = [target(g) for g in goto]
    elif goto is not None:
        goto = target(goto)
    return Command(
        resume=command.get("resume"), update=command.get("update"), goto=goto if goto else ()
    )


def _cancelled(handle: RunHandle) -> tuple[str, Row]:
    reason = handle.cancel_reason or "interrupt"
    name, message = CANCEL_MESSAGES.get(reason, CANCEL_MESSAGES["interrupt"])
    return ("rollback" if reason == "rollback" else "interrupted"), {
        "error": name,
        "message": message,
    }


class RunExecutor:
    """Runs claimed runs against the loaded graphs."""

    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        log: EventLog,
        saver: Any,
        metrics: Metrics,
        after_run: Callable[[Row], Any] | None = None,
        bus: Bus | None = None,
        worker_id: str = "",
    ) -> None:
        self.storage = storage
        self.graphs = graphs
        self.log = log
        self.saver = saver
        self.metrics = metrics
        self.after_run = after_run
        self.bus: Bus = bus if bus is not None else LocalBus()
        self.worker_id = worker_id

    async def execute(self, run: Row, handle: RunHandle) -> None:
        """Execute ``run`` to its end (or cancellation); never raises.

        A later attempt (its earlier worker died) numbers its events on from the stored
        log and resumes the graph from the thread's last checkpoint if this run wrote it."""
        run_id = run["run_id"]
        attempt = int(run.get("attempt") or 1)
        start_seq = await self.storage.last_event_seq(run_id) if attempt > 1 else 0
        stream = self.log.open(run_id, start_seq)
        dumps = _json.dumps

        def publish(name: str, data: Any) -> None:
            stream.publish(name, dumps(data))

        publish("metadata", {"run_id": run_id, "attempt": attempt})
        self.metrics.runs_started += 1
        status, error = "success", None
        graph: Any = None
        final_state: dict[str, Any] | None = None
        try:
            graph = self.graphs.get(run["metadata"]["graph_id"])
            final_state = await self._stream(graph, run, publish, resume=await self._resumes(run))
        except asyncio.CancelledError:
            if handle.cancel_reason in LEAVE_REASONS:
                await self.leave(run, handle)
                return
            status, error = _cancelled(handle)
        except Exception as exc:
            status = "error"
            error = _json.error_body(exc)
            publish("error", error)
            logger.info("run failed", extra={"run_id": run_id, "error": error})
        await self.conclude(run, graph, status, error, handle, final_state)

    async def _resumes(self, run: Row) -> bool:
        """Whether a re-attempted run continues from a checkpoint it wrote before."""
        started_at = run.get("started_at")
        if int(run.get("attempt") or 1) < 2 or not started_at:
            return False
        config = {"configurable": {"thread_id": run["thread_id"], "checkpoint_ns": ""}}
        latest = await self.saver.aget_tuple(config)
        return latest is not None and str(latest.checkpoint.get("ts", "")) >= started_at

    async def leave(self, run: Row, handle: RunHandle) -> None:
        """Stop executing ``run`` here without ending it (see ``LEAVE_REASONS``)."""
        handle.finishing = True
        run_id = run["run_id"]
        if handle.cancel_reason == "handoff":
            await self.log.detach(run_id, keep=True)
            await self.storage.release_run(run_id, self.worker_id)
            self.bus.publish(Signal("wake"))
            logger.info("run handed back", extra={"run_id": run_id})
        else:  # lost: its new owner numbers on from the stored log; drop what is not stored
            await self.log.detach(run_id, keep=False)

    async def abandon(self, run: Row, handle: RunHandle) -> None:
        """Record a run cancelled before its execution began."""
        if handle.cancel_reason in LEAVE_REASONS:
            await self.leave(run, handle)
            return
        status, error = _cancelled(handle)
        graph = (
            self.graphs.get(run["metadata"]["graph_id"])
            if run["metadata"].get("graph_id") in self.graphs
            else None
        )
        await self.conclude(run, graph, status, error, handle)

    async def conclude(
        self,
        run: Row,
        graph: Any,
        status: str,
        error: Row | None,
        handle: RunHandle,
        final_state: dict[str, Any] | None = None,
    ) -> None:
        """Make the run terminal, update its thread, then end its event log.

        ``final_state`` is the state a run that went to its end left (``RunControl``); the
        thread's values are read back from the checkpointer when it is ``None``."""
        handle.finishing = True
        run_id = run["run_id"]
        outcome: Any = DETACHED
        try:
            await self.log.flush_run(run_id)  # the log is complete before the status
            outcome = await self._finish(run, graph, status, error, handle, final_state)
        except Exception:  # storage failed: the heartbeat hands the run back, it runs again
            logger.exception("finishing run failed", extra={"run_id": run_id})
        finally:
            if outcome is DETACHED:  # not recorded here: readers wait for the run elsewhere
                await self.log.detach(run_id, keep=False)
            else:
                await self.log.close(run_id, outcome)
                self.metrics.count_end(status)
        if outcome is not DETACHED and self.after_run is not None:
            await self.after_run(run)

    async def _stream(
        self, graph: Any, run: Row, publish: Callable[[str, Any], None], *, resume: bool
    ) -> dict[str, Any] | None:
        """Stream the run into its log; the state it left if it went to its end."""
        kwargs = run["kwargs"]
        wire_modes = kwargs.get("stream_mode") or ["values"]
        subgraphs = bool(kwargs.get("subgraphs"))
        emitter = WireEmitter(wire_modes, subgraphs, publish)
        feed = emitter.feed
        modes = engine_modes(wire_modes)
        command = kwargs.get("command")
        graph_input = to_command(command) if command else kwargs.get("input")
        if resume:
            graph_input = None
        options: dict[str, Any] = {
            "context": kwargs.get("context") or None,
            "interrupt_before": kwargs.get("interrupt_before"),
            "interrupt_after": kwargs.get("interrupt_after"),
            "durability": kwargs.get("durability"),
            "subgraphs": subgraphs,
        }
        config = kwargs["config"]
        if run.get("attempt", 1) > 1:
            config = {**config, "metadata": {**config["metadata"], "run_attempt": run["attempt"]}}
        if resume:  # go on from the checkpoint this run last wrote, not the one it forked from
            configurable = dict(config["configurable"])
            configurable.pop("checkpoint_id", None)
            config = {**config, "configurable": configurable}
        if "events" in wire_modes:
            await self._stream_events(graph, graph_input, config, modes, options, publish, feed)
            return None
        control = RunControl()
        if subgraphs:
            async for ns, mode, payload in graph.astream(
                graph_input, config, stream_mode=modes, control=control, **options
            ):
                feed(ns, mode, payload)
        else:
            async for mode, payload in graph.astream(
                graph_input, config, stream_mode=modes, control=control, **options
            ):
                feed((), mode, payload)
        return control.final_state

    async def _stream_events(
        self,
        graph: Any,
        graph_input: Any,
        config: Row,
        modes: list[str],
        options: dict[str, Any],
        publish: Callable[[str, Any], None],
        feed: Callable[[tuple[str, ...], str, Any], None],
    ) -> None:
        subgraphs = options["subgraphs"]
        events = graph.astream_events(
            graph_input, config, version="v2", stream_mode=modes or ["values"], **options
        )
        async for event in events:
            if event.get("event") == "on_chain_stream" and not event.get("parent_ids"):
                chunk = event["data"]["chunk"]
                if subgraphs:
                    feed(*chunk)
                else:
                    feed((), *chunk)
                continue
            publish("events", event)

    async def _finish(
        self,
        run: Row,
        graph: Any,
        status: str,
        error: Row | None,
        handle: RunHandle,
        final_state: dict[str, Any] | None,
    ) -> Any:
        run_id, thread_id = run["run_id"], run["thread_id"]
        if status == "rollback" and graph is not None:
            await rollback_thread(self.saver, thread_id, handle.started_at)
        stamp = now_iso()
        thread: Row = {"updated_at": stamp, "state_updated_at": stamp, "error": error}
        values: Any = None
        interrupts: list[Any] = []
        if final_state is not None and status == "success":  # nothing left to run
            values = _json.plain(final_state)
            thread.update(values=values, interrupts={}, status="idle")
        elif graph is not None:
            try:
                snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
            except Exception:  # a broken checkpoint leaves the thread's values as they were
                snapshot = None
            if snapshot is not None:
                values = _json.plain(snapshot.values) if snapshot.metadata is not None else None
                by_task = {
                    t.id: interrupts_json(t.interrupts) for t in snapshot.tasks if t.interrupts
                }
                interrupts = [i for items in by_task.values() for i in items]
                thread.update(values=values, interrupts=by_task)
                if status in ("success", "error"):
                    next_nodes = bool(snapshot.next)
                    thread["status"] = (
                        "error" if status == "error" else "interrupted" if next_nodes else "idle"
                    )
        if status == "interrupted":
            thread["status"] = "interrupted"
        elif status == "rollback":
            thread["status"] = "idle"
        thread.setdefault("status", "error" if status == "error" else "idle")
        if status == "rollback":
            await self.storage.delete_run(run_id)
            await self.storage.update_thread(thread_id, thread, busy_if_inflight=True)
        elif not await self.storage.finish_run(
            run_id, status, time.time(), {"thread_id": thread_id, **thread}, owner=self.worker_id
        ):
            logger.warning(
                "run lease lost before its outcome was recorded", extra={"run_id": run_id}
            )
            return DETACHED
        if status == "error":
            return {"__error__": error}
        out = dict(values) if isinstance(values, dict) else {} if values is None else values
        if interrupts and isinstance(out, dict):
            out["__interrupt__"] = interrupts
        return out
