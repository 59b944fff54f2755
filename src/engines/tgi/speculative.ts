/**
 * Speculative decoding on TGI: one switch, `--speculate N`: Medusa heads when the model itself
 * carries them, else n-gram (huggingface/text-generation-inference
 * docs/source/conceptual/speculation.md). No separate draft model.
 */
import type { ModelSpec } from "../../spec/schema.js";
import type { ModelProblem } from "../engine.js";

export function tgiSpeculativeArgs(m: ModelSpec): string[] {
  return m.speculative ? ["--speculate", String(m.speculative.numTokens)] : [];
}

export function tgiSpeculativeProblems(m: ModelSpec): ModelProblem[] {
  const s = m.speculative;
  if (!s) return [];
  if (s.draftModel !== undefined || (s.method !== "ngram" && s.method !== "medusa"))
    return [
      {
        path: ["speculative"],
        message:
          "TGI speculates only with `method: ngram`, or `method: medusa` when the model itself carries Medusa heads (no `draftModel`)",
      },
    ];
  return [];
}
