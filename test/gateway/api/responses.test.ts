// The Responses door's translator on its own: requests to chat, answers and streams back.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferplaneError } from "../../../src/errors.js";
import { ResponseStore, responsesDoor, retrieveResponse } from "../../../src/gateway/api/responses.js";
import { chunk, nth, parseFrames } from "./frames.js";

type Json = Record<string, unknown>;

function refuses(body: Json, param: string): void {
  assert.throws(
    // bind (after admission) is where an unknown or someone else's previous response is refused.
    () => responsesDoor().translate(body).bind?.(undefined),
    (e: unknown) => e instanceof InferplaneError && e.param === param && e.def.status === 400,
    JSON.stringify(body),
  );
}

const answer = (
  message: Json,
  finish: string,
  usage = { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
) => ({
  choices: [{ index: 0, message, finish_reason: finish }],
  usage,
});

describe("responses door: request translation", () => {
  it("string input with instructions becomes system + user, limits and sampling carried", () => {
    const t = responsesDoor().translate({
      model: "chat",
      input: "Hi",
      instructions: "Be brief.",
      max_output_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
    });
    assert.equal(t.op, "chat");
    assert.equal(t.stream, false);
    assert.deepEqual(t.body, {
      model: "chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
    });
  });

  it("item lists: developer → system, content parts, function calls merged into one assistant turn, outputs as tool messages", () => {
    const t = responsesDoor().translate({
      model: "chat",
      input: [
        { role: "developer", content: "Rules." },
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "a" },
            { type: "input_text", text: "b" },
          ],
        },
        { type: "function_call", call_id: "c1", name: "f", arguments: '{"x":1}' },
        { type: "function_call", call_id: "c2", name: "g", arguments: "{}" },
        { type: "function_call_output", call_id: "c1", output: "one" },
        { type: "function_call_output", call_id: "c2", output: "two" },
        { type: "reasoning", id: "rs_1", summary: [] },
        { role: "user", content: [{ type: "input_image", image_url: "https://x/y.png" }] },
      ],
    });
    assert.deepEqual(t.body.messages, [
      { role: "system", content: "Rules." },
      { role: "user", content: "a\nb" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } },
          { id: "c2", type: "function", function: { name: "g", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: "one" },
      { role: "tool", tool_call_id: "c2", content: "two" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] },
    ]);
  });

  it("flat function tools, a named tool_choice, text.format json_schema and streaming", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const t = responsesDoor().translate({
      model: "chat",
      input: "x",
      tools: [{ type: "function", name: "f", description: "d", parameters: schema, strict: true }],
      tool_choice: { type: "function", name: "f" },
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "out", schema, strict: true } },
      stream: true,
    });
    assert.deepEqual(t.body.tools, [
      { type: "function", function: { name: "f", description: "d", parameters: schema } },
    ]);
    assert.deepEqual(t.body.tool_choice, { type: "function", function: { name: "f" } });
    assert.equal(t.body.parallel_tool_calls, false);
    assert.deepEqual(t.body.response_format, {
      type: "json_schema",
      json_schema: { name: "out", schema, strict: true },
    });
    assert.equal(t.stream, true);
    assert.deepEqual(t.body.stream_options, { include_usage: true });
  });

  it("refuses bad input naming the Responses parameter", () => {
    refuses({ input: "x" }, "model");
    refuses({ model: "m" }, "input");
    refuses({ model: "m", input: 3 }, "input");
    refuses({ model: "m", input: [] }, "input");
    refuses({ model: "m", input: [{ role: "robot", content: "x" }] }, "input[0].role");
    refuses(
      { model: "m", input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] },
      "input[0].content[0].type",
    );
    refuses({ model: "m", input: [{ type: "item_reference", id: "x" }] }, "input[0].type");
    refuses({ model: "m", input: "x", tools: [{ type: "web_search" }] }, "tools[0].type");
    refuses({ model: "m", input: "x", tool_choice: { type: "file_search" }, tools: [] }, "tool_choice");
    refuses({ model: "m", input: "x", text: { format: { type: "yaml" } } }, "text.format.type");
    refuses({ model: "m", input: "x", text: { format: { type: "json_schema", name: "x" } } }, "text.format");
    refuses({ model: "m", input: "x", max_output_tokens: 0 }, "max_output_tokens");
    refuses({ model: "m", input: "x", temperature: 3 }, "temperature");
    refuses({ model: "m", input: "x", background: true }, "background");
    refuses({ model: "m", input: "x", previous_response_id: "resp_nope" }, "previous_response_id");
    assert.throws(
      () => responsesDoor().translate("x"),
      (e: unknown) => e instanceof InferplaneError && e.code === "invalid_json",
    );
  });
});

