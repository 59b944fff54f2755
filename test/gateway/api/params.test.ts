// vLLM's parameter ranges, checked before dispatch: the first bad parameter is named in `param`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferplaneError } from "../../../src/errors.js";
import { type ParamOp, validateParams } from "../../../src/gateway/api/params.js";

function refuses(op: ParamOp, body: Record<string, unknown>, param: string, message?: RegExp): void {
  const before = JSON.stringify(body);
  assert.throws(
    () => validateParams(op, body),
    (err: unknown) => {
      assert.ok(err instanceof InferplaneError);
      assert.equal(err.code, "invalid_request");
      assert.equal(err.param, param, `${JSON.stringify(body)} → ${err.message}`);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
  assert.equal(JSON.stringify(body), before, "the body is not changed");
}

const msgs = { messages: [{ role: "user", content: "hi" }] };

describe("validateParams", () => {
  it("accepts the ordinary and the edges of each range", () => {
    for (const extra of [
      {},
      { temperature: 0 },
      { temperature: 2, top_p: 1, n: 3 },
      { top_p: 0.01, top_k: -1, min_p: 1 },
      { presence_penalty: -2, frequency_penalty: 2, repetition_penalty: 0.1 },
      { logprobs: true, top_logprobs: 20 },
      { logprobs: false, top_logprobs: 0 },
      { max_tokens: 1, min_tokens: 1 },
      { stop: ["a", "b"], seed: -5 },
      { stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } },
      {
        tools: [{ type: "function", function: { name: "f" } }],
        tool_choice: { type: "function", function: { name: "f" } },
      },
      { tools: [], tool_choice: "none" },
      { response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } } },
      { temperature: null, top_p: null, n: null },
      { some_vendor_field: { anything: 1 } },
    ])
      assert.doesNotThrow(() => validateParams("chat", { ...msgs, ...extra }), JSON.stringify(extra));
    assert.doesNotThrow(() => validateParams("completions", { prompt: "x", logprobs: 0, n: 2 }));
    assert.doesNotThrow(() =>
      validateParams("embeddings", { input: [[1, 2], [3]], dimensions: 8, encoding_format: "base64" }),
    );
  });

  it("refuses sampling values out of vLLM's ranges", () => {
    refuses("chat", { temperature: -1 }, "temperature", /non-negative/);
    refuses("chat", { temperature: 2.5 }, "temperature", /\[0, 2\]/);
    refuses("chat", { temperature: "hot" }, "temperature", /finite number/);
    refuses("chat", { top_p: 0 }, "top_p", /\(0, 1\]/);
    refuses("completions", { top_p: 1.01 }, "top_p");
    refuses("chat", { top_k: -2 }, "top_k");
    refuses("chat", { min_p: 1.5 }, "min_p");
    refuses("chat", { presence_penalty: 3 }, "presence_penalty");
    refuses("chat", { frequency_penalty: -2.1 }, "frequency_penalty");
    refuses("chat", { repetition_penalty: 0 }, "repetition_penalty");
    refuses("chat", { n: 0 }, "n", /at least 1/);
    refuses("chat", { n: 1.5 }, "n", /integer/);
    refuses("chat", { n: 2, temperature: 0 }, "n", /greedy/);
    refuses("completions", { n: 3, best_of: 2 }, "best_of");
    refuses("chat", { max_tokens: 0 }, "max_tokens");
    refuses("chat", { max_completion_tokens: -1 }, "max_completion_tokens");
    refuses("chat", { max_tokens: 4, min_tokens: 5 }, "min_tokens");
    refuses("chat", { stop: ["ok", ""] }, "stop", /empty/);
    refuses("chat", { stop: 3 }, "stop");
    refuses("chat", { seed: 1.5 }, "seed");
  });

  it("refuses logprobs the way vLLM does", () => {
    refuses("chat", { top_logprobs: 2 }, "top_logprobs", /`logprobs` must be set to true/);
    refuses("chat", { logprobs: true, top_logprobs: -1 }, "top_logprobs");
    refuses("chat", { logprobs: true, top_logprobs: 21 }, "top_logprobs", /max allowed: 20/);
    refuses("chat", { logprobs: 1 }, "logprobs", /boolean/);
    refuses("completions", { logprobs: 21 }, "logprobs");
    refuses("completions", { logprobs: -1 }, "logprobs");
  });

  it("refuses stream_options without stream, and tool_choice without matching tools", () => {
    refuses("chat", { stream_options: { include_usage: true } }, "stream_options", /stream=True/);
    refuses("chat", { tool_choice: "auto" }, "tool_choice", /`tools` must be set/);
    refuses(
      "chat",
      { tools: [{ type: "function", function: { name: "f" } }], tool_choice: "sometimes" },
      "tool_choice",
    );
    refuses(
      "chat",
      {
        tools: [{ type: "function", function: { name: "f" } }],
        tool_choice: { type: "function", function: { name: "g" } },
      },
      "tool_choice",
      /does not match/,
    );
    refuses("chat", { tools: [{ type: "function", function: {} }] }, "tools[0].function.name");
    refuses(
      "chat",
      { tools: [{ type: "function", function: { name: "f", parameters: "x" } }] },
      "tools[0].function.parameters",
    );
    refuses("chat", { response_format: { type: "yaml" } }, "response_format.type");
    refuses("chat", { response_format: { type: "json_schema" } }, "response_format.json_schema");
  });

  it("refuses embeddings inputs that are neither text nor token ids", () => {
    refuses("embeddings", { input: [] }, "input");
    refuses("embeddings", { input: [1, "a"] }, "input");
    refuses("embeddings", { input: "x", dimensions: 0 }, "dimensions");
    refuses("embeddings", { input: "x", encoding_format: "hex" }, "encoding_format");
  });

  it("a body that is not an object is invalid_json", () => {
    assert.throws(
      () => validateParams("chat", [1]),
      (e: unknown) => e instanceof InferplaneError && e.code === "invalid_json",
    );
  });
});
