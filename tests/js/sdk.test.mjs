// The official JavaScript SDK (@langchain/langgraph-sdk) against a live relaygraph server.
//
//   RELAYGRAPH_URL=http://127.0.0.1:2024 npm test      (from tests/js, after `npm ci`)
//
// The server must serve examples/agent_project (graphs: agent, subgraph, chat, custom, hitl,
// boom). tests/client/test_js_sdk.py starts one and runs this file.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { Client } from "@langchain/langgraph-sdk";

const URL = process.env.RELAYGRAPH_URL;
if (!URL) {
  throw new Error("set RELAYGRAPH_URL to a running relaygraph server");
}

const client = new Client({ apiUrl: URL, apiKey: null, callerOptions: { maxRetries: 0 } });
const JOKE = { topic: "ice cream and cats", joke: "This is a joke about ice cream and cats" };

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const names = (parts) => parts.map((p) => p.event.replace(/:[0-9a-f-]{36}/g, ":<task>"));

async function statusOf(promise) {
  try {
    await promise;
  } catch (error) {
    return error.status;
  }
  assert.fail("expected an HTTP error");
}

describe("threads", () => {
  test("create, get, update, search, copy, delete", async () => {
    const key = crypto.randomUUID();
    const thread = await client.threads.create({ metadata: { suite: "js", key } });
    assert.equal(thread.status, "idle");
    const got = await client.threads.get(thread.thread_id);
    assert.deepEqual(got.metadata, { suite: "js", key });
    const updated = await client.threads.update(thread.thread_id, { metadata: { extra: 1 } });
    assert.deepEqual(updated.metadata, { suite: "js", key, extra: 1 });
    const found = await client.threads.search({ metadata: { key } });
    assert.deepEqual(
      found.map((t) => t.thread_id),
      [thread.thread_id],
    );
    const copy = await client.threads.copy(thread.thread_id);
    assert.notEqual(copy.thread_id, thread.thread_id);
    await client.threads.delete(thread.thread_id);
    assert.equal(await statusOf(client.threads.get(thread.thread_id)), 404);
  });

  test("state, update_state, history", async () => {
    const thread = await client.threads.create();
    const values = await client.runs.wait(thread.thread_id, "agent", {
      input: { topic: "ice cream" },
    });
    assert.deepEqual(values, JOKE);
    const state = await client.threads.getState(thread.thread_id);
    assert.deepEqual(state.values, JOKE);
    await client.threads.updateState(thread.thread_id, {
      values: { topic: "dogs" },
      asNode: "refine_topic",
    });
    const after = await client.threads.getState(thread.thread_id);
    assert.deepEqual(after.next, ["generate_joke"]);
    const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
    assert.ok(history.length >= 4);
  });
});

describe("runs.stream", () => {
  const cases = [
    ["values", "agent", { topic: "ice cream" }, ["metadata", "values", "values", "values"]],
    ["updates", "agent", { topic: "ice cream" }, ["metadata", "updates", "updates"]],
    ["custom", "custom", { n: 2, sleep: 0 }, ["metadata", "custom", "custom", "custom", "custom"]],
    ["debug", "agent", { topic: "ice cream" }, null],
    ["tasks", "agent", { topic: "ice cream" }, ["metadata", ...Array(4).fill("tasks")]],
    ["checkpoints", "agent", { topic: "ice cream" }, ["metadata", ...Array(4).fill("checkpoints")]],
    ["events", "agent", { topic: "ice cream" }, null],
    ["messages-tuple", "chat", { messages: [{ role: "user", content: "hi" }] }, null],
  ];
  for (const [mode, graph, input, expected] of cases) {
    test(`streamMode ${mode}`, async () => {
      const thread = await client.threads.create();
      const parts = await collect(
        client.runs.stream(thread.thread_id, graph, { input, streamMode: mode }),
      );
      const got = names(parts);
      assert.equal(got[0], "metadata");
      assert.ok(parts[0].data.run_id);
      if (expected) assert.deepEqual(got, expected);
      const event = mode === "messages-tuple" ? "messages" : mode;
      assert.deepEqual([...new Set(got.slice(1))], [event]);
      if (mode === "values") assert.deepEqual(parts.at(-1).data, JOKE);
      if (mode === "messages-tuple") {
        const text = parts
          .slice(1)
          .filter((p) => p.data[0].type === "AIMessageChunk")
          .map((p) => p.data[0].content)
          .join("");
        assert.equal(text, "Hello there from the fake model");
      }
    });
  }

  test("several modes at once", async () => {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, "custom", {
        input: { n: 1, sleep: 0 },
        streamMode: ["updates", "custom", "values"],
      }),
    );
    assert.deepEqual(names(parts), [
      "metadata",
      "values",
      "custom",
      "updates",
      "values",
      "custom",
      "custom",
      "updates",
      "values",
    ]);
  });

  test("subgraphs", async () => {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, "subgraph", {
        input: { foo: "foo" },
        streamMode: "updates",
        streamSubgraphs: true,
      }),
    );
    assert.deepEqual(names(parts), [
      "metadata",
      "updates",
      "updates|node_2:<task>",
      "updates|node_2:<task>",
      "updates",
    ]);
    assert.deepEqual(parts.at(-1).data, { node_2: { foo: "hi! foobar" } });
  });

  test("stateless (thread null)", async () => {
    const parts = await collect(
      client.runs.stream(null, "agent", { input: { topic: "ice cream" }, streamMode: "updates" }),
    );
    assert.deepEqual(names(parts), ["metadata", "updates", "updates"]);
    assert.deepEqual(await client.runs.wait(null, "agent", { input: { topic: "ice cream" } }), JOKE);
  });
});

