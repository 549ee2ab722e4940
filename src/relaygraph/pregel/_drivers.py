"""The thin sync and async faces of ``RunLoop``: they perform its I/O and run its tasks.

Everything that decides *what* happens lives in ``_loop.py``; this module only decides
*how*: threads and blocking calls for the sync face, coroutines for the async one.

Sync: a step with one task runs it inline; more tasks go to a shared thread pool, and the
waiting thread runs any task no worker has picked up yet (so nested graphs cannot deadlock
the pool). Async: async nodes are awaited (one task inline, several as asyncio tasks), sync
nodes run in the pool so they never block the event loop.
"""

from __future__ import annotations

import contextvars
import inspect
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from relaygraph.pregel._algo import Task
from relaygraph.pregel._context import TaskContext, set_current
from relaygraph.pregel._loop import CALL, LOAD, PUT, RUN, SERVICE, SLEEP, RunLoop

if TYPE_CHECKING:
    pass


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool for sync nodes (``RELAYGRAPH_MAX_WORKERS``, default 64)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                workers = int(os.environ.get("RELAYGRAPH_MAX_WORKERS", "64"))
                _pool = ThreadPoolExecutor(workers, thread_name_prefix="relaygraph-node")
    return _pool


# == shared helpers ======================================================================
def _enter_task(loop: RunLoop, task: Task) -> TaskContext:
    """Install ``task`` as the current task (call inside the task's own context copy)."""
    task.resume_values = loop.resume_values_for(task)
    # the task's own list: answers consumed by interrupt() are saved with the task
    tc = TaskContext(loop, task, loop.custom_writer, task.resume_values)
    set_current(tc)
    if loop.want_messages or loop.want_tools:
        loop.config_of(task)
    lc_var = loop.langchain_config_var()
    if lc_var is not None:
        lc_var.set(loop.config_of(task))
    return tc


def _node_call(loop: RunLoop, task: Task, tc: TaskContext, is_async: bool) -> Any:
    """Call the node's action; returns its result (a coroutine for async actions)."""
    node = task.node
    action = node.action
    if node.is_graph or node.is_runnable:
        return (action.ainvoke if is_async else action.invoke)(task.input, loop.config_of(task))
    if not node.kwargs:
        return action(task.input)
    kwargs: dict[str, Any] = {}
    for spec in node.kwargs:
        kind, name = spec.split("=", 1)
        if kind == "config":
            kwargs[name] = loop.config_of(task)
        elif kind == "writer":
            kwargs[name] = tc.writer
        elif kind == "runtime":
            kwargs[name] = loop.runtime
        elif kind == "store":
            kwargs[name] = loop.store
    return action(task.input, **kwargs)