describe("responses door: answers", () => {
  it("text and tool calls become output items; usage in Responses' names; the model asked for", () => {
    const t = responsesDoor().translate({ model: "chat", input: "x", metadata: { k: "v" } });
    const r = t.response(
      answer(
        {
          role: "assistant",
          content: "Hello",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
        },
        "tool_calls",
        {
          prompt_tokens: 10,
          completion_tokens: 4,
          total_tokens: 14,
          prompt_tokens_details: { cached_tokens: 6 },
        } as never,
      ),
    ) as Json;
    assert.equal(r.object, "response");
    assert.equal(r.status, "completed");
    assert.equal(r.model, "chat");
    assert.deepEqual(r.metadata, { k: "v" });
    const output = r.output as Json[];
    assert.equal(output[0]?.type, "message");
    assert.deepEqual((output[0] as { content: unknown }).content, [
      { type: "output_text", text: "Hello", annotations: [], logprobs: [] },
    ]);
    assert.equal(output[1]?.type, "function_call");
    assert.equal(output[1]?.call_id, "call_1");
    assert.equal(output[1]?.arguments, '{"a":1}');
    assert.deepEqual(r.usage, {
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 6 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 14,
    });
  });

  it("finish_reason length: status incomplete with max_output_tokens", () => {
    const r = responsesDoor()
      .translate({ model: "chat", input: "x", max_output_tokens: 4 })
      .response(answer({ role: "assistant", content: "a b c d" }, "length")) as Json;
    assert.equal(r.status, "incomplete");
    assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
  });

  it("previous_response_id continues the stored conversation, without the old instructions; store: false keeps nothing", () => {
    const store = new ResponseStore();
    const door = responsesDoor({ store });
    const first = door
      .translate({ model: "chat", input: "Hi", instructions: "Old." })
      .response(answer({ role: "assistant", content: "Hello" }, "stop")) as Json;
    assert.equal((retrieveResponse(store, first.id as string) as Json).id, first.id);
    const second = door.translate({
      model: "chat",
      input: "And?",
      instructions: "New.",
      previous_response_id: first.id,
    });
    assert.deepEqual(second.body.messages, [
      { role: "system", content: "New." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "And?" },
    ]);
    const unstored = door
      .translate({ model: "chat", input: "x", store: false })
      .response(answer({ role: "assistant", content: "y" }, "stop")) as Json;
    assert.equal(retrieveResponse(store, unstored.id as string), undefined);
  });

  it("a stored response belongs to the key that created it: retrieval and continuation by others fail alike", () => {
    const store = new ResponseStore();
    const door = responsesDoor({ store });
    const t = door.translate({ model: "chat", input: "Hi" });
    t.bind?.("key-a");
    const mine = t.response(answer({ role: "assistant", content: "Hello" }, "stop")) as Json;
    const id = mine.id as string;
    assert.equal((retrieveResponse(store, id, "key-a") as Json).id, id);
    assert.equal(retrieveResponse(store, id, "key-b"), undefined);
    assert.equal(retrieveResponse(store, id), undefined, "nor without a key");
    const next = door.translate({ model: "chat", input: "And?", previous_response_id: id });
    assert.doesNotThrow(() => next.bind?.("key-a"));
    const notFound = (owner: string | undefined, prev: string) => () =>
      door.translate({ model: "chat", input: "x", previous_response_id: prev }).bind?.(owner);
    const same = (e: unknown) =>
      e instanceof InferplaneError &&
      e.param === "previous_response_id" &&
      e.def.status === 400 &&
      /not found/.test(e.message);
    assert.throws(notFound("key-b", id), same, "another key's response");
    assert.throws(notFound("key-b", "resp_unknown"), same, "a missing one, the same answer");
  });

  it("the store is bounded in count and age", () => {
    let now = 0;
    const store = new ResponseStore(2, 1000, () => now);
    store.put("a", {}, []);
    store.put("b", {}, []);
    store.put("c", {}, []);
    assert.equal(store.size, 2);
    assert.equal(store.get("a"), undefined, "the oldest goes first");
    now = 1001;
    assert.equal(store.get("b"), undefined, "expired");
  });

  it("errors keep the OpenAI shape", () => {
    const err = new InferplaneError("invalid_request", "bad", { param: "input" });
    assert.deepEqual(responsesDoor().errorBody(err), {
      error: { message: "bad", type: "invalid_request_error", code: "invalid_request", param: "input" },
    });
  });
});

