/**
 * The real-time HTTP simulator: one fastify app per replica in front of one EngineCore driven in
 * real time (RealtimeEngine). It speaks the OpenAI API as vLLM does (chat and text completions,
 * streaming or not, embeddings and rerank simulated from text hashes), the engine's own health
 * and metrics paths, and per flavour TGI's, Ollama's or Triton's native routes.
 *
 * Library API: `startSimServer(options)` starts one replica, `startSimFleet(options)` N replicas
 * on consecutive ports; both resolve to handles with `url`, `stop()` (for good), and the admin
 * pair `kill()` (close the listener, drop every connection) / `restart()` (listen again on the
 * same port with a fresh engine, as a restarted pod). Over HTTP: `POST /admin/stop` and
 * `POST /admin/restart` (see docs/simulator-http.md).
 *
 * Layout: options.ts (resolveSimOptions), replica.ts (lifecycle and routes), admission.ts (a
 * generation request from readiness to engine job), dialects/openai.ts (the OpenAI replies;
 * each engine's native routes, error body and exposition style are in its folder,
 * src/engines/<engine>/sim.ts), request.ts (parsing, reply planning), generation.ts
 * (the token-writing listener), pooling.ts (embeddings, rerank, score, tokenize), admin.ts,
 * fleet.ts, wire-errors.ts (error bodies and the readiness check).
 *
 * The hot path (one token of one stream) is one string concatenation and one socket write; a
 * request allocates its wire strings once. No timers per request or per token.
 */

import { SIM_ENGINES, type SimEngine } from "./flavours.js";
import { resolveSimOptions, type SimServerOptions } from "./options.js";
import { Replica, type SimServerHandle } from "./replica.js";

/** Starts one replica; resolves once it listens. Throws InferplaneError on bad options or a busy port. */
export async function startSimServer(options: SimServerOptions): Promise<SimServerHandle> {
  const replica = new Replica(resolveSimOptions(options));
  await replica.start();
  return replica;
}

export { type SimFleetHandle, type SimFleetOptions, startSimFleet } from "./fleet.js";
export { resolveSimOptions, type SimServerOptions, type SimSetup } from "./options.js";
export type { SimServerHandle } from "./replica.js";
export { SIM_ENGINES, type SimEngine };
