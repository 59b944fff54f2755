// The Anthropic Messages door's translator on its own: requests to chat, answers and streams
// back, errors in Anthropic's shape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferplaneError } from "../../../src/errors.js";
import { anthropicError, messagesDoor } from "../../../src/gateway/api/messages.js";
import { chunk, nth, parseFrames } from "./frames.js";

type Json = Record<string, unknown>;

function refuses(body: Json, param: string): void {
  assert.throws(
    () => messagesDoor().translate(body),
    (e: unknown) => e instanceof InferplaneError && e.param === param && e.def.status === 400,
    JSON.stringify(body),
  );
}

const base = { model: "chat", max_tokens: 100 };
const user = [{ role: "user", content: "Hi" }];

describe("messages door: request translation", () => {
  it("system, max_tokens, stop_sequences and sampling", () => {
    const t = messagesDoor().translate({
      ...base,
      system: [
        { type: "text", text: "A" },
        { type: "text", text: "B" },
      ],
      messages: user,
      stop_sequences: ["END"],
      temperature: 0.5,
      top_k: 5,
    });
    assert.deepEqual(t.body, {
      model: "chat",
      messages: [
        { role: "system", content: "A\nB" },
        { role: "user", content: "Hi" },
      ],
      max_tokens: 100,
      stop: ["END"],
      temperature: 0.5,
      top_k: 5,
    });
    assert.equal(t.op, "chat");
  });

  it("tool_use and tool_result blocks become tool calls and tool messages; images become data URLs", () => {
    const t = messagesDoor().translate({
      ...base,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Look" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Calling." },
            { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "42" }] },
            { type: "text", text: "Thanks" },
          ],
        },
      ],
    });
    assert.deepEqual(t.body.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "Look" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        ],
      },
      {
        role: "assistant",
        content: "Calling.",
        tool_calls: [{ id: "toolu_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "42" },
      { role: "user", content: "Thanks" },
    ]);
  });

  it("tools and tool_choice: any → required, tool → named, disable_parallel_tool_use", () => {
    const tools = [{ name: "f", description: "d", input_schema: { type: "object" } }];
    const any = messagesDoor().translate({
      ...base,
      messages: user,
      tools,
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    assert.deepEqual(any.body.tools, [
      { type: "function", function: { name: "f", parameters: { type: "object" }, description: "d" } },
    ]);
    assert.equal(any.body.tool_choice, "required");
    assert.equal(any.body.parallel_tool_calls, false);
    const named = messagesDoor().translate({
      ...base,
      messages: user,
      tools,
      tool_choice: { type: "tool", name: "f" },
      stream: true,
    });
    assert.deepEqual(named.body.tool_choice, { type: "function", function: { name: "f" } });
    assert.deepEqual(named.body.stream_options, { include_usage: true });
  });

  it("refuses bad input naming the field", () => {
    refuses({ model: "m", messages: user }, "max_tokens");
    refuses({ max_tokens: 5, messages: user }, "model");
    refuses({ ...base, messages: [] }, "messages");
    refuses({ ...base, messages: [{ role: "system", content: "x" }] }, "messages[0].role");
    refuses(
      { ...base, messages: [{ role: "user", content: [{ type: "document" }] }] },
      "messages[0].content[0].type",
    );
    refuses(
      { ...base, messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "x" }] }] },
      "messages[0].content[0].type",
    );
    refuses({ ...base, messages: user, temperature: 1.5 }, "temperature");
    refuses({ ...base, messages: user, stop_sequences: [""] }, "stop_sequences");
    refuses(
      { ...base, messages: user, tools: [{ type: "web_search_20250305", name: "web_search" }] },
      "tools[0]",
    );
    refuses(
      {
        ...base,
        messages: user,
        tools: [{ name: "f", input_schema: { type: "object" } }],
        tool_choice: { type: "maybe" },
      },
      "tool_choice.type",
    );
  });
});