describe("background runs", () => {
  test("joinStream replays and follows a resumable run, join waits for it", async () => {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "custom", {
      input: { n: 2, sleep: 0.3 },
      streamMode: ["custom", "updates"],
      streamResumable: true,
    });
    const parts = await collect(
      client.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: "0" }),
    );
    assert.deepEqual(names(parts), [
      "metadata",
      "custom",
      "custom",
      "updates",
      "custom",
      "custom",
      "updates",
    ]);
    const ids = parts.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const final = await client.runs.join(thread.thread_id, run.run_id);
    assert.deepEqual(final, { n: 2, sleep: 0.3, steps: ["emit", "slow"] });
    const tail = await collect(
      client.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: ids[2] }),
    );
    assert.deepEqual(
      tail.map((p) => p.id),
      ids.slice(3),
    );
    assert.equal((await client.runs.get(thread.thread_id, run.run_id)).status, "success");
  });
});

describe("interrupts", () => {
  test("interrupt, then resume with a command", async () => {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, "hitl", {
        input: { question: "ship it?" },
        streamMode: ["values", "updates"],
      }),
    );
    const interrupt = parts.at(-1).data.__interrupt__[0];
    assert.deepEqual(interrupt.value, { question: "ship it?" });
    assert.equal((await client.threads.get(thread.thread_id)).status, "interrupted");
    const resumed = await collect(
      client.runs.stream(thread.thread_id, "hitl", {
        command: { resume: "yes" },
        streamMode: "values",
      }),
    );
    assert.deepEqual(resumed.at(-1).data, { question: "ship it?", answer: "yes" });
  });
});

describe("errors", () => {
  test("a failing run streams an error event", async () => {
    const parts = await collect(client.runs.stream(null, "boom", { input: {} }));
    assert.equal(parts.at(-1).event, "error");
    assert.deepEqual(parts.at(-1).data, {
      error: "ValueError",
      message: "kaboom: intentional failure",
    });
  });

  test("HTTP errors carry the status", async () => {
    assert.equal(await statusOf(client.threads.get(crypto.randomUUID())), 404);
    assert.equal(await statusOf(client.runs.wait(null, "no-such-graph", { input: {} })), 422);
    const thread = await client.threads.create();
    assert.equal(await statusOf(client.threads.create({ threadId: thread.thread_id })), 409);
  });

  test("assistants", async () => {
    const found = await client.assistants.search({ graphId: "agent" });
    assert.ok(found.some((a) => a.assistant_id === "fe096781-5601-53d2-b2f6-0d3403f7e9ca"));
    const graph = await client.assistants.getGraph("fe096781-5601-53d2-b2f6-0d3403f7e9ca");
    assert.ok(graph.nodes.some((n) => n.id === "refine_topic"));
  });
});
