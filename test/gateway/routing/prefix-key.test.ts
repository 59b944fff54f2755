import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PREFIX_KEY_MAX_CHARS, prefixKey } from "../../../src/gateway/routing/prefix-key.js";

describe("prefixKey", () => {
  it("chat: roles and contents in order", () => {
    const body = {
      model: "m",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
      ],
    };
    assert.equal(prefixKey(body, "chat"), "system:You are terse.\nuser:Hi\n");
  });

  it("chat: the text parts of array content, other parts skipped", () => {
    const body = {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Describe " },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            { type: "text", text: "this image." },
          ],
        },
      ],
    };
    assert.equal(prefixKey(body, "chat"), "user:Describe this image.\n");
  });

  it("chat: requests sharing a system prompt share the key's start", () => {
    const system = { role: "system", content: "S".repeat(300) };
    const a = prefixKey({ messages: [system, { role: "user", content: "one" }] }, "chat");
    const b = prefixKey({ messages: [system, { role: "user", content: "two" }] }, "chat");
    assert.ok(a && b);
    assert.equal(a.slice(0, 300), b.slice(0, 300));
    assert.notEqual(a, b);
  });

  it("is capped at 2,000 characters (or maxChars), whatever the conversation's length", () => {
    const long = {
      messages: Array.from({ length: 50 }, (_, i) => ({ role: "user", content: `${i}`.repeat(500) })),
    };
    const key = prefixKey(long, "chat");
    assert.equal(PREFIX_KEY_MAX_CHARS, 2_000);
    assert.equal(key?.length, 2_000);
    assert.ok(key?.startsWith("user:000"));
    assert.equal(prefixKey(long, "chat", 10), "user:00000");
    // Later turns do not change the key once the cap is reached.
    const more = { messages: [...long.messages, { role: "user", content: "new turn" }] };
    assert.equal(prefixKey(more, "chat"), key);
  });

  it("completions: the prompt, or the first string of an array", () => {
    assert.equal(prefixKey({ prompt: "Once upon a time" }, "completions"), "Once upon a time");
    assert.equal(prefixKey({ prompt: ["first", "second"] }, "completions"), "first");
    assert.equal(prefixKey({ prompt: "x".repeat(5_000) }, "completions")?.length, 2_000);
    assert.equal(prefixKey({ prompt: "abcdef" }, "completions", 3), "abc");
  });

  it("malformed or empty bodies give undefined, never throw", () => {
    const bad: unknown[] = [
      undefined,
      null,
      "text",
      42,
      [],
      {},
      { messages: "hi" },
      { messages: [] },
      { messages: [null, 5, "x", []] },
      { messages: [{ role: "user" }] },
      { messages: [{ role: "user", content: "" }] },
      { messages: [{ role: "user", content: [{ type: "image_url" }, null, { type: "text", text: 3 }] }] },
      { messages: [{ role: 7, content: { text: "not an array" } }] },
    ];
    for (const body of bad) assert.equal(prefixKey(body, "chat"), undefined, JSON.stringify(body));
    const badPrompts: unknown[] = [
      {},
      { prompt: "" },
      { prompt: [] },
      { prompt: [1, 2, 3] },
      { prompt: [[1, 2]] },
      { prompt: 5 },
    ];
    for (const body of badPrompts)
      assert.equal(prefixKey(body, "completions"), undefined, JSON.stringify(body));
    assert.equal(prefixKey({ messages: [{ role: "user", content: "x" }] }, "chat", 0), undefined);
  });

  it("skips malformed messages but keeps the good ones", () => {
    const body = { messages: [null, { role: "user", content: "ok" }, { content: "no role" }] };
    assert.equal(prefixKey(body, "chat"), "user:ok\n:no role\n");
  });
});
