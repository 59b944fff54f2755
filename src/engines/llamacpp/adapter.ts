/**
 * llama.cpp server. Paths and metric names come from the catalog: `llamacpp:requests_processing`
 * is running, `llamacpp:requests_deferred` waiting (the server needs `--metrics`). It exports no
 * KV-cache gauge, so `kvUsage` stays unset and the load-aware balancer scores the queue alone.
 * Its own error wording is recognised for context fallback and "not supported".
 */
import { type AdapterOptions, CatalogAdapter, type EngineAdapter } from "../adapter.js";
import type { UpstreamRefusal } from "../dialect.js";
import { llamacppRefusal } from "./dialect.js";

export class LlamaCppAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("llamacpp", opts);
  }

  override refusal(status: number, body: unknown): UpstreamRefusal | undefined {
    return llamacppRefusal(status, body);
  }
}

export function llamacppAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new LlamaCppAdapter(opts);
}