describe("responses door: streams", () => {
  it("text: created, in_progress, item and part added, deltas, done events, completed with usage", () => {
    const s = responsesDoor().translate({ model: "chat", input: "x", stream: true }).streamTranslator();
    const frames = [
      ...s.event(chunk.role()),
      ...s.event(chunk.text("Hel")),
      ...s.event(chunk.text("lo", "stop")),
      ...s.event(chunk.usage(7, 2)),
      ...s.event("[DONE]"),
      ...s.end(),
    ];
    const events = parseFrames(frames);
    assert.deepEqual(
      events.map((e) => e.event),
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ],
    );
    events.forEach((e, i) => {
      assert.equal(e.data.type, e.event);
      assert.equal(e.data.sequence_number, i);
    });
    assert.equal(nth(events, 6).data.text, "Hello");
    const final = nth(events, 9).data.response as Json;
    assert.equal(final.status, "completed");
    assert.deepEqual((final.usage as Json).output_tokens, 2);
    const [message] = final.output as { content: { text: string }[] }[];
    assert.equal(message?.content[0]?.text, "Hello");
  });

  it("tool calls: a function_call item per call, argument deltas, done with the whole arguments", () => {
    const s = responsesDoor()
      .translate({ model: "chat", input: "x", stream: true, tools: [{ type: "function", name: "f" }] })
      .streamTranslator();
    const events = parseFrames([
      ...s.event(chunk.role()),
      ...s.event(chunk.toolStart(0, "call_a", "f", '{"x"')),
      ...s.event(chunk.toolArgs(0, ":1}")),
      ...s.event(chunk.toolStart(1, "call_b", "f", "{}")),
      ...s.event(chunk.toolArgs(1, "", "tool_calls")),
      ...s.end(),
    ]);
    assert.deepEqual(
      events.map((e) => e.event),
      [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
      ],
    );
    assert.equal(nth(events, 7).data.arguments, '{"x":1}');
    const output = (nth(events, 11).data.response as Json).output as Json[];
    assert.deepEqual(
      output.map((o) => [o.call_id, o.arguments, o.status]),
      [
        ["call_a", '{"x":1}', "completed"],
        ["call_b", "{}", "completed"],
      ],
    );
  });

  it("a failure mid-stream is an error event", () => {
    const s = responsesDoor().translate({ model: "chat", input: "x", stream: true }).streamTranslator();
    s.event(chunk.text("a"));
    const [e] = parseFrames(s.fail(new InferplaneError("upstream_stream_error", "gone")));
    assert.equal(e?.event, "error");
    assert.equal(e?.data.type, "error");
    assert.equal(e?.data.code, "upstream_stream_error");
    assert.equal(e?.data.message, "gone");
  });
});
