// Admission's token accounting, pure: every completion-limit field an engine honours, sequences,
// the imposed ceiling, every prompt part counted (tools, tool calls, non-text parts), and the
// StreamMeter that cuts a stream past the key's remaining TPM or budget.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStreamMeter } from "../../../src/gateway/policy/stream-meter.js";
import {
  completionReserve,
  IMAGE_PART_TOKENS,
  promptTokenEstimate,
} from "../../../src/gateway/policy/tokens.js";

const msgs = [{ role: "user", content: "x".repeat(40) }];

describe("completion reserve", () => {
  it("takes the largest limit field, times the sequences", () => {
    assert.equal(completionReserve("chat", { max_tokens: 1, max_completion_tokens: 6000 }, 256).tokens, 6000);
    assert.equal(completionReserve("chat", { max_completion_tokens: 10, max_tokens: 700 }, 256).tokens, 700);
    assert.equal(completionReserve("chat", { max_tokens: 100, n: 50 }, 256).tokens, 5000);
    assert.equal(completionReserve("completions", { max_tokens: 10, best_of: 5, n: 2 }, 256).tokens, 50);
    assert.equal(
      completionReserve("chat", { max_tokens: 10, n: "7" }, 256).tokens,
      70,
      "numeric strings count",
    );
    assert.equal(completionReserve("chat", { max_tokens: 10, min_tokens: 90 }, 256).tokens, 90);
    assert.equal(completionReserve("embeddings", { max_tokens: 10 }, 256).tokens, 0);
  });
  it("with no limit: the ceiling (capped by the context left) is reserved and imposed", () => {
    assert.deepEqual(completionReserve("chat", {}, 256), { tokens: 256, impose: 256 });
    assert.deepEqual(completionReserve("chat", { n: 3 }, 256), { tokens: 768, impose: 256 });
    assert.deepEqual(completionReserve("chat", {}, 256, 100), { tokens: 100, impose: 100 });
    assert.deepEqual(completionReserve("chat", { min_tokens: 300 }, 256), { tokens: 300, impose: 300 });
  });
});

describe("prompt estimate", () => {
  it("counts text, message framing, tools, tool calls and non-text parts", () => {
    const base = promptTokenEstimate("chat", { messages: msgs });
    assert.equal(base, 10 + 4);
    const tools = [{ type: "function", function: { name: "f", parameters: { d: "y".repeat(4000) } } }];
    assert.ok(promptTokenEstimate("chat", { messages: msgs, tools }) >= base + 1000, "tool definitions");
    const call = {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "z".repeat(4000) } }],
    };
    assert.ok(promptTokenEstimate("chat", { messages: [...msgs, call] }) >= base + 1000, "tool calls");
    const image = { type: "image_url", image_url: { url: "https://example.com/a.png" } };
    const withImages = promptTokenEstimate("chat", {
      messages: [{ role: "user", content: [{ type: "text", text: "x".repeat(40) }, image, image] }],
    });
    assert.ok(withImages >= base + 2 * IMAGE_PART_TOKENS, `two images: ${withImages}`);
    const audio = { type: "input_audio", input_audio: { data: "A".repeat(8000), format: "wav" } };
    assert.ok(promptTokenEstimate("chat", { messages: [{ role: "user", content: [audio] }] }) >= 2000);
  });
  it("rerank scores the query once per document", () => {
    const docs = ["a", "b", "c", "d"];
    assert.equal(
      promptTokenEstimate("rerank", { query: "q".repeat(400), documents: docs }),
      Math.ceil(1604 / 4),
    );
  });
});

describe("StreamMeter", () => {
  it("lets a stream use its reservation plus what the key had left, then cuts with the TPM code", () => {
    const m = createStreamMeter({ keyName: "k", reserved: 100, tpmLeft: 50 });
    assert.ok(m);
    assert.equal(m.add(100), "ok");
    assert.equal(m.add(50), "ok");
    assert.equal(m.cutReason, undefined);
    assert.equal(m.add(1), "cut");
    assert.equal((m.cutReason as { code: string } | undefined)?.code, "rate_limit_exceeded");
    assert.equal(m.add(0), "cut", "stays cut");
  });
  it("the budget cuts first when it is the smaller", () => {
    const m = createStreamMeter({ keyName: "k", reserved: 10, tpmLeft: 1000, budgetLeft: 5 });
    assert.equal(m?.add(15), "ok");
    assert.equal(m?.add(1), "cut");
    assert.equal(m?.cutReason?.code, "insufficient_quota");
    assert.doesNotMatch(m?.cutReason?.message ?? "", /ipk_/);
  });
  it("no TPM and no budget: no meter", () => {
    assert.equal(createStreamMeter({ keyName: "k", reserved: 10 }), undefined);
  });
});
