/**
 * Ollama. No Prometheus endpoint (ollama/ollama#3144): `metricsPath` is undefined and
 * `parseLoad` always answers undefined, so load-aware balancing falls back to in-flight counts.
 * Health: `/api/version` (the catalog's readiness path), which answers once the server is up.
 */

import { type AdapterOptions, CatalogAdapter, type EngineAdapter } from "../adapter.js";
import type { EndpointLoad } from "../load.js";

export class OllamaAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("ollama", opts);
  }

  override parseLoad(_metricsText: string, _now: number): EndpointLoad | undefined {
    return undefined;
  }
}

export function ollamaAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new OllamaAdapter(opts);
}
