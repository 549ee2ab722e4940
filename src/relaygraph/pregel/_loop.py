"""``RunLoop``: one run of one graph, written once as a generator of I/O requests.

``RunLoop.steps()`` holds the whole algorithm — load, apply input, plan, run, apply writes,
checkpoint, emit — and yields an op whenever it needs I/O: ``(LOAD,)``, ``(PUT, ...)``,
``(RUN, tasks)``. The sync and async drivers in ``_drivers.py`` answer those ops; they are
the only code that differs between ``stream()`` and ``astream()``.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relaygraph.constants import END, ERROR, INTERRUPT, MISSING, RESUME, START, TASKS
from relaygraph.errors import (
    EmptyInputError,
    ErrorCode,
    GraphBubbleUp,
    GraphDrained,
    GraphInterrupt,
    GraphRecursionError,
    InvalidUpdateError,
    ParentCommand,
    create_error_message,
)
from relaygraph.graph._state import update_as_items
from relaygraph.pregel import _hooks
from relaygraph.pregel._algo import (
    Task,
    apply_writes,
    new_channels,
    prepare_tasks,
    read_state,
    task_id,
)
from relaygraph.stream import _payloads as payloads
from relaygraph.stream._emit import Emitter
from relaygraph.types import Command, Interrupt, Send

if TYPE_CHECKING:
    from relaygraph.pregel.main import Pregel

from relaygraph.pregel._checkpointing import Checkpointing
from relaygraph.pregel._ops import CALL, LOAD, PUT, PUT_WRITES, RUN, SERVICE, SLEEP, Op

__all__ = ["CALL", "LOAD", "PUT", "PUT_WRITES", "RUN", "SERVICE", "SLEEP", "Op", "RunLoop"]


class RunLoop(Checkpointing):
    """State of one graph run; ``steps()`` is the algorithm, drivers perform its I/O."""

    def __init__(
        self,
        graph: Pregel,
        input: Any,
        *,
        config: dict[str, Any],
        emitter: Emitter,
        checkpointer: Any,
        durability: str,
        recursion_limit: int,
        interrupt_before: Sequence[str],
        interrupt_after: Sequence[str],
        output_keys: str | Sequence[str] | None,
        context: Any,
        store: Any,
        cache: Any,
        ns: tuple[str, ...],
        parent: Any = None,
        control: Any = None,
    ) -> None:
        self.graph = graph
        self.control = control
        if control is not None and parent is None:
            control.final_state = None  # set again only if this run goes to its end
        self.input = input
        self.config = config
        self.emitter = emitter
        self.checkpointer = checkpointer
        self.durability = durability
        self.recursion_limit = recursion_limit
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.context = context
        self.store = store
        self.cache = cache
        self.ns = ns
        self.parent = parent
        conf = config.get("configurable") or {}
        self.thread_id = conf.get("thread_id")
        self.checkpoint_ns = "|".join(ns)
        self.state_keys: tuple[str, ...] = graph.state_keys
        self.state_key_set = frozenset(self.state_keys)
        if output_keys is None:
            self.out_keys: tuple[str, ...] = self.state_keys
            self.out_single: str | None = None
        elif isinstance(output_keys, str):
            self.out_keys, self.out_single = (output_keys,), output_keys
        else:
            self.out_keys, self.out_single = tuple(output_keys), None
        self.out_key_set = frozenset(self.out_keys)
        modes = emitter.modes
        self.want_values = "values" in modes
        self.want_updates = "updates" in modes
        self.want_tasks = "tasks" in modes
        self.want_debug = "debug" in modes
        self.want_checkpoints = "checkpoints" in modes and checkpointer is not None
        self.want_messages = "messages" in modes
        self.want_tools = "tools" in modes
        self.checkpoint_events = checkpointer is not None and (
            self.want_checkpoints or self.want_debug
        )
        self.custom_writer = emitter.writer("custom")
        self.channels: dict[str, Any] = {}
        self.live_ephemeral: set[str] = set()
        self.step = -1
        self.checkpoint_id: str | None = None
        self.checkpoint_config: dict[str, Any] | None = None
        self.parent_checkpoint_config: dict[str, Any] | None = None
        self.versions: dict[str, int] = {}
        self.saved_writes: dict[str, list[tuple[str, Any]]] = {}
        self.resume_map: dict[str, Any] = {}
        self.resume_any: Any = MISSING
        self.finished: list[Task] = []
        self.interrupts: list[Interrupt] = []
        self.status = "pending"
        self.seed = f"{random.getrandbits(64):016x}"
        self.messages_seen: set[str] = set()
        self.user_meta_cache: dict[str, Any] | None = None
        self.last_nodes: list[str] = [START]
        self.n_failed = 0
        self.n_interrupted = 0
        self.resuming = False
        self._snapshot: dict[str, Any] | None = None
        self.background_writer: Any = None
        self.backpressure: tuple[Any, Any] | None = None
        self.updated: set[str] = set()
        self.tracer: Any = _hooks.new_tracer(self)

    # == the algorithm ====================================================================
    def steps(self) -> Generator[Op, Any, None]:
        """The run's ops (inside the graph's callback run when the config has callbacks)."""
        if self.tracer is None:
            return self._steps()
        return _hooks.traced_steps(self, self._steps())

    def _steps(self) -> Generator[Op, Any, None]:
        saved = (yield (LOAD,)) if self.checkpointer is not None else None
        self._restore(saved)
        if saved is not None and self.parent is None and self._asks_for_checkpoint():
            latest = yield (
                LOAD,
                {"configurable": {**self.load_config()["configurable"], "checkpoint_id": None}},
            )
            if latest is not None and latest.checkpoint["id"] != saved.checkpoint["id"]:
                # time travel: replay from an older checkpoint runs its tasks again
                self.saved_writes = {}
                self.resume_map = {
                    k: v for k, v in self.resume_map.items() if not k.startswith("task:")
                }
        inp = self.input
        resuming = inp is None or (isinstance(inp, Command) and inp.resume is not None)
        if self.parent is not None and saved is not None and self.root.resuming:
            inp, resuming = None, True
        self.resuming = resuming
        if resuming:
            if saved is None:
                if inp is None:
                    raise EmptyInputError("Received no input for __start__")
                raise EmptyInputError("Cannot resume: this thread has no checkpoint")
            if isinstance(inp, Command):
                self._check_resume_target(inp.resume, saved)
                self.root._set_resume(inp.resume)
                self._apply_resume_command(inp)
            if self.want_values:
                self.emitter.emit("values", self._values_chunk())
            next_tasks = self._plan()
            if self.checkpoint_events:
                self._emit_checkpoint(saved.metadata, next_tasks, saved.parent_config, saved)
        else:
            next_tasks = yield from self._apply_input(inp, saved)
        start_step = self.step
        skip_before = resuming
        limit = self.recursion_limit
        while True:
            if self.step >= start_step + limit:
                raise GraphRecursionError(
                    create_error_message(
                        message=f"Recursion limit of {limit} reached without hitting a stop "
                        "condition. You can increase the limit by setting the "
                        "`recursion_limit` config key.",
                        error_code=ErrorCode.GRAPH_RECURSION_LIMIT,
                    )
                )
            if not next_tasks:
                break
            tasks = next_tasks
            if not skip_before and self._breakpoint(tasks, self.interrupt_before):
                self._static_interrupt()
                return
            skip_before = False
            run_step = self.step + 1
            to_run: list[Task] = tasks
            if self.saved_writes:
                to_run = []
                for t in tasks:
                    saved_writes = self.saved_writes.get(t.id)
                    if saved_writes is not None:
                        t.writes = saved_writes
                    else:
                        to_run.append(t)
            self.finished = []
            self.n_failed = self.n_interrupted = 0
            if to_run:
                if self.want_tasks or self.want_debug:
                    for t in to_run:
                        start = payloads.task_start(t, self._user_meta(t))
                        if self.want_tasks:
                            self.emitter.emit("tasks", start)
                        if self.want_debug:
                            self.emitter.emit("debug", payloads.debug(run_step, "task", start))
                yield (RUN, to_run, run_step)
            if self.n_failed:
                self.status = "error"
                raise next(t.error for t in self.finished if t.error is not None)  # type: ignore[misc]
            if self.n_interrupted:
                done = [t for t in tasks if not t.interrupts and t.error is None]
                if done:  # the state shown with the interrupt includes finished siblings
                    apply_writes(self.channels, sorted(done, key=_task_order), set())
                self._interrupted([t for t in tasks if t.interrupts])
                return
            if len(tasks) > 1:
                tasks = sorted(tasks, key=_task_order)
            updated = apply_writes(self.channels, tasks, self.live_ephemeral)
            self.step = run_step
            if self.checkpointer is not None:
                self.last_nodes = sorted({t.name for t in tasks})
                versions = self.versions
                for ch in updated:
                    versions[ch] = versions.get(ch, 0) + 1
            if self.saved_writes:
                self.saved_writes = {}
            if self.want_values and not updated.isdisjoint(self.out_key_set):
                self.emitter.emit("values", self._values_chunk())
            self.updated = updated
            next_tasks = yield from self._checkpoint("loop", updated)
            if self._breakpoint(tasks, self.interrupt_after):
                self._static_interrupt()
                return
            control = self.control
            if control is not None and control.drain_reason is not None and next_tasks:
                self.status = "drained"
                raise GraphDrained(f"Graph drained: {control.drain_reason}")
        self.status = "done"
        # only a run that wrote a checkpoint leaves its state as the thread's newest: one
        # started from an older checkpoint with nothing to run leaves the thread as it was
        wrote = self.checkpointer is None or self.last_checkpoint is not None
        if self.control is not None and self.parent is None and wrote:
            self.control.final_state = self._stored_state()

    def _apply_input(self, inp: Any, saved: Any) -> Generator[Op, Any, list[Task]]:
        """The input step: checkpoint ``input``, apply writes as the ``__start__`` task."""
        self.step = (saved.metadata.get("step", -1) + 1) if saved else -1
        start_task = Task(
            task_id(
                self.checkpoint_id or self.seed, self.checkpoint_ns, self.step, START, (START,)
            ),
            START,
            ("__pregel_pull", START),
            inp,
            (START,),
            None,  # type: ignore[arg-type]
            START,
        )
        if self.checkpointer is not None:
            yield from self._put("input", set(), [start_task])
        writes = self._input_writes(inp)
        start_task.writes = writes
        updated = apply_writes(self.channels, [start_task], self.live_ephemeral)
        self.step += 1
        for ch in updated:
            self.versions[ch] = self.versions.get(ch, 0) + 1
        if self.want_values and not updated.isdisjoint(self.out_key_set):
            self.emitter.emit("values", self._values_chunk())
        self.updated = updated
        return (yield from self._checkpoint("loop", updated))

    def _input_writes(self, inp: Any) -> list[tuple[str, Any]]:
        g = self.graph
        writes: list[tuple[str, Any]] = []
        if isinstance(inp, Command):
            items = update_as_items(inp.update) if inp.update is not None else []
            writes.extend((k, v) for k, v in items if k in self.state_key_set)
            writes.extend(self._goto_writes(inp.goto))
            if not inp.goto:
                writes.extend(g.start_writes)
            return writes
        if isinstance(inp, Mapping):
            items = list(inp.items())
        else:
            try:
                items = update_as_items(inp)
            except InvalidUpdateError:
                raise InvalidUpdateError(
                    f"Expected the graph input to be a dict (or {g.input_info.schema!r} "
                    f"instance), got {type(inp).__name__}: {inp!r}"
                ) from None
        input_keys = set(g.input_info.keys) if g.input_info.keys else self.state_key_set
        writes.extend((k, v) for k, v in items if k in input_keys and k in self.state_key_set)
        writes.extend(g.start_writes)
        if g.start_branches:
            view = self._fresh_state(writes)
            for branch in g.start_branches:
                result = branch.path(g.state_info.build(view))
                writes.extend(self._branch_writes(branch, result))
        return writes

    def _plan(self) -> list[Task]:
        return prepare_tasks(
            channels=self.channels,
            updated=self.updated,
            nodes=self.graph.nodes,
            trigger_index=self.graph.trigger_index,
            step=self.step + 1,
            seed=self.checkpoint_id or self.seed,
            checkpoint_ns=self.checkpoint_ns,
        )

    # == per-run services =================================================================
    @property
    def runtime(self) -> Any:
        rt = self.__dict__.get("_runtime")
        if rt is None:
            from relaygraph.runtime import Runtime

            rt = Runtime(context=self.context, store=self.store, stream_writer=self.custom_writer)
            self.__dict__["_runtime"] = rt
        return rt

    def langchain_config_var(self) -> Any:
        """LangChain's config context variable, when nodes' LangChain calls need the config.

        Never imports LangChain. Set when LangChain is loaded and the config carries anything
        a LangChain call inside a node would use: callbacks, tags, metadata, configurable
        values beyond the engine's, a stream mode fed by callbacks, or tracing from the
        environment. Otherwise a plain run skips building per-task configs.
        """
        var = self.__dict__.get("_lc_var", MISSING)
        if var is MISSING:
            mod = sys.modules.get("langchain_core.runnables.config")
            var = getattr(mod, "var_child_runnable_config", None) if mod else None
            if var is not None and not self._langchain_needs_config():
                var = None
            self.__dict__["_lc_var"] = var
        return var

    def _langchain_needs_config(self) -> bool:
        config = self.config
        if self.want_messages or self.want_tools or self.tracer is not None:
            return True
        if config.get("callbacks") or config.get("tags") or config.get("metadata"):
            return True
        if config.get("run_name") or config.get("max_concurrency"):
            return True
        engine_keys = {"thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map"}
        if set(config.get("configurable") or ()) - engine_keys:
            return True
        env = os.environ
        return any(
            env.get(k, "").lower() == "true"
            for k in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")
        )

    def _asks_for_checkpoint(self) -> bool:
        return bool((self.config.get("configurable") or {}).get("checkpoint_id"))

    def state_config(self) -> dict[str, Any]:
        """The saver address of the state this loop reads (keeps a given checkpoint_id)."""
        conf = dict(self.config.get("configurable") or {})
        conf.setdefault("checkpoint_ns", self.checkpoint_ns)
        return {"configurable": conf}

    def load_config(self) -> dict[str, Any]:
        conf = dict(self.config.get("configurable") or {})
        conf["checkpoint_ns"] = self.checkpoint_ns
        if self.ns:
            conf.pop("checkpoint_id", None)
        return {"configurable": conf}

    def config_of(self, task: Task) -> dict[str, Any]:
        """The task's config, built on first use."""
        config = task.config
        if config is None:
            config = task.config = self.task_config(task)
        return config

    def task_config(self, task: Task) -> dict[str, Any]:
        """The config a node sees: the run's, plus the engine's metadata for this task."""
        base = self.config
        meta = base.get("metadata")
        metadata: dict[str, Any] = dict(meta) if meta else {}
        if self.thread_id is not None:
            metadata.setdefault("thread_id", self.thread_id)
        metadata["langgraph_step"] = self.step + 1
        metadata["langgraph_node"] = task.name
        metadata["langgraph_triggers"] = task.triggers
        metadata["langgraph_path"] = task.path
        metadata["langgraph_checkpoint_ns"] = task.checkpoint_ns
        if task.node is not None and task.node.metadata:
            metadata.update(task.node.metadata)
        if self.ns:  # as LangChain records it in the root task's child runs: the outer element
            metadata.setdefault("checkpoint_ns", self.ns[0])
        conf = dict(base.get("configurable") or {})
        conf["checkpoint_ns"] = task.checkpoint_ns
        conf.pop("checkpoint_id", None)
        config = dict(base)
        config["metadata"] = metadata
        config["configurable"] = conf
        if self.want_messages or self.want_tools:
            from relaygraph.stream._messages import attach_messages_handler

            attach_messages_handler(self, task, config)
        return config

    # == restore / resume =================================================================
    def _restore(self, saved: Any) -> None:
        g = self.graph
        self._snapshot = None
        if saved is None:
            self.channels = new_channels(g.channels)
            self.updated = set()
            return
        cp = saved.checkpoint
        self.channels = new_channels(g.channels, cp.get("channel_values"))
        self.versions = dict(cp.get("channel_versions") or {})
        self.updated = set(cp.get("updated_channels") or ())
        self.live_ephemeral = {k for k in self.updated if k.startswith("branch:")}
        self.step = saved.metadata.get("step", -1)
        self.checkpoint_id = cp["id"]
        self.checkpoint_config = self._config_for(cp["id"])
        self.parent_checkpoint_config = saved.parent_config
        saved_writes: dict[str, list[tuple[str, Any]]] = {}
        for tid, channel, value in saved.pending_writes or ():
            if channel == RESUME:
                self.resume_map.setdefault(f"task:{tid}", []).extend(
                    value if isinstance(value, list) else [value]
                )
            elif channel not in (ERROR, INTERRUPT):
                # normal writes mean the task finished (perhaps on a later attempt after
                # an error or an interrupt): it is done and will not run again
                saved_writes.setdefault(tid, []).append((channel, value))
        self.saved_writes = saved_writes

    def _check_resume_target(self, resume: Any, saved: Any) -> None:
        """A bare resume value is ambiguous when several interrupts wait: ask for ids."""
        if self.parent is not None or resume is None or self._is_resume_map(resume):
            return
        writes = saved.pending_writes or ()
        done = {tid for tid, c, _ in writes if c not in (ERROR, INTERRUPT, RESUME)}
        pending = sum(len(v) for tid, c, v in writes if c == INTERRUPT and v and tid not in done)
        if pending > 1:
            raise RuntimeError(
                "When there are multiple pending interrupts, you must specify the interrupt id "
                "when resuming. Docs: https://docs.langchain.com/oss/python/langgraph/"
                "interrupts#handling-multiple-interrupts."
            )

    def _apply_resume_command(self, cmd: Command) -> None:
        """``Command(resume=..., update=..., goto=...)``: the update and jumps apply first."""
        if self.parent is not None or (cmd.update is None and not cmd.goto):
            return
        grouped: dict[str, list[Any]] = {}
        items = update_as_items(cmd.update) if cmd.update is not None else []
        for key, value in [
            *((k, v) for k, v in items if k in self.state_key_set),
            *self._goto_writes(cmd.goto),
        ]:
            grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            ch = self.channels.get(key)
            if ch is not None and ch.update(values):
                self.updated.add(key)
                if key.startswith("branch:"):
                    self.live_ephemeral.add(key)
        self._snapshot = None

    @staticmethod
    def _is_resume_map(resume: Any) -> bool:
        return (
            isinstance(resume, Mapping)
            and bool(resume)
            and all(isinstance(k, str) and len(k) == 32 for k in resume)
        )

    def _set_resume(self, resume: Any) -> None:
        if self._is_resume_map(resume):
            self.resume_map.update(resume)
        else:
            self.resume_any = resume

    @property
    def root(self) -> RunLoop:
        """The loop of the outermost graph of this run (it holds the run's resume values)."""
        loop = self
        while loop.parent is not None:
            loop = loop.parent.loop
        return loop

    def take_resume_value(self, task: Task, interrupt_id: str) -> Any:
        """The value that answers ``interrupt_id`` in this run, if the caller gave one."""
        if self.parent is not None:
            return self.root.take_resume_value(task, interrupt_id)
        if interrupt_id in self.resume_map:
            return self.resume_map.pop(interrupt_id)
        value = self.resume_any
        if value is not MISSING:
            self.resume_any = MISSING
            return value
        return MISSING

    def resume_values_for(self, task: Task) -> list[Any]:
        if not self.resume_map:
            return []
        return list(self.resume_map.get(f"task:{task.id}", ()))

    # == per task (called by drivers) =====================================================
    def task_steps(self, task: Task) -> Generator[Op, Any, None]:
        """One task's ops (behind the node cache / in a callback run when those apply)."""
        if self.tracer is None and (self.cache is None or task.node.cache_policy is None):
            return self._task_steps(task)
        return _hooks.cached_task_steps(self, task, self._task_steps(task))

    def _task_steps(self, task: Task) -> Generator[Op, Any, None]:
        """Run one task: call the node, derive writes, follow branches; retry on failure."""
        node = task.node
        policies = node.retry_policy
        if policies is not None and not isinstance(policies, (list, tuple)):
            policies = (policies,)
        attempt = 0
        while True:
            try:
                returned = yield (CALL, "node", task)
                task.returned = returned
                writes = self._output_writes(task, returned)
                for branch in node.branches:
                    view = self._fresh_state(writes)
                    arg = (
                        node.input_info.build(view)
                        if node.input_info.kind not in ("typeddict", "dict", "other")
                        else self.graph.state_info.build(view)
                    )
                    result = yield (CALL, "branch", branch.path, arg)
                    writes.extend(self._branch_writes(branch, result))
                task.writes = writes
                return
            except GraphBubbleUp as signal:
                if isinstance(signal, GraphInterrupt):
                    task.interrupts = list(signal.interrupts)
                    return
                if isinstance(signal, ParentCommand):
                    if signal.target is None:
                        task.error = InvalidUpdateError(
                            "Command(graph=Command.PARENT) used in a graph that has no parent"
                        )
                        return
                    if signal.target is self:
                        cmd = signal.command
                        task.returned = Command(update=cmd.update, goto=cmd.goto)
                        task.writes = self._output_writes(task, task.returned)
                        return
                raise
            except Exception as exc:
                delay = _retry_delay(policies, attempt, exc)
                if delay is None:
                    task.error = exc
                    return
                attempt += 1
                yield (SLEEP, delay)

    def _output_writes(self, task: Task, returned: Any) -> list[tuple[str, Any]]:
        keys = self.state_key_set
        if type(returned) is dict:
            writes = [(k, v) for k, v in returned.items() if k in keys]
            writes.extend(task.node.edge_writes)
            return writes
        writes = []
        commands: list[Command] = []
        if isinstance(returned, Command):
            commands.append(returned)
        elif (
            isinstance(returned, (list, tuple))
            and returned
            and any(isinstance(r, Command) for r in returned)
        ):
            for r in returned:
                if isinstance(r, Command):
                    commands.append(r)
                else:
                    writes.extend((k, v) for k, v in update_as_items(r) if k in keys)
        elif returned is not None:
            if isinstance(returned, dict):
                writes.extend((k, v) for k, v in returned.items() if k in keys)
            else:
                writes.extend((k, v) for k, v in update_as_items(returned) if k in keys)
        for cmd in commands:
            if cmd.graph == Command.PARENT:
                raise ParentCommand(
                    Command(
                        graph=self._parent_graph_name(),
                        update=cmd.update,
                        goto=cmd.goto,
                        resume=cmd.resume,
                    ),
                    self.parent.loop if self.parent is not None else None,
                )
            if cmd.update is not None:
                writes.extend((k, v) for k, v in update_as_items(cmd.update) if k in keys)
            writes.extend(self._goto_writes(cmd.goto))
        writes.extend(task.node.edge_writes)
        return writes

    def _parent_graph_name(self) -> str | None:
        parent = self.parent
        return parent.loop.graph.name if parent is not None else None

    def _goto_writes(self, goto: Any) -> list[tuple[str, Any]]:
        if not goto:
            return []
        items = goto if isinstance(goto, (list, tuple)) else [goto]
        writes: list[tuple[str, Any]] = []
        for item in items:
            if isinstance(item, Send):
                writes.append((TASKS, item))
            elif item == END:
                continue
            elif isinstance(item, str) and item in self.graph.nodes:
                writes.append((f"branch:to:{item}", None))
            else:
                raise InvalidUpdateError(f"Command goto names unknown node {item!r}")
        return writes

    def _branch_writes(self, branch: Any, result: Any) -> list[tuple[str, Any]]:
        writes: list[tuple[str, Any]] = []
        for dest in branch.resolve(result, self.graph.node_names):
            if isinstance(dest, Send):
                writes.append((TASKS, dest))
            elif dest != END:
                writes.append((f"branch:to:{dest}", None))
        return writes

    def _fresh_state(self, writes: Sequence[tuple[str, Any]]) -> dict[str, Any]:
        """The state as a branch sees it: current values plus this task's own writes."""
        own: dict[str, list[Any]] = {}
        for k, v in writes:
            if k in self.state_key_set:
                own.setdefault(k, []).append(v)
        if not own:
            return read_state(self.channels, self.state_keys)
        view = {}
        for k in self.state_keys:
            ch = self.channels[k]
            if k in own:
                ch = ch.copy()
                ch.update(own[k])
            if ch.value is not MISSING:
                view[k] = ch.value
        return view

    def finish_task(self, task: Task) -> None:
        """Called by a driver, in completion order: emit the task's updates and result."""
        self.finished.append(task)
        if task.error is not None:
            self.n_failed += 1
        elif task.interrupts:
            self.n_interrupted += 1
        if task.error is None and not task.interrupts:
            if self.want_messages and task.returned is not MISSING:
                from relaygraph.stream._messages import emit_returned_messages

                emit_returned_messages(self, task)
            if self.want_updates:
                update = {task.name: self._update_of(task)}
                if task.cached:
                    update["__metadata__"] = {"cached": True}
                self.emitter.emit("updates", update)
        if (self.want_tasks or self.want_debug) and not task.cached:
            result = payloads.task_result(task, self.out_key_set)
            if self.want_tasks:
                self.emitter.emit("tasks", result)
            if self.want_debug:
                self.emitter.emit("debug", payloads.debug(self.step + 1, "task_result", result))

    def writes_to_save(self, task: Task) -> list[tuple[str, Any]]:
        """The pending writes a finished task leaves for a resumed run."""
        if task.error is not None:
            return [(ERROR, repr(task.error))]
        if task.interrupts:
            out: list[tuple[str, Any]] = [(INTERRUPT, task.interrupts)]
            if task.resume_values:
                out.append((RESUME, task.resume_values))
            return out
        return list(task.writes)

    def _update_of(self, task: Task) -> Any:
        keys = self.out_key_set
        items = [(k, v) for k, v in task.writes if k in keys]
        if self.out_single is not None:
            return items[-1][1] if items else None
        if not items:
            return None
        update = dict(items)
        if len(update) != len(items):
            return [{k: v} for k, v in items]
        return update

    def _values_chunk(self) -> Any:
        if self.out_single is not None:
            ch = self.channels.get(self.out_single)
            return None if ch is None or ch.value is MISSING else ch.value
        return read_state(self.channels, self.out_keys)

    def _user_meta(self, task: Task) -> dict[str, Any] | None:
        if self.user_meta_cache is None:
            self.user_meta_cache = payloads.user_metadata(self.config, None)
        if task.node.metadata:
            return {**self.user_meta_cache, **task.node.metadata}
        return self.user_meta_cache or None

    def _breakpoint(self, tasks: Sequence[Task], names: Sequence[str]) -> bool:
        if not names:
            return False
        return any(("*" in names or t.name in names) for t in tasks)

    def _stored_state(self) -> dict[str, Any]:
        """The state values as a checkpoint stores them (a channel whose checkpoint is empty,
        such as an empty topic, is left out, as ``get_state`` leaves it out)."""
        out: dict[str, Any] = {}
        channels = self.channels
        for key in self.state_keys:
            ch = channels.get(key)
            if ch is not None and ch.checkpoint() is not MISSING:
                out[key] = ch.value
        return out

    def _static_interrupt(self) -> None:
        self.status = "interrupt_static"
        if self.want_updates:
            self.emitter.emit("updates", {INTERRUPT: ()})
        if self.parent is not None:
            raise GraphInterrupt(())

    def _interrupted(self, tasks: Sequence[Task]) -> None:
        self.status = "interrupted"
        all_interrupts: list[Interrupt] = []
        for t in tasks:
            for intr in t.interrupts:
                all_interrupts.append(intr)
                if self.want_updates:
                    self.emitter.emit("updates", {INTERRUPT: (intr,)})
                if self.want_values:
                    chunk = self._values_chunk()
                    if isinstance(chunk, dict):
                        chunk = {**chunk, INTERRUPT: (intr,)}
                    self.emitter.emit("values", chunk)
        self.interrupts = all_interrupts
        if self.parent is not None:
            raise GraphInterrupt(all_interrupts)

    def output(self) -> Any:
        """What ``invoke()`` returns: the output schema's view of the final state."""
        info = self.graph.output_info
        if self.out_single is not None:
            return self._values_chunk()
        keys = self.out_keys if self.out_keys is not self.state_keys else info.keys
        values = read_state(self.channels, keys)
        return values


def _task_order(task: Task) -> tuple[Any, ...]:
    return task.path[:3]


def _retry_delay(policies: Sequence[Any] | None, attempt: int, exc: Exception) -> float | None:
    """Seconds to wait before retrying, or ``None`` when the error is final."""
    if not policies:
        return None
    for policy in policies:
        retry_on = policy.retry_on
        if isinstance(retry_on, type):
            match = isinstance(exc, retry_on)
        elif isinstance(retry_on, (tuple, list)):
            match = isinstance(exc, tuple(retry_on))
        else:
            match = bool(retry_on(exc))
        if not match:
            continue
        if attempt + 1 >= policy.max_attempts:
            return None
        delay = min(policy.max_interval, policy.initial_interval * policy.backoff_factor**attempt)
        if policy.jitter:
            delay += random.uniform(0, 1)
        return float(delay)
    return None
