import assert from "node:assert/strict";
import { it } from "node:test";
import { bytesOf, SseRelay, utf8Of } from "../../../src/gateway/proxy/sse-relay.js";

const ev = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
const token = (text: string) => ev({ model: "m", choices: [{ index: 0, delta: { content: text } }] });
const usage = ev({ model: "served", choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } });

/** Feeds `wire` to a relay in pieces cut at every `step` bytes; returns what it relays, as bytes. */
function relayAll(r: SseRelay, wire: Buffer, step: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < wire.length; i += step)
    out.push(Buffer.from(r.push(wire.subarray(i, i + step).toString("latin1")), r.encoding));
  out.push(Buffer.from(r.flush(), r.encoding));
  return Buffer.concat(out);
}

it("relays the engine's bytes unchanged, multi-byte characters split across chunks included", () => {
  const events = [
    ev({ choices: [{ delta: { role: "assistant", content: "" } }] }),
    token("héllo ✓"),
    token("日本"),
    usage,
    "data: [DONE]\n\n",
  ];
  const wire = Buffer.from(events.join(""));
  for (const step of [1, 3, 7, wire.length]) {
    const r = new SseRelay(false);
    assert.deepEqual(relayAll(r, wire, step), wire, `step ${step}`);
    assert.equal(r.tokenEvents, 2, "the role-only chunk is not a token");
    assert.deepEqual(r.usage, { prompt_tokens: 7, completion_tokens: 3 });
    assert.equal(r.model, "served");
    assert.equal(r.done, true);
  }
});

it("drops the usage-only chunk the client did not ask for, whatever the chunking", () => {
  const events = [token("a"), token("b"), usage, "data: [DONE]\n\n"];
  const wire = Buffer.from(events.join(""));
  for (const step of [1, 5, wire.length]) {
    const r = new SseRelay(true);
    assert.equal(relayAll(r, wire, step).toString(), `${token("a")}${token("b")}data: [DONE]\n\n`);
    assert.equal(r.usage?.completion_tokens, 3);
  }
});

it("hands a door's transform each event as text and relays its output as text", () => {
  const seen: string[] = [];
  const r = new SseRelay(false, (e) => {
    seen.push(e);
    return `<${e.length}>`;
  });
  assert.equal(r.encoding, "utf8");
  const wire = Buffer.from(token("✓") + usage);
  const out = relayAll(r, wire, 2).toString("utf8");
  assert.deepEqual(seen, [token("✓"), usage]);
  assert.equal(out, `<${token("✓").length}><${usage.length}>`);
});

it("keeps an unterminated event for flush (a truncated stream)", () => {
  const r = new SseRelay(false);
  assert.equal(r.push(Buffer.from(`${token("a")}data: {"cho`).toString("latin1")), token("a"));
  assert.equal(r.flush(), 'data: {"cho');
  assert.equal(r.done, false);
});

it("bytesOf and utf8Of are inverse", () => {
  for (const s of ["plain", "héllo ✓ 日本 🙂"]) assert.equal(utf8Of(bytesOf(s)), s);
});
