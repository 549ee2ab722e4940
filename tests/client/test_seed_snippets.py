"""The user's streaming guide (seed 004): its Python, JavaScript and cURL snippets, run verbatim.

Only placeholders change: ``<DEPLOYMENT_URL>`` becomes the live server's URL, ``<API_KEY>`` a
dummy key (the dev server has no auth), and the cURL ``<THREAD_ID>``/``<RUN_ID>``/``<inputs>``
the ids and input they stand for. Fragments that use names the guide defines elsewhere
(``client``, ``thread_id``, ``inputs``, ``run_id``) run after the guide's own "create a
thread" snippet, plus ``inputs = {"topic": "ice cream"}`` and a background run for the join.

Each section runs against the bundled example graph it describes, served as ``agent`` (the
name the guide uses): the joke graph, the subgraph graph, the fake chat model, the custom
stream writer. Python snippets run twice, with the official ``langgraph_sdk`` as written and
with ``relaygraph.client`` in its place; both must print the same (ids masked).

The guide has bugs of its own; the tests pin down what they do instead of hiding them:
- "서브그래프" opens with ``for chunk in client.runs.stream(...)`` on the async client: a
  ``TypeError`` (it works with ``get_sync_client``, also checked);
- two cURL commands lack the ``\\`` after their ``x-api-key`` header, so the shell runs
  ``curl`` without a body (the server answers 422) and then ``--data`` as a command (127);
- the multi-mode cURL body ``["updates" "custom"]`` lacks a comma: 422, invalid JSON.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import inspect
import io
import json
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import running_server, server_missing, write_config

HERE = Path(__file__).resolve().parent
SEED = HERE / "seed" / "004_e266db0aed4c74b8.txt"  # a verbatim copy of the user's seed
SHARED_SEED = HERE.parents[2] / "shared" / "seeds" / "004_e266db0aed4c74b8.txt"
JS = HERE.parent / "js"
API_KEY = "seed-test-key"
INPUTS = {"topic": "ice cream"}

SECTION_GRAPH = {
    "기본 사용법": "agent",
    "여러 모드 스트리밍": "agent",
    "그래프 상태 스트리밍": "agent",
    "서브그래프": "subgraph",
    "디버깅 {#debug}": "agent",
    "LLM 토큰 {#messages}": "chat",
    "커스텀 데이터 스트리밍": "custom",
    "이벤트 스트리밍": "agent",
    "무상태 실행": "agent",
    "조인 및 스트리밍": "custom",
}
"""Which bundled example graph plays ``agent`` in each section of the guide."""


@dataclass(frozen=True)
class Snippet:
    section: str
    lang: str
    n: int  # 1-based, per section and language
    code: str

    @property
    def graph(self) -> str:
        return SECTION_GRAPH[self.section]


def load_snippets() -> list[Snippet]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    out: list[Snippet] = []
    counts: dict[tuple[str, str], int] = {}
    section, i = "", 0
    while i < len(lines):
        if m := re.match(r"^#+\s+(.*)", lines[i]):
            section = m.group(1)
        if m := re.match(r"^\s*```(\w+)\s*$", lines[i]):
            j = i + 1
            while not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            lang = m.group(1)
            counts[section, lang] = counts.get((section, lang), 0) + 1
            code = textwrap.dedent("\n".join(lines[i + 1 : j]))
            out.append(Snippet(section, lang, counts[section, lang], code))
            i = j
        i += 1
    return out


SNIPPETS = load_snippets()


def snippet(section: str, lang: str, n: int) -> Snippet:
    return next(s for s in SNIPPETS if (s.section, s.lang, s.n) == (section, lang, n))


def test_the_copy_is_the_users_seed() -> None:
    if not SHARED_SEED.is_file():
        pytest.skip(f"{SHARED_SEED} is not beside this checkout")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()
    kinds = {lang: sum(s.lang == lang for s in SNIPPETS) for lang in ("python", "js", "bash")}
    assert kinds == {"python": 18, "js": 13, "bash": 16}


# -- servers: one per example graph that plays "agent" --------------------------------------


@pytest.fixture(scope="module")
def server_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """``server_for("subgraph")``: the URL of a server where ``agent`` is that example graph."""
    if reason := server_missing():
        pytest.skip(reason)
    urls: dict[str, str] = {}
    with contextlib.ExitStack() as stack:

        def start(graph: str) -> str:
            if graph not in urls:
                root = tmp_path_factory.mktemp(f"seed-{graph}")
                config = write_config(root, {"agent": graph})
                urls[graph] = stack.enter_context(running_server(root / "data", config))
            return urls[graph]

        yield start


def setup_thread_and_run(url: str, graph: str) -> tuple[str, str]:
    """A thread and a background run on it (the custom graph sleeps, so a join sees it live)."""
    with httpx.Client(base_url=url) as http:
        thread = http.post("/threads", json={}).json()["thread_id"]
        payload: dict[str, Any] = {"assistant_id": "agent", "input": INPUTS}
        if graph == "custom":
            payload["input"] = {"n": 3, "sleep": 1.5}
        run = http.post(f"/threads/{thread}/runs", json=payload).json()["run_id"]
    return thread, run


# -- Python ----------------------------------------------------------------------------------


def sdk_builtins(sdk: str) -> dict[str, Any]:
    """Builtins whose ``import`` gives relaygraph.client for ``langgraph_sdk`` (sdk="ours")."""
    names = dict(vars(builtins))
    if sdk == "ours":
        real = builtins.__import__

        def swap(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == "langgraph_sdk":
                return importlib.import_module("relaygraph.client")
            return real(name, *args, **kwargs)

        names["__import__"] = swap
    return names


async def run_python(code: str, url: str, ns: dict[str, Any]) -> str:
    code = code.replace("<DEPLOYMENT_URL>", repr(url)).replace("<API_KEY>", repr(API_KEY))
    compiled = compile(code, "<seed>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compiled, ns)
        if inspect.iscoroutine(result):
            await result
    return out.getvalue()


async def python_namespace(sdk: str, url: str, graph: str, prelude: bool) -> dict[str, Any]:
    ns: dict[str, Any] = {"__builtins__": sdk_builtins(sdk), "inputs": INPUTS}
    thread, run = setup_thread_and_run(url, graph)
    ns.update(thread_id=thread, run_id=run, assistant_id="agent")
    if prelude:  # the guide's own "create a thread" snippet defines client and thread_id
        await run_python(snippet("그래프 상태 스트리밍", "python", 2).code, url, ns)
    return ns


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")


def masked(text: str) -> str:
    text = STAMP.sub("<time>", UUID.sub("<uuid>", text))
    return re.sub(r"id='\d+'", "id=<n>", text)


PYTHON = [
    s
    for s in SNIPPETS
    if s.lang == "python" and ("langgraph_sdk" in s.code or "client.runs" in s.code)
]


@pytest.mark.parametrize("s", PYTHON, ids=lambda s: f"{s.section}-py{s.n}")
async def test_python_snippet(s: Snippet, server_for: Callable[[str], str]) -> None:
    url = server_for(s.graph)
    standalone = "get_client(" in s.code
    outputs: dict[str, str] = {}
    for sdk in ("official", "ours"):
        ns = await python_namespace(sdk, url, s.graph, prelude=not standalone)
        if s.code.lstrip().startswith("for chunk in client.runs.stream("):
            # the guide's bug: a sync `for` over the async client's stream
            with pytest.raises(TypeError, match="async_generator"):
                await run_python(s.code, url, ns)
            sync_ns = dict(ns)
            await run_python(
                "from langgraph_sdk import get_sync_client\n"
                "client = get_sync_client(url=<DEPLOYMENT_URL>)\n"
                "thread_id = client.threads.create()['thread_id']",
                url,
                sync_ns,
            )
            outputs[sdk] = await run_python(s.code, url, sync_ns)
            await close_clients(sync_ns)
        else:
            outputs[sdk] = await run_python(s.code, url, ns)
        await close_clients(ns)
    assert masked(outputs["ours"]) == masked(outputs["official"])
    check_python_output(s, outputs["ours"])


async def close_clients(ns: dict[str, Any]) -> None:
    client = ns.get("client")
    if client is None:
        return
    if hasattr(client, "aclose"):
        await client.aclose()
    else:
        client.close()


def check_python_output(s: Snippet, out: str) -> None:
    lines = out.splitlines()
    key = (s.section, s.n)
    if key == ("기본 사용법", 3):  # the extended example: exactly the output the guide shows
        expected = snippet("기본 사용법", "output", 1).code.splitlines()
        assert [UUID.sub("<uuid>", line) for line in lines] == [
            re.sub(r"'run_id': '[^']+'", "'run_id': '<uuid>'", line) for line in expected
        ]
    elif "runs.stream" not in s.code and "join_stream" not in s.code:  # "create a thread"
        assert out == ""
    elif 'stream_mode="updates"' in s.code and "print(chunk.data)" in s.code:
        assert lines[1:] == [
            "{'refine_topic': {'topic': 'ice cream and cats'}}",
            "{'generate_joke': {'joke': 'This is a joke about ice cream and cats'}}",
        ]
    elif 'stream_mode="values"' in s.code:
        assert (
            lines[-1]
            == "{'topic': 'ice cream and cats', 'joke': 'This is a joke about ice cream and cats'}"
        )
    elif s.section == "여러 모드 스트리밍":
        assert lines[0].startswith("StreamPart(event='metadata'")
        assert [line.split("'")[1] for line in lines[1:]] == ["updates", "updates"]
    elif s.section == "서브그래프":
        events = [line.split("'")[1] for line in lines]
        assert [e.split(":")[0] for e in events] == [
            "metadata",
            "updates",
            "updates|node_2",
            "updates|node_2",
            "updates",
        ]
    elif s.section == "디버깅 {#debug}":
        assert all("'type': " in line for line in lines[1:]) and len(lines) > 5
    elif s.section == "LLM 토큰 {#messages}":
        assert out == "Hello| |there| |from| |the| |fake| |model|"
    elif s.section == "커스텀 데이터 스트리밍":
        assert lines[1:] == [
            "{'progress': 0, 'msg': 'item 0'}",
            "{'progress': 1, 'msg': 'item 1'}",
            "{'progress': 2, 'msg': 'item 2'}",
            "slow-start",
            "slow-end",
        ]
    elif s.section == "이벤트 스트리밍":
        assert "'event': 'on_chain_start'" in lines[1] and "'event': 'on_chain_end'" in lines[-1]
    elif s.section == "무상태 실행":
        assert len(lines) == 3 and "generate_joke" in lines[-1]
    elif s.section == "조인 및 스트리밍":  # the background run's values, to its end
        assert all(line.startswith("StreamPart(") for line in lines)
        assert "'steps': ['emit', 'slow']" in lines[-1]
    else:  # pragma: no cover - every snippet has its check
        pytest.fail(f"no check for {key}")


# -- the graph definitions in the guide are the bundled examples ----------------------------


def relaygraph_builtins() -> dict[str, Any]:
    names = dict(vars(builtins))
    real = builtins.__import__

    def swap(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "langgraph" or name.startswith("langgraph."):
            name = "relaygraph" + name[len("langgraph") :]
        return real(name, *args, **kwargs)

    names["__import__"] = swap
    return names


GRAPHS = [s for s in SNIPPETS if s.lang == "python" and "StateGraph" in s.code]


@pytest.mark.parametrize("s", GRAPHS, ids=lambda s: f"{s.section}-py{s.n}")
def test_graph_snippet_matches_the_bundled_example(
    s: Snippet, server_for: Callable[[str], str]
) -> None:
    if "init_chat_model" in s.code:
        pytest.skip(
            "the guide's LLM graph calls OpenAI (init_chat_model); the chat example fakes it"
        )
    ns: dict[str, Any] = {"__builtins__": relaygraph_builtins(), "__name__": "seed_graph"}
    exec(compile(s.code, "<seed graph.py>", "exec"), ns)  # `from langgraph...` -> relaygraph
    graph = ns["graph"]
    subgraphs = "subgraph" in s.code
    input = {"foo": "foo"} if subgraphs else INPUTS
    local = [
        (list(ns_), chunk)
        for ns_, chunk in graph.stream(input, stream_mode="updates", subgraphs=True)
    ]
    url = server_for(s.graph)
    with httpx.Client(base_url=url) as http:
        body = {
            "assistant_id": "agent",
            "input": input,
            "stream_mode": "updates",
            "stream_subgraphs": True,
        }
        text = http.post("/runs/stream", json=body).text
    remote = [
        (event.split("|")[1:], json.loads(data))
        for event, data in re.findall(r"event: (\S+)\r?\ndata: (.*)\r?\n", text)
        if event != "metadata"
    ]
    assert [(len(n), c) for n, c in local] == [(len(n), c) for n, c in remote]


# -- JavaScript ------------------------------------------------------------------------------

JS_SNIPPETS = [s for s in SNIPPETS if s.lang == "js"]


def js_program(s: Snippet, url: str, thread: str, run: str) -> str:
    code = s.code.replace("<DEPLOYMENT_URL>", json.dumps(url)).replace(
        "<API_KEY>", json.dumps(API_KEY)
    )
    declared = set(re.findall(r"\b(?:const|let|var)\s+(\w+)", code))
    prelude = []
    if "import " not in code:  # a fragment: the guide's "create a thread" snippet first
        first = snippet("그래프 상태 스트리밍", "js", 1).code.replace(
            "<DEPLOYMENT_URL>", json.dumps(url)
        )
        prelude.append(first)
        declared |= set(re.findall(r"\b(?:const|let|var)\s+(\w+)", first))
    givens = {
        "input": json.dumps(INPUTS),
        "assistantID": json.dumps("agent"),
        "threadID": json.dumps(thread),
        "runId": json.dumps(run),
    }
    for name, value in givens.items():
        if re.search(rf"\b{name}\b", code) and name not in declared:
            prelude.append(f"const {name} = {value};")
    return "\n".join([*prelude, code]) + "\n"


@pytest.fixture(scope="module")
def node_ready() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the JavaScript snippets")
    if not (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci failed: {done.stderr[-1000:]}")


@pytest.mark.parametrize("s", JS_SNIPPETS, ids=lambda s: f"{s.section}-js{s.n}")
def test_js_snippet(s: Snippet, server_for: Callable[[str], str], node_ready: None) -> None:
    url = server_for(s.graph)
    thread, run = setup_thread_and_run(url, s.graph)
    with tempfile.TemporaryDirectory(dir=JS, prefix=".seed-") as tmp:
        path = Path(tmp) / "snippet.mjs"
        path.write_text(js_program(s, url, thread, run))
        done = subprocess.run(
            ["node", str(path)], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    if 'streamMode: "updates"' in s.code and s.section != "서브그래프":
        assert "refine_topic" in out and "generate_joke" in out
    elif 'streamMode: "values"' in s.code:
        assert "This is a joke about ice cream and cats" in out
    elif s.section == "서브그래프":
        assert out.count("updates|node_2:") == 2
    elif s.section == "여러 모드 스트리밍":
        assert out.count("event: 'updates'") == 2
    elif s.section == "디버깅 {#debug}":
        assert "task_result" in out
    elif s.section == "LLM 토큰 {#messages}":
        assert out.split() == ["Hello", "there", "from", "the", "fake", "model"]
    elif s.section == "커스텀 데이터 스트리밍":
        assert "item 2" in out and "slow-end" in out
    elif s.section == "이벤트 스트리밍":
        assert "on_chain_end" in out
    elif s.section == "조인 및 스트리밍":
        assert "steps: [ 'emit', 'slow' ]" in out
    elif "threads.create()" in s.code:  # the "create a thread" snippet prints nothing
        assert out == ""
    else:  # pragma: no cover
        pytest.fail(f"no check for {s}")


# -- cURL ------------------------------------------------------------------------------------

CURL = [s for s in SNIPPETS if s.lang == "bash"]


@pytest.mark.parametrize("s", CURL, ids=lambda s: f"{s.section}-curl{s.n}")
def test_curl_snippet(s: Snippet, server_for: Callable[[str], str]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    url = server_for(s.graph)
    thread, run = setup_thread_and_run(url, s.graph)
    script = (
        s.code.replace("<DEPLOYMENT_URL>", url)
        .replace("<API_KEY>", API_KEY)
        .replace("<THREAD_ID>", thread)
        .replace("<RUN_ID>", run)
        .replace("<inputs>", json.dumps(INPUTS).replace('"', '\\"'))
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    out = done.stdout
    missing_backslash = re.search(r"x-api-key: [^'\n]*'\n", s.code) is not None
    if missing_backslash:
        # curl ran without its body, then bash tried to run `--data ...` as a command
        assert json.loads(out) == {"detail": "Invalid JSON in request body"}
        assert done.returncode == 127 and "--data: command not found" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    if re.search(r'\\"updates\\"\n\s*\\"custom', s.code):  # ["updates" "custom"]: no comma
        assert json.loads(out) == {"detail": "Invalid JSON in request body"}
    elif "/runs/stream" in s.code or "/stream" in s.code:
        events = re.findall(r"^event: (\S+)", out, flags=re.MULTILINE)
        assert events and (events[0] == "metadata" or s.section == "조인 및 스트리밍")
        mode = re.search(r'stream_mode\\": (?:\[\s*)?\\"([\w-]+)', s.code)
        if mode:
            expected = "messages" if mode.group(1) == "messages-tuple" else mode.group(1)
            assert {e.split("|")[0] for e in events[1:]} == {expected}
        else:  # the join: the background run's events, to its end
            assert '"steps":["emit","slow"]' in out
    else:  # create a thread
        assert UUID.fullmatch(json.loads(out)["thread_id"])