def run_coroutine_sync(coro: Awaitable[Any]) -> Any:
    """Run a coroutine to completion from sync code (an async node in ``invoke``)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coro(coro))
    result: list[Any] = []
    error: list[BaseException] = []
    ctx = contextvars.copy_context()

    def target() -> None:
        import asyncio

        try:
            result.append(ctx.run(asyncio.run, _as_coro(coro)))
        except BaseException as e:
            error.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]


async def _as_coro(aw: Awaitable[Any]) -> Any:
    return await aw


# == sync face ===========================================================================
def run_sync(loop: RunLoop) -> None:
    """Drive ``loop`` to the end on this thread."""
    for _ in drive_sync(loop):
        pass


def drive_sync(loop: RunLoop) -> Generator[None, None, None]:
    """Drive ``loop`` on this thread, pausing after each I/O request it makes.

    The pauses let a caller on the same thread hand out the events of each step as soon as
    the step is done (``stream()`` without in-node modes runs like this, with no threads).
    """
    gen = loop.steps()
    send: Any = None
    saver = loop.checkpointer
    background = _BackgroundWriter.for_loop(loop)
    store: Any = background if background is not None else saver
    try:
        while True:
            op = gen.send(send)
            kind = op[0]
            if kind is RUN:
                _run_tasks_sync(loop, op[1])
                send = None
            elif kind is PUT:
                send = store.put(*op[1:])
            elif kind is LOAD:
                send = saver.get_tuple(op[1] if len(op) > 1 else loop.load_config())
            elif kind is SERVICE:
                send = getattr(op[1], op[2])(*op[3])
            yield
    except StopIteration:
        pass
    finally:
        if background is not None:
            background.close()
    for op in loop.final_put():
        saver.put(*op[1:])


FLUSH_ITEMS = 128
"""``durability="async"``: the run stores its queue itself once this many items wait..."""
FLUSH_AGE = 0.01
"""...or once the oldest has waited this long (seconds); the flusher thread stores what
waits twice as long (while a node runs)."""


class _BackgroundWriter:
    """``durability="async"`` for savers with transactions: checkpoints are stored in batches.

    Checkpoints and pending writes are queued in order. The run's own thread stores the
    queue in one transaction (group commit) once ``FLUSH_ITEMS`` queued up or the oldest is
    ``FLUSH_AGE`` old, and at the end of the run; while a node runs longer than that, the
    process's flusher thread stores it instead. So a fast, CPU-bound run writes without a
    second thread competing for the GIL, and a checkpoint never waits more than about
    ``3 * FLUSH_AGE`` while a slow node runs. ``close()`` stores what is left, so a run
    returns only once its state is stored, and re-raises the first storage error.
    """

    __slots__ = ("__weakref__", "_error", "_lock", "_queue", "_registered", "_saver", "_since")

    @classmethod
    def for_loop(cls, loop: RunLoop) -> _BackgroundWriter | None:
        saver = loop.checkpointer
        if saver is None or loop.durability != "async" or not hasattr(saver, "transaction"):
            return None
        writer = cls(saver)
        loop.background_writer = writer
        return writer

    def __init__(self, saver: Any) -> None:
        self._saver = saver
        self._queue: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()  # one flush at a time, so batches commit in order
        self._error: BaseException | None = None
        self._since = 0.0  # when the oldest queued item was queued
        self._registered = False

    def put(self, *args: Any) -> None:
        self._submit("put", args)

    def put_writes(self, *args: Any) -> None:
        self._submit("put_writes", args)

    def _submit(self, method: str, args: tuple[Any, ...]) -> None:
        if self._error is not None:
            raise self._error
        queue = self._queue
        now = time.monotonic()
        if not queue:
            self._since = now
        queue.append((method, args))
        if len(queue) >= FLUSH_ITEMS or now - self._since >= FLUSH_AGE:
            self.flush()
        elif not self._registered:
            self._registered = True
            _flusher.add(self)

    def flush(self, queued_before: float | None = None) -> None:
        """Store what is queued (if its oldest item was queued before ``queued_before``)."""
        with self._lock:
            queue = self._queue
            if not queue or (queued_before is not None and self._since > queued_before):
                return
            batch = [queue.popleft() for _ in range(len(queue))]
            if self._error is not None:
                return
            saver = self._saver
            try:
                if len(batch) == 1:
                    getattr(saver, batch[0][0])(*batch[0][1])
                else:
                    with saver.transaction():
                        for method, args in batch:
                            getattr(saver, method)(*args)
            except BaseException as e:
                self._error = e

    def close(self) -> None:
        if self._registered:
            _flusher.remove(self)
        self.flush()
        if self._error is not None:
            raise self._error


class _Flusher:
    """One daemon thread per process: stores the queues of runs whose thread is busy in a node.

    It wakes every ``FLUSH_AGE`` while some ``durability="async"`` run is in progress, and
    sleeps otherwise. Runs hold it weakly: an abandoned run's writer can still be collected.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._writers: weakref.WeakSet[_BackgroundWriter] = weakref.WeakSet()
        self._started = False

    def add(self, writer: _BackgroundWriter) -> None:
        with self._cond:
            self._writers.add(writer)
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="relaygraph-flusher", daemon=True).start()
            self._cond.notify()

    def remove(self, writer: _BackgroundWriter) -> None:
        with self._cond:
            self._writers.discard(writer)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._writers:
                    self._cond.wait()
            time.sleep(FLUSH_AGE)
            cutoff = time.monotonic() - 2 * FLUSH_AGE
            with self._cond:
                writers = list(self._writers)
            for writer in writers:
                writer.flush(cutoff)


