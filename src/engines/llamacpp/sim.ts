/**
 * llama.cpp's simulator flavour, for fleets too large to run for real here: the OpenAI routes the
 * catalog lists, `llamacpp:*` gauges and counters, and llama.cpp's error body on every path
 * (`{"error":{"code","message","type"}}`, tools/server/server-common.cpp `format_error_response`):
 * a prompt over the context is `exceed_context_size_error` with `n_prompt_tokens` and `n_ctx`, as
 * the real server answers it (dialect.ts), so the gateway's context fallback sees the same thing.
 * No n > 1, no histograms.
 */
import type { SimFlavourFacts } from "../../sim/flavours.js";
import type { MetricStyle } from "../../sim/metrics.js";
import type { NativeDialect, WireError } from "../../sim/wire-errors.js";
import { vllmBuckets } from "../vllm/sim.js";
import { LLAMACPP_CONTEXT_ERROR_TYPE, LLAMACPP_NOT_SUPPORTED_TYPE } from "./dialect.js";

/** llama.cpp's error `type` by HTTP status (server-common.cpp `format_error_response`). */
const TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  500: "server_error",
  501: LLAMACPP_NOT_SUPPORTED_TYPE,
  503: "unavailable_error",
};

function errorBody(e: WireError): unknown {
  if (e.context !== undefined)
    return {
      error: {
        code: e.status,
        message: `request (${e.context.promptTokens} tokens) exceeds the available context size (${e.context.contextTokens} tokens), try increasing it`,
        type: LLAMACPP_CONTEXT_ERROR_TYPE,
        n_prompt_tokens: e.context.promptTokens,
        n_ctx: e.context.contextTokens,
      },
    };
  return { error: { code: e.status, message: e.message, type: TYPES[e.status] ?? e.type } };
}

const LLAMACPP_DIALECT: NativeDialect = { errorBody };

const metricStyle: MetricStyle = {
  itlPerToken: false,
  finishedReason: false,
  observesAborts: false,
  kvBlockSeries: false,
  buckets: vllmBuckets, // llama.cpp exports no histograms: never read
};

export const llamacppSim: SimFlavourFacts = {
  samplesN: false,
  metricStyle,
  adjust(f) {
    f.openaiDialect = LLAMACPP_DIALECT;
    f.native.dialect = LLAMACPP_DIALECT;
  },
};
