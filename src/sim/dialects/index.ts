/** Each generation endpoint's wire: the OpenAI API's, or the one an engine's native route brings. */

import type { Job, Wire, WireContext } from "../generation.js";
import type { GenRoute, ParsedGeneration } from "../request.js";
import { openaiWire } from "./openai.js";

export function wireFor(route: GenRoute, ctx: WireContext, p: ParsedGeneration, job: Job): Wire {
  return typeof route === "string" ? openaiWire(route, ctx, p, job) : route.wire(ctx, p, job);
}
