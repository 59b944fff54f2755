/**
 * Text Generation Inference. Load from `tgi_batch_current_size` (running) and `tgi_queue_size`
 * (waiting); TGI exports no KV-cache usage gauge, so `kvUsage` stays undefined (the catalog has
 * no `kvCacheUsage` key for it). No embeddings or rerank route (TEI is a separate server).
 */
import { type AdapterOptions, CatalogAdapter, type EngineAdapter } from "../adapter.js";
import type { UpstreamRefusal } from "../dialect.js";
import { tgiRefusal } from "./dialect.js";

export class TgiAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("tgi", opts);
  }

  /** TGI's own "prompt too long" (dialect.ts: 422 validation errors), and 501 "not supported". */
  override refusal(status: number, body: unknown): UpstreamRefusal | undefined {
    return tgiRefusal(status, body);
  }
}

export function tgiAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new TgiAdapter(opts);
}
