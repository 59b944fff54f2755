import type { EngineId } from "../catalog/engines.js";

/** A pool as the proxy sees it: one served model behind one engine (its adapter is chosen from it). */
export interface PoolInfo {
  /** `models[].name` in the spec. */
  name: string;
  engine: EngineId;
  engineVersion?: string;
  /** Model name the upstream expects in the request body (the served model name). */
  upstreamModel: string;
  /** Environment variable holding the upstream API key (external providers). */
  apiKeyEnv?: string;
  /** Longest context (prompt + output) the pool accepts, tokens, when known. */
  maxModelLen?: number;
}
