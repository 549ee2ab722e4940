"""``relaygraph runs stream`` / ``relaygraph threads ...``: parsing, printing, a live server."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys

import pytest

from relaygraph.client import StreamPart, get_sync_client
from relaygraph.client.cli import _Printer, add_client_commands, format_part, main


def test_commands_plug_into_a_host_parser() -> None:
    parser = argparse.ArgumentParser(prog="relaygraph")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dev")  # the host's own commands stay
    add_client_commands(commands)
    args = parser.parse_args(["runs", "stream", "agent", "--input", '{"a": 1}', "--mode", "values"])
    assert (args.assistant, args.input, args.mode, args.thread) == (
        "agent",
        {"a": 1},
        "values",
        None,
    )
    assert callable(args.client_command)
    args = parser.parse_args(["threads", "state", "t1", "--url", "http://h:1", "--api-key", "k"])
    assert (args.thread_id, args.url, args.api_key) == ("t1", "http://h:1", "k")
    assert parser.parse_args(["dev"]).command == "dev"


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["runs", "--help"], ["runs", "stream", "--help"], ["threads", "list", "--help"]],
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: relaygraph" in out
    if argv[:2] == ["runs", "stream"]:
        assert "--mode" in out and "--thread" in out and "--url" in out and "RELAYGRAPH_URL" in out


def test_bad_json_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "stream", "agent", "--input", "{nope"])
    assert exit_.value.code == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_format_part() -> None:
    assert format_part(StreamPart("updates", {"a": {"x": 1}, "b": None})) == [
        'updates    a: {"x": 1}',
        "updates    b: null",
    ]
    assert format_part(StreamPart("updates|node_2:abc", {"n": 1})) == ["updates[node_2:abc] n: 1"]
    assert format_part(StreamPart("custom", "hello")) == ['custom     "hello"']
    assert format_part(StreamPart("error", {"error": "ValueError", "message": "boom"})) == [
        "error      ValueError: boom"
    ]
    message = [{"content": "Hi", "type": "ai"}, {"langgraph_node": "call_model"}]
    assert format_part(StreamPart("messages", message)) == ["messages   call_model: Hi"]


def test_tokens_of_one_message_share_a_line() -> None:
    out = io.StringIO()
    printer = _Printer(out)
    meta = {"langgraph_node": "llm"}
    for token in ["Hel", "lo", "!"]:
        printer.write(
            StreamPart("messages", [{"content": token, "type": "AIMessageChunk", "id": "m1"}, meta])
        )
    printer.write(StreamPart("updates", {"llm": {"done": True}}))
    printer.close()
    assert out.getvalue() == 'messages   llm: Hello!\nupdates    llm: {"done": true}\n'


def test_runs_stream_against_the_server(live_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *("runs", "stream", "custom", "--input", '{"n": 1, "sleep": 0}'),
            *("--mode", "updates,custom", "--url", live_url),
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == [
        "metadata",
        "custom",
        "updates",
        "custom",
        "custom",
        "updates",
    ]
    assert lines[2] == 'updates    emit: {"steps": ["emit"]}'


def test_runs_stream_json_lines_on_a_thread(
    live_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with get_sync_client(url=live_url, api_key=None) as client:
        thread = client.threads.create()["thread_id"]
    argv = ["runs", "stream", "hitl", "--thread", thread, "--json", "--url", live_url]
    assert main([*argv, "--input", '{"question": "ok?"}']) == 0
    parts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "__interrupt__" in parts[-1]["data"]
    assert main([*argv, "--resume", '"yes"', "--mode", "values"]) == 0
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["data"] == {"question": "ok?", "answer": "yes"}
    assert main(["threads", "get", thread, "--url", live_url]) == 0
    assert json.loads(capsys.readouterr().out)["thread_id"] == thread
    assert main(["threads", "state", thread, "--url", live_url]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["answer"] == "yes"
    assert main(["threads", "list", "--url", live_url, "--limit", "100"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["THREAD", "ID", "STATUS", "UPDATED", "METADATA"]
    assert any(line.startswith(thread) and " idle " in line for line in listing)


def test_failures_exit_1_with_a_message(live_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "stream", "boom", "--input", "{}", "--url", live_url]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "error      ValueError: kaboom: intentional failure"
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert main(["threads", "get", missing, "--url", live_url]) == 1
    assert "404 Not Found" in capsys.readouterr().err
    assert main(["threads", "list", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


def test_events_print_as_they_arrive_in_a_real_process(live_url: str) -> None:
    # the custom graph sleeps between "slow-start" and "slow-end": the first lines must be out
    # (and flushed through a pipe) before the run ends
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "relaygraph.client.cli", "runs", "stream", "custom"),
            *("--input", '{"n": 1, "sleep": 2}', "--mode", "custom", "--url", live_url),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = [proc.stdout.readline() for _ in range(3)]
    assert proc.poll() is None, "the process ended before its first events were read"
    assert [line.split()[0] for line in first] == ["metadata", "custom", "custom"]
    assert first[2].split()[1] == '"slow-start"'
    rest = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(10) == 0
    assert '"slow-end"' in rest