_flusher = _Flusher()
os.register_at_fork(after_in_child=lambda: _Flusher.__init__(_flusher))  # no thread in a child


def _run_task_sync(loop: RunLoop, task: Task) -> None:
    contextvars.copy_context().run(_drive_task_sync, loop, task)


_PLAIN_RESULTS = frozenset({dict, type(None), str, list, tuple})
"""Result types that are never awaitable: skips ``inspect.isawaitable`` on the hot path."""


def _drive_task_sync(loop: RunLoop, task: Task) -> None:
    tc = _enter_task(loop, task)
    gen = loop.task_steps(task)
    send: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = gen.throw(error) if error is not None else gen.send(send)
        except StopIteration:
            break
        error = None
        if op[0] is CALL:
            try:
                send = _node_call(loop, task, tc, False) if op[1] == "node" else op[2](op[3])
                if type(send) not in _PLAIN_RESULTS and inspect.isawaitable(send):
                    send = run_coroutine_sync(send)
            except BaseException as e:
                error = e
        elif op[0] is SLEEP:
            time.sleep(op[1])
            send = None
        elif op[0] is SERVICE:
            try:
                send = getattr(op[1], op[2])(*op[3])
            except Exception as e:
                error = e


def _save_writes_sync(loop: RunLoop, task: Task) -> None:
    if loop.checkpointer is not None and loop.durability != "exit" and loop.checkpoint_config:
        (loop.background_writer or loop.checkpointer).put_writes(
            loop.checkpoint_config, loop.writes_to_save(task), task.id
        )


class _Claim:
    """Run a task exactly once, by whichever thread gets to it first."""

    __slots__ = ("_lock", "task")

    def __init__(self, task: Task) -> None:
        self.task = task
        self._lock = threading.Lock()

    def take(self) -> bool:
        return self._lock.acquire(blocking=False)


def _run_tasks_sync(loop: RunLoop, tasks: list[Task]) -> None:
    if len(tasks) == 1:
        task = tasks[0]
        _run_task_sync(loop, task)
        if loop.background_writer is None or task.error is not None or task.interrupts:
            # With the background writer, a lone task's writes reach the saver in the
            # checkpoint queued right after them; storing them separately first is redundant.
            _save_writes_sync(loop, task)
        loop.finish_task(task)
        return
    done: queue.SimpleQueue[tuple[Task, BaseException | None]] = queue.SimpleQueue()
    claims = [_Claim(t) for t in tasks]

    def work(claim: _Claim) -> None:
        if not claim.take():
            return
        try:
            _run_task_sync(loop, claim.task)
            _save_writes_sync(loop, claim.task)  # durable as soon as it finishes
            done.put((claim.task, None))
        except BaseException as e:  # a signal escaping the task: re-raised on the loop thread
            done.put((claim.task, e))

    pool = shared_pool()
    for claim in claims[1:]:
        pool.submit(work, claim)
    for claim in claims:  # run what no worker has started yet, starting with the first
        work(claim)
    crash: BaseException | None = None
    for _ in tasks:
        task, exc = done.get()
        if exc is not None:
            crash = crash or exc
            continue
        loop.finish_task(task)
    if crash is not None:
        raise crash


# == async face ==========================================================================
async def run_async(
    loop: RunLoop,
    wait_writable: Callable[[], Awaitable[None]] | None = None,
    is_full: Callable[[], bool] | None = None,
) -> None:
    """Drive ``loop`` to the end on the running event loop.

    ``wait_writable``/``is_full`` come from the consumer's channel: the loop waits for room
    between steps, and async nodes are paused at their next ``await`` while it is full.
    """
    if wait_writable is not None and is_full is not None:
        loop.backpressure = (wait_writable, is_full)
    elif loop.parent is not None:
        loop.backpressure = loop.parent.loop.backpressure
    gen = loop.steps()
    send: Any = None
    saver = loop.checkpointer
    try:
        while True:
            op = gen.send(send)
            kind = op[0]
            if kind is RUN:
                await _run_tasks_async(loop, op[1])
                if wait_writable is not None:
                    await wait_writable()
                send = None
            elif kind is PUT:
                send = await saver.aput(*op[1:])
            elif kind is LOAD:
                send = await saver.aget_tuple(op[1] if len(op) > 1 else loop.load_config())
            elif kind is SERVICE:
                send = await getattr(op[1], "a" + op[2])(*op[3])
    except StopIteration:
        pass
    for op in loop.final_put():
        await saver.aput(*op[1:])


