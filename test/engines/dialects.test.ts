// Each engine recognises its own "prompt too long" and "not supported" answers (its folder's
// dialect.ts), from the bodies those servers send; the gateway only asks (EngineAdapter.refusal).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getEngineAdapter } from "../../src/engines/index.js";

describe("vLLM's own error wording", () => {
  const a = getEngineAdapter("vllm");
  // vLLM's ErrorResponse as 0.8 serves it (flat), and nested under `error` as later releases do.
  const flat = {
    object: "error",
    message:
      "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.",
    type: "BadRequestError",
    param: null,
    code: 400,
  };
  it("a prompt over the context is a context overflow, flat or nested", () => {
    assert.equal(a.refusal(400, flat), "context-overflow");
    assert.equal(a.refusal(400, { error: flat }), "context-overflow");
    assert.equal(
      a.refusal(400, { error: { message: "too long", code: "context_length_exceeded" } }),
      "context-overflow",
    );
  });
  it("other 400s are ordinary errors; 501 is not supported", () => {
    assert.equal(
      a.refusal(400, { error: { message: "temperature must be ≥ 0", type: "BadRequestError" } }),
      undefined,
    );
    assert.equal(a.refusal(500, flat), undefined);
    assert.equal(
      a.refusal(501, { error: { message: "The model does not support Embeddings API" } }),
      "not-supported",
    );
  });
});

describe("TGI's own error wording", () => {
  const a = getEngineAdapter("tgi");
  // TGI router (router/src/validation.rs): validation errors answer 422 {"error", "error_type"}.
  const total = {
    error:
      "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`",
    error_type: "validation",
  };
  const input = {
    error: "Input validation error: `inputs` must have less than 4095 tokens. Given: 5000",
    error_type: "validation",
  };
  it("inputs + max_new_tokens over the limit, or inputs over it, is a context overflow", () => {
    assert.equal(a.refusal(422, total), "context-overflow");
    assert.equal(a.refusal(422, input), "context-overflow");
    assert.equal(a.refusal(422, JSON.stringify(total)), "context-overflow");
  });
  it("other validation errors are ordinary; 501 is not supported", () => {
    assert.equal(
      a.refusal(422, {
        error: "Input validation error: `temperature` must be strictly positive",
        error_type: "validation",
      }),
      undefined,
    );
    assert.equal(a.refusal(500, total), undefined);
    assert.equal(a.refusal(501, { error: "not implemented" }), "not-supported");
  });
});
