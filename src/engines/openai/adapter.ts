/**
 * An external OpenAI-compatible provider (`engine: openai`). No metrics to scrape, and no
 * unauthenticated health endpoint: the health check GETs `/v1/models` with the pool's key
 * (`requestHeaders`), which every OpenAI-compatible API serves and which costs no tokens.
 * The key comes from the environment variable `models[].apiKeyEnv` names; a missing variable is
 * a clear error, never an anonymous request.
 */

import { type AdapterOptions, CatalogAdapter, type EngineAdapter } from "../adapter.js";
import type { EndpointLoad } from "../load.js";

export class OpenAiAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("openai", opts);
  }

  protected override resolveHealthPath(): string {
    return this.info.api.models ?? "/v1/models";
  }

  override parseLoad(_metricsText: string, _now: number): EndpointLoad | undefined {
    return undefined;
  }
}

export function openaiAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new OpenAiAdapter(opts);
}