async def _run_task_async(loop: RunLoop, task: Task) -> None:
    import asyncio

    ctx = contextvars.copy_context()
    tc = ctx.run(_enter_task, loop, task)
    gen = loop.task_steps(task)
    send: Any = None
    error: BaseException | None = None
    node = task.node
    while True:
        try:
            op = gen.throw(error) if error is not None else gen.send(send)
        except StopIteration:
            break
        error = None
        if op[0] is CALL:
            try:
                if op[1] == "node":
                    if node.is_async or node.is_graph or node.is_runnable:
                        call = ctx.run(_node_call, loop, task, tc, True)
                        bp = loop.backpressure
                        if bp is not None and inspect.iscoroutine(call):
                            call = _throttled(call, *bp)
                        send = await _in_context(ctx, call)
                    else:
                        send = await asyncio.get_running_loop().run_in_executor(
                            shared_pool(), ctx.run, _call_sync_node, loop, task, tc
                        )
                else:
                    send = ctx.run(op[2], op[3])
                    if inspect.isawaitable(send):
                        send = await _in_context(ctx, send)
            except BaseException as e:
                if isinstance(e, asyncio.CancelledError):
                    raise
                error = e
        elif op[0] is SLEEP:
            await asyncio.sleep(op[1])
            send = None
        elif op[0] is SERVICE:
            try:
                send = await getattr(op[1], "a" + op[2])(*op[3])
            except Exception as e:
                error = e


def _call_sync_node(loop: RunLoop, task: Task, tc: TaskContext) -> Any:
    result = _node_call(loop, task, tc, False)
    if inspect.isawaitable(result):
        result = run_coroutine_sync(result)
    return result


async def _in_context(ctx: contextvars.Context, aw: Awaitable[Any]) -> Any:
    """Await ``aw`` as a task running in ``ctx`` (so context variables stay per task)."""
    import asyncio

    if not inspect.isawaitable(aw):
        return aw
    return await ctx.run(asyncio.ensure_future, _as_coro(aw))


class _Yield:
    """Hands a value yielded by an inner coroutine up to the event loop, unchanged."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)


async def _throttled(
    coro: Any, wait_writable: Callable[[], Awaitable[None]], is_full: Callable[[], bool]
) -> Any:
    """Run ``coro``, pausing it at each of its awaits while the stream buffer is full.

    A sync ``writer(...)`` call cannot block the event loop, so an async node's events
    are throttled here instead: the node resumes only once the consumer caught up.
    """
    it = coro.__await__()
    send: Any = None
    error: BaseException | None = None
    while True:
        if is_full():
            await wait_writable()
        try:
            yielded = it.throw(error) if error is not None else it.send(send)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            send = await _Yield(yielded)
        except BaseException as e:  # cancellation and errors go back into the node
            send, error = None, e


async def _save_writes_async(loop: RunLoop, task: Task) -> None:
    if loop.checkpointer is not None and loop.durability != "exit" and loop.checkpoint_config:
        await loop.checkpointer.aput_writes(
            loop.checkpoint_config, loop.writes_to_save(task), task.id
        )


async def _run_tasks_async(loop: RunLoop, tasks: list[Task]) -> None:
    import asyncio

    if len(tasks) == 1:
        task = tasks[0]
        await _run_task_async(loop, task)
        await _save_writes_async(loop, task)
        loop.finish_task(task)
        return
    running = {asyncio.ensure_future(_run_task_async(loop, t)): t for t in tasks}
    pending = set(running)
    crash: BaseException | None = None
    try:
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: tasks.index(running[f])):
                exc = fut.exception()
                if exc is not None:
                    crash = crash or exc
                    continue
                task = running[fut]
                await _save_writes_async(loop, task)
                loop.finish_task(task)
    finally:
        for fut in pending:
            fut.cancel()
    if crash is not None:
        raise crash
