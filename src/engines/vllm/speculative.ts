/**
 * Speculative decoding on vLLM: one JSON flag, `--speculative-config` (docs.vllm.ai
 * features/speculative_decoding: `{"model": …, "num_speculative_tokens": N}` for a draft model,
 * `{"method": "ngram", "num_speculative_tokens": N, "prompt_lookup_max": 4}` for n-gram; methods
 * per vllm/config/speculative.py `SpeculativeMethod`), and what the spec must say for it.
 */
import { compareVersions, engineInfo } from "../../catalog/engines.js";
import { draftCatalogModel } from "../../catalog/models.js";
import type { ModelSpec } from "../../spec/schema.js";
import type { ModelProblem } from "../engine.js";

/** The Hugging Face repo vLLM loads the draft from: the hf:// source, else the catalog's first variant. */
export function draftRepo(draft: string): string {
  if (draft.startsWith("hf://")) return draft.slice("hf://".length);
  const variants = draftCatalogModel(draft)?.variants ?? [];
  return (variants.find((v) => !v.base && v.quantization === "none") ?? variants[0])?.repo ?? draft;
}

export function vllmSpeculativeArgs(m: ModelSpec): string[] {
  const s = m.speculative;
  if (!s) return [];
  const config: Record<string, unknown> = {
    ...(s.method ? { method: s.method } : {}),
    ...(s.draftModel ? { model: draftRepo(s.draftModel) } : {}),
    num_speculative_tokens: s.numTokens,
    // vLLM's n-gram default window (prompt_lookup_max) is unset; 4 is its documented example.
    ...(s.method === "ngram" ? { prompt_lookup_max: 4 } : {}),
  };
  return ["--speculative-config", JSON.stringify(config)];
}

// vLLM SpeculativeConfig (docs.vllm.ai/en/v0.11.0/api/vllm/config/speculative.html): ngram and
// MTP propose from the prompt / the model's own heads; EAGLE and Medusa load separate heads.
const NEEDS_DRAFT = new Set(["eagle", "eagle3", "medusa"]);

/** What is wrong with the model's `speculative` for vLLM (paths under the model). */
export function vllmSpeculativeProblems(m: ModelSpec): ModelProblem[] {
  const s = m.speculative;
  if (!s) return [];
  const out: ModelProblem[] = [];
  const at = ["speculative"];
  // `--speculative-config` JSON: vLLM 0.8.3 runs it (vllm-project/vllm#16883); older releases
  // took --speculative-model / --num-speculative-tokens.
  const version = engineInfo(m.engine, m.engineVersion).version;
  if (compareVersions(version, "0.8.3") < 0)
    out.push({
      path: ["engineVersion"],
      message: `speculative decoding is rendered as --speculative-config, which vLLM ${version} does not read: use vLLM 0.8.3 or later`,
    });
  if (s.draftModel === undefined && s.method === undefined)
    out.push({ path: at, message: "set `draftModel` (a draft model) or `method` (ngram, mtp)" });
  if (s.method !== undefined && NEEDS_DRAFT.has(s.method) && s.draftModel === undefined)
    out.push({
      path: [...at, "draftModel"],
      message: `method ${s.method} needs its heads in \`draftModel\``,
    });
  if ((s.method === "ngram" || s.method === "mtp") && s.draftModel !== undefined)
    out.push({ path: [...at, "draftModel"], message: `method ${s.method} takes no draft model` });
  // A plain draft model is sized from the catalog; EAGLE/Medusa heads are small and not catalogued.
  if (s.draftModel !== undefined && s.method === undefined && !draftCatalogModel(s.draftModel))
    out.push({
      path: [...at, "draftModel"],
      message: `draft model "${s.draftModel}" is not in the catalog, so the plan cannot count its memory`,
    });
  return out;
}
