/** Each generation endpoint's wire, by the dialect that owns it. */

import type { Job, Wire, WireContext } from "../generation.js";
import type { GenKind, ParsedGeneration } from "../request.js";
import { ollamaWire } from "./ollama.js";
import { openaiWire } from "./openai.js";
import { tgiWire } from "./tgi.js";
import { tritonWire } from "./triton.js";

export function wireFor(kind: GenKind, ctx: WireContext, p: ParsedGeneration, job: Job): Wire {
  switch (kind) {
    case "chat":
    case "completion":
      return openaiWire(kind, ctx, p, job);
    case "tgi":
    case "tgi-stream":
      return tgiWire(p, job);
    case "ollama-chat":
    case "ollama-generate":
      return ollamaWire(kind, ctx, p);
    case "triton":
    case "triton-stream":
      return tritonWire(ctx, p);
  }
}
