import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  jsonlWorkload,
  parseLength,
  randomWorkload,
  sessionsOf,
  sharedPrefixWorkload,
  sharegptWorkload,
} from "../../src/bench/workload.js";
import { isInferplaneError } from "../../src/errors.js";
import { countTokens } from "../../src/sim/text.js";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const usageError = (re: RegExp) => (e: unknown) =>
  isInferplaneError(e) && e.code === "usage" && re.test(e.message);

describe("workloads", () => {
  it("random prompts have exactly the asked token count (the simulator's tokenizer) and differ", () => {
    const w = randomWorkload({
      sessions: 50,
      input: parseLength("input-tokens", "100-300"),
      output: parseLength("output-tokens", "179"),
      seed: 3,
    });
    assert.equal(sessionsOf(w).length, 50);
    const prompts = new Set<string>();
    for (const s of sessionsOf(w)) {
      const t = s.turns[0];
      assert.ok(t && t.promptTokens >= 100 && t.promptTokens <= 300);
      assert.equal(countTokens(t.prompt), t.promptTokens);
      assert.equal(t.maxTokens, 179);
      prompts.add(t.prompt.slice(0, 200));
    }
    assert.equal(prompts.size, 50);
    // Seeded: the same seed gives the same workload.
    const again = randomWorkload({
      sessions: 50,
      input: parseLength("x", "100-300"),
      output: parseLength("x", "179"),
      seed: 3,
    });
    assert.deepEqual(sessionsOf(again), sessionsOf(w));
  });

  it("sessions are built on demand: session i does not depend on the workload's size", () => {
    const spec = { input: parseLength("x", "50-60"), output: parseLength("x", "10"), seed: 9 };
    const small = randomWorkload({ sessions: 10, ...spec });
    const endless = randomWorkload({ sessions: Number.POSITIVE_INFINITY, ...spec });
    assert.equal(endless.size, Number.POSITIVE_INFINITY);
    assert.deepEqual(endless.at(7), small.at(7));
    assert.deepEqual(endless.at(123_456).turns[0]?.promptTokens, endless.at(123_456).turns[0]?.promptTokens);
  });

  it("length specs: N, MIN-MAX, MEAN:SIGMA; bad ones name the flag", () => {
    assert.deepEqual(parseLength("input-tokens", "202"), { kind: "fixed", value: 202 });
    assert.deepEqual(parseLength("input-tokens", "10-20"), { kind: "uniform", min: 10, max: 20 });
    assert.deepEqual(parseLength("input-tokens", "202:0.5"), {
      kind: "lognormal",
      mean: 202,
      sigma: 0.5,
      min: 1,
    });
    assert.deepEqual(parseLength("input-tokens", "202:0.5:4-1024"), {
      kind: "lognormal",
      mean: 202,
      sigma: 0.5,
      min: 4,
      max: 1024,
    });
    assert.throws(() => parseLength("input-tokens", "lots"), usageError(/--input-tokens/));
    assert.throws(() => parseLength("input-tokens", "20-10"), usageError(/min > max/));
    assert.throws(() => parseLength("output-tokens", "0"), usageError(/--output-tokens/));
  });

  it("shared-prefix: sessions share one of N system prompts of the given length, with several turns", () => {
    const w = sharedPrefixWorkload({
      sessions: 40,
      prefixes: 4,
      prefixTokens: 300,
      input: { kind: "fixed", value: 20 },
      output: { kind: "fixed", value: 10 },
      turns: { kind: "uniform", min: 2, max: 4 },
      thinkMs: 0,
      seed: 1,
    });
    const systems = new Set(sessionsOf(w).map((s) => s.system?.text));
    assert.equal(systems.size, 4);
    for (const s of sessionsOf(w)) {
      assert.equal(countTokens(s.system?.text ?? ""), 300);
      assert.ok(s.turns.length >= 2 && s.turns.length <= 4);
      for (const t of s.turns) assert.equal(countTokens(t.prompt), 20);
    }
  });

  it("sharegpt: first human turn as prompt, the reply's tokens as output; vLLM's filters", () => {
    const w = sharegptWorkload({
      path: join(FIXTURES, "sharegpt.json"),
      sessions: 10,
      output: { kind: "fixed", value: 1 },
      seed: 1,
    });
    // The fixture has 5 conversations: one too short, one without a reply, one malformed → 2 usable.
    assert.match(w.description, /2 usable pairs/);
    assert.equal(sessionsOf(w).length, 10);
    for (const s of sessionsOf(w)) {
      const t = s.turns[0];
      assert.ok(t);
      assert.equal(t.promptTokens, countTokens(t.prompt));
      assert.ok(t.maxTokens >= 4);
      assert.ok(t.prompt.startsWith("Explain") || t.prompt.startsWith("Write"));
    }
  });

  it("jsonl: strings or {prompt, max_tokens}; a bad line is an error naming its line", () => {
    const w = jsonlWorkload({
      path: join(FIXTURES, "prompts.jsonl"),
      sessions: 3,
      output: { kind: "fixed", value: 64 },
      seed: 1,
    });
    assert.deepEqual(
      sessionsOf(w).map((s) => [s.turns[0]?.prompt, s.turns[0]?.maxTokens]),
      [
        ["What is a KV cache?", 64],
        ["Summarize the guide in one sentence.", 32],
        ["What is a KV cache?", 64],
      ],
    );
    const bad = join(tmpdir(), `inferplane-bench-bad-${process.pid}.jsonl`);
    writeFileSync(bad, '"ok"\n\n{"prompt": 3}\n');
    assert.throws(
      () => jsonlWorkload({ path: bad, sessions: 1, output: { kind: "fixed", value: 1 }, seed: 1 }),
      usageError(/:3: expected/),
    );
    writeFileSync(bad, '"ok"\n{nope\n');
    assert.throws(
      () => jsonlWorkload({ path: bad, sessions: 1, output: { kind: "fixed", value: 1 }, seed: 1 }),
      usageError(/:2: not JSON/),
    );
    assert.throws(
      () =>
        jsonlWorkload({
          path: "/nonexistent.jsonl",
          sessions: 1,
          output: { kind: "fixed", value: 1 },
          seed: 1,
        }),
      usageError(/cannot read/),
    );
  });
});
