// Text helpers of the simulator (tokens, pseudo-text, stop strings, embeddings, rerank) and fault parsing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FaultInjector, parseFaultHeader } from "../../src/sim/faults.js";
import {
  applyStop,
  CHAT_TOKENS_PER_MESSAGE,
  CHAT_TOKENS_PER_PROMPT,
  chatPromptIds,
  countTokens,
  embedText,
  pseudoText,
  pseudoToken,
  rerankScore,
} from "../../src/sim/text.js";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe("sim text", () => {
  it("pseudo-text of N tokens re-tokenizes to exactly N tokens and depends only on the seed", () => {
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      for (const n of [1, 2, 17, 300]) {
        const text = pseudoText(seed, n);
        assert.equal(countTokens(text), n, `seed ${seed}, n ${n}: ${text.slice(0, 60)}`);
        assert.equal(text, pseudoText(seed, n));
      }
    }
    assert.notEqual(pseudoText(1, 50), pseudoText(2, 50));
    assert.equal(pseudoText(5, 10), Array.from({ length: 10 }, (_, i) => pseudoToken(5, i)).join(""));
  });

  it("counts chat prompts as content plus the template's 5 tokens per message and 5 per prompt", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "Hello" }, { type: "image_url" }] },
    ];
    const ids = chatPromptIds(messages);
    assert.equal(CHAT_TOKENS_PER_MESSAGE, 5);
    assert.equal(
      ids.length,
      countTokens("Be brief.") + countTokens("Hello") + 2 * 5 + CHAT_TOKENS_PER_PROMPT,
    );
    // Same leading messages → same leading ids (what prefix caching hashes).
    const other = chatPromptIds([messages[0] ?? { role: "system" }, { role: "user", content: "Bye" }]);
    const shared = countTokens("Be brief.") + 1 + 5;
    assert.deepEqual(other.slice(0, shared), ids.slice(0, shared));
  });

  it("stop strings cut the reply where the first completed stop string starts", () => {
    const seed = 9;
    const full = pseudoText(seed, 40);
    const words = full.split(" ");
    const stop = ` ${words[5]} ${words[6]}`; // spans two tokens
    const cut = applyStop(seed, 40, [stop, "no such text"]);
    assert.ok(cut);
    assert.equal(cut.text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.texts.join(""), cut.text);
    assert.equal(cut.stop, stop);
    // The token completing the stop string is the last one generated.
    assert.equal(cut.tokens, countTokens(full.slice(0, full.indexOf(stop) + stop.length)));
    assert.equal(applyStop(seed, 40, ["zzz"]), null);
  });

  it("embeddings are deterministic unit vectors; shared words give a higher cosine", () => {
    const a = embedText("the red apple", 256);
    const b = embedText("the red apple", 256);
    const c = embedText("a red apple pie", 256);
    const d = embedText("quantum chromodynamics", 256);
    assert.deepEqual(a, b);
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-5);
    assert.ok(dot(a, c) > dot(a, d));
    assert.equal(embedText("", 64).length, 64);
    assert.ok(Math.abs(dot(embedText("", 64), embedText("", 64)) - 1) < 1e-5);
  });

  it("rerank scores lexical overlap in [0, 1]", () => {
    assert.equal(rerankScore("red apple", "red apple"), 1);
    assert.equal(rerankScore("red apple", "blue sky"), 0);
    const partial = rerankScore("red apple", "a red car");
    assert.ok(partial > 0 && partial < 1);
  });

  it("fault headers and seeded fault dice", () => {
    assert.deepEqual(parseFaultHeader("429"), { kind: "status", status: 429 });
    assert.deepEqual(parseFaultHeader(" CUT "), { kind: "cut" });
    assert.deepEqual(parseFaultHeader("slow:250"), { kind: "slow", ms: 250 });
    assert.match(String(parseFaultHeader("200")), /unknown x-sim-fault/);
    const roll = (seed: number) => {
      const f = new FaultInjector({ failRate: 0.3, hangRate: 0.1, cutStreamRate: 0.1, seed });
      return Array.from({ length: 200 }, () => {
        const d = f.decide(undefined);
        return typeof d === "string" ? d : d.kind === "status" ? String(d.status) : d.kind;
      });
    };
    const a = roll(3);
    assert.deepEqual(a, roll(3));
    const fails = a.filter((x) => /^\d+$/.test(x)).length;
    assert.ok(fails > 40 && fails < 80, `~30% of 200 fail: ${fails}`);
    assert.ok(a.includes("hang") && a.includes("cut") && a.includes("none"));
  });
});
