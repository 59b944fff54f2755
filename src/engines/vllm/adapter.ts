/**
 * vLLM (OpenAI-compatible server). Everything engine-specific is in the catalog: paths, and the
 * metric names by version — `vllm:kv_cache_usage_perc` since 0.9.2, `vllm:gpu_cache_usage_perc`
 * before (gone in 0.12); the load reader tries the catalog's candidates in order, so an engine
 * older or newer than the spec says still reads. KV usage is already a 0–1 fraction.
 */
import { type AdapterOptions, CatalogAdapter, type EngineAdapter } from "../adapter.js";
import type { UpstreamRefusal } from "../dialect.js";
import { vllmRefusal } from "./dialect.js";

export class VllmAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("vllm", opts);
  }

  /** vLLM's own "prompt too long" (dialect.ts), and 501 "not supported". */
  override refusal(status: number, body: unknown): UpstreamRefusal | undefined {
    return vllmRefusal(status, body);
  }
}

export function vllmAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new VllmAdapter(opts);
}
