"""The API's resource groups, written once for both faces (see ``_face.py``)."""

from __future__ import annotations

from relaygraph.client._face import Face, Resource, SyncFace, call, iterate
from relaygraph.client._ops import assistants, crons, runs, store, threads

__all__ = [
    "AssistantsClient",
    "CronClient",
    "RunsClient",
    "StoreClient",
    "SyncAssistantsClient",
    "SyncCronClient",
    "SyncRunsClient",
    "SyncStoreClient",
    "SyncThreadsClient",
    "ThreadsClient",
]


class AssistantsClient(Resource[Face]):
    """Assistants: graphs with a configuration (``/assistants``)."""

    get = call(assistants.get)
    get_graph = call(assistants.get_graph)
    get_schemas = call(assistants.get_schemas)
    get_subgraphs = call(assistants.get_subgraphs)
    create = call(assistants.create)
    update = call(assistants.update)
    delete = call(assistants.delete)
    search = call(assistants.search)
    count = call(assistants.count)
    get_versions = call(assistants.get_versions)
    set_latest = call(assistants.set_latest)


class ThreadsClient(Resource[Face]):
    """Threads: conversations that keep state across runs (``/threads``)."""

    get = call(threads.get)
    create = call(threads.create)
    update = call(threads.update)
    delete = call(threads.delete)
    search = call(threads.search)
    count = call(threads.count)
    copy = call(threads.copy)
    prune = call(threads.prune)
    get_state = call(threads.get_state)
    update_state = call(threads.update_state)
    get_history = call(threads.get_history)
    join_stream = iterate(threads.join_stream)


class RunsClient(Resource[Face]):
    """Runs: executions of an assistant, on a thread or stateless (``/runs``)."""

    stream = iterate(runs.stream)
    create = call(runs.create)
    create_batch = call(runs.create_batch)
    wait = call(runs.wait)
    list = call(runs.list)
    get = call(runs.get)
    cancel = call(runs.cancel)
    cancel_many = call(runs.cancel_many)
    join = call(runs.join)
    join_stream = iterate(runs.join_stream)
    delete = call(runs.delete)


class CronClient(Resource[Face]):
    """Crons: runs on a schedule (``/runs/crons``)."""

    create_for_thread = call(crons.create_for_thread)
    create = call(crons.create)
    update = call(crons.update)
    delete = call(crons.delete)
    search = call(crons.search)
    count = call(crons.count)


class StoreClient(Resource[Face]):
    """The store: long-term memory shared across threads (``/store``)."""

    put_item = call(store.put_item)
    get_item = call(store.get_item)
    delete_item = call(store.delete_item)
    search_items = call(store.search_items)
    list_namespaces = call(store.list_namespaces)


# The official SDK's names for the sync flavours.
SyncAssistantsClient = AssistantsClient[SyncFace]
SyncThreadsClient = ThreadsClient[SyncFace]
SyncRunsClient = RunsClient[SyncFace]
SyncCronClient = CronClient[SyncFace]
SyncStoreClient = StoreClient[SyncFace]
