/**
 * Speculative decoding as engine arguments. vLLM takes one JSON flag, `--speculative-config`
 * (docs.vllm.ai features/speculative_decoding: `{"model": …, "num_speculative_tokens": N}` for a
 * draft model, `{"method": "ngram", "num_speculative_tokens": N, "prompt_lookup_max": 4}` for
 * n-gram; methods per vllm/config/speculative.py `SpeculativeMethod`). TGI takes
 * `--speculate N` (Medusa heads in the model, else n-gram). Which engine may speculate how is
 * refused at validation (spec/checks-deploy.ts); this only writes the arguments.
 */
import { draftCatalogModel } from "../spec/checks-deploy.js";
import type { ModelSpec } from "../spec/schema.js";

/** The Hugging Face repo vLLM loads the draft from: the hf:// source, else the catalog's first variant. */
export function draftRepo(draft: string): string {
  if (draft.startsWith("hf://")) return draft.slice("hf://".length);
  const variants = draftCatalogModel(draft)?.variants ?? [];
  return (variants.find((v) => !v.base && v.quantization === "none") ?? variants[0])?.repo ?? draft;
}

export function speculativeArgs(m: ModelSpec): string[] {
  const s = m.speculative;
  if (!s) return [];
  if (m.engine === "tgi") return ["--speculate", String(s.numTokens)];
  if (m.engine !== "vllm") return [];
  const config: Record<string, unknown> = {
    ...(s.method ? { method: s.method } : {}),
    ...(s.draftModel ? { model: draftRepo(s.draftModel) } : {}),
    num_speculative_tokens: s.numTokens,
    // vLLM's n-gram default window (prompt_lookup_max) is unset; 4 is its documented example.
    ...(s.method === "ngram" ? { prompt_lookup_max: 4 } : {}),
  };
  return ["--speculative-config", JSON.stringify(config)];
}