describe("messages door: answers", () => {
  const reply = (message: Json, finish: string, stop: string | null = null) => ({
    choices: [{ index: 0, message, finish_reason: finish, stop_reason: stop }],
    usage: {
      prompt_tokens: 9,
      completion_tokens: 3,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 4 },
    },
  });

  it("text: a text block, end_turn, usage in Anthropic's names", () => {
    const m = messagesDoor()
      .translate({ ...base, messages: user })
      .response(reply({ role: "assistant", content: "Hello" }, "stop")) as Json;
    assert.equal(m.type, "message");
    assert.equal(m.role, "assistant");
    assert.equal(m.model, "chat");
    assert.match(m.id as string, /^msg_/);
    assert.deepEqual(m.content, [{ type: "text", text: "Hello" }]);
    assert.equal(m.stop_reason, "end_turn");
    assert.equal(m.stop_sequence, null);
    assert.deepEqual(m.usage, {
      input_tokens: 9,
      output_tokens: 3,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 4,
    });
  });

  it("stop_reason: length → max_tokens, a matched stop sequence → stop_sequence, tool calls → tool_use", () => {
    const door = messagesDoor();
    const t = door.translate({ ...base, messages: user, stop_sequences: ["END"] });
    assert.equal((t.response(reply({ content: "a" }, "length")) as Json).stop_reason, "max_tokens");
    const stopped = t.response(reply({ content: "a" }, "stop", "END")) as Json;
    assert.equal(stopped.stop_reason, "stop_sequence");
    assert.equal(stopped.stop_sequence, "END");
    const tool = t.response(
      reply(
        {
          content: null,
          tool_calls: [
            { id: "chatcmpl-tool-1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
          ],
        },
        "stop",
      ),
    ) as Json;
    assert.equal(tool.stop_reason, "tool_use");
    assert.deepEqual(tool.content, [
      { type: "tool_use", id: "toolu_chatcmpl-tool-1", name: "f", input: { a: 1 } },
    ]);
  });

  it("errors in Anthropic's shape, the type from the status", () => {
    assert.deepEqual(anthropicError(new InferplaneError("invalid_request", "bad", { param: "x" })), {
      type: "error",
      error: { type: "invalid_request_error", message: "bad" },
    });
    assert.equal(
      (anthropicError(new InferplaneError("rate_limit_exceeded", "slow")).error as Json).type,
      "rate_limit_error",
    );
    assert.equal(
      (anthropicError(new InferplaneError("no_healthy_upstream", "none")).error as Json).type,
      "overloaded_error",
    );
    assert.equal(
      (anthropicError(new InferplaneError("invalid_api_key", "who")).error as Json).type,
      "authentication_error",
    );
    assert.equal(
      (anthropicError(new InferplaneError("model_not_found", "which")).error as Json).type,
      "not_found_error",
    );
  });
});

describe("messages door: streams", () => {
  it("text then a tool call: block starts, deltas, stops, message_delta with stop_reason and usage, message_stop", () => {
    const s = messagesDoor()
      .translate({
        ...base,
        messages: user,
        stream: true,
        tools: [{ name: "f", input_schema: { type: "object" } }],
      })
      .streamTranslator();
    const events = parseFrames([
      ...s.event(chunk.role()),
      ...s.event(chunk.text("Let me")),
      ...s.event(chunk.text(" check.")),
      ...s.event(chunk.toolStart(0, "call_1", "f", '{"a"')),
      ...s.event(chunk.toolArgs(0, ":1}", "tool_calls")),
      ...s.event(chunk.usage(9, 6)),
      ...s.event("[DONE]"),
      ...s.end(),
    ]);
    assert.deepEqual(
      events.map((e) => `${e.event}${e.data.index !== undefined ? `#${e.data.index}` : ""}`),
      [
        "message_start",
        "content_block_start#0",
        "content_block_delta#0",
        "content_block_delta#0",
        "content_block_stop#0",
        "content_block_start#1",
        "content_block_delta#1",
        "content_block_delta#1",
        "content_block_stop#1",
        "message_delta",
        "message_stop",
      ],
    );
    for (const e of events) assert.equal(e.data.type, e.event);
    assert.deepEqual(nth(events, 5).data.content_block, {
      type: "tool_use",
      id: "toolu_call_1",
      name: "f",
      input: {},
    });
    assert.deepEqual(nth(events, 6).data.delta, { type: "input_json_delta", partial_json: '{"a"' });
    assert.deepEqual(nth(events, 2).data.delta, { type: "text_delta", text: "Let me" });
    assert.deepEqual(nth(events, 9).data.delta, { stop_reason: "tool_use", stop_sequence: null });
    assert.equal((nth(events, 9).data.usage as Json).output_tokens, 6);
    assert.equal((nth(events, 9).data.usage as Json).input_tokens, 9);
  });

  it("a failure mid-stream is an Anthropic error event", () => {
    const s = messagesDoor()
      .translate({ ...base, messages: user, stream: true })
      .streamTranslator();
    s.event(chunk.text("a"));
    const [e] = parseFrames(s.fail(new InferplaneError("upstream_stream_error", "gone")));
    assert.equal(e?.event, "error");
    assert.deepEqual(e?.data, { type: "error", error: { type: "api_error", message: "gone" } });
  });
});
