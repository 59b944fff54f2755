/** A generation request read into prompt ids and sampling parameters, and the reply planned for it. */

import type { FastifyRequest } from "fastify";
import { isInferplaneError } from "../errors.js";
import { validateParams } from "../gateway/api/params.js";
import type { FaultAction } from "./faults.js";
import type { SimEngine } from "./flavours.js";
import type { Job } from "./generation.js";
import type { EngineConfig } from "./model/config.js";
import { rng, sampleLength } from "./model/workload.js";
import type { SimSetup } from "./options.js";
import { type RichSpec, richSpec } from "./structured.js";
import { applyStop, type ChatMessageLike, chatPromptIds, completionPromptIds } from "./text.js";
import { badRequest, modelNotFound, type WireError } from "./wire-errors.js";

/** The generation endpoints, one per dialect route. */
export type GenKind =
  | "chat"
  | "completion"
  | "tgi"
  | "tgi-stream"
  | "ollama-chat"
  | "ollama-generate"
  | "triton"
  | "triton-stream";

export interface ParsedGeneration {
  kind: GenKind;
  promptIds: number[];
  maxTokens: number | undefined;
  ignoreEos: boolean;
  minTokens: number;
  stops: string[];
  seed: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  details: boolean;
  /** n choices, logprobs, tools, JSON output or continuous usage (OpenAI routes): the RichReply path. */
  rich: RichSpec | null;
}

/** What planning a reply reads from its replica. */
export interface ReplyPlanner {
  readonly config: EngineConfig;
  readonly setup: SimSetup;
  /** The replica's own random stream (requests without a seed). */
  readonly rand: () => number;
  nextId(): string;
}

/** Reads the request body of one generation endpoint into prompt ids and sampling parameters. */
export function parseGeneration(
  req: FastifyRequest,
  kind: GenKind,
  servedModelName: string,
  engine: SimEngine,
): ParsedGeneration | WireError {
  const body = req.body;
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return badRequest("The request body must be a JSON object.");
  const b = body as Record<string, unknown>;
  const params = (
    kind === "tgi" || kind === "tgi-stream" ? b.parameters : kind.startsWith("ollama") ? b.options : b
  ) as Record<string, unknown> | undefined;
  const p: Record<string, unknown> = params !== null && typeof params === "object" ? params : {};

  // Model name
  let model: unknown = b.model;
  if (kind === "triton" || kind === "triton-stream") model = (req.params as { model?: string }).model;
  if (kind !== "tgi" && kind !== "tgi-stream" && model !== undefined && model !== servedModelName) {
    const name = typeof model === "string" ? model : JSON.stringify(model);
    return modelNotFound(name, kind.startsWith("ollama"));
  }

  // Prompt
  let promptIds: number[];
  if (kind === "chat" || kind === "ollama-chat") {
    const messages = b.messages;
    if (!Array.isArray(messages) || messages.length === 0)
      return badRequest("`messages` must be a non-empty array of {role, content}.", "messages");
    for (const m of messages) {
      if (m === null || typeof m !== "object" || typeof (m as ChatMessageLike).role !== "string")
        return badRequest("Each message needs a string `role`.", "messages");
    }
    promptIds = chatPromptIds(messages as ChatMessageLike[]);
  } else {
    const prompt =
      kind === "tgi" || kind === "tgi-stream"
        ? b.inputs
        : kind.startsWith("triton")
          ? b.text_input
          : b.prompt;
    const one =
      Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string" ? prompt[0] : prompt;
    if (typeof one === "string") promptIds = completionPromptIds(one);
    else if (Array.isArray(one) && one.length > 0 && one.every((x) => Number.isInteger(x)))
      promptIds = one as number[];
    else {
      const field = kind.startsWith("tgi") ? "inputs" : kind.startsWith("triton") ? "text_input" : "prompt";
      return badRequest(
        `\`${field}\` must be a string or an array of token ids (one prompt per request in the simulator).`,
        field,
      );
    }
  }

  // Lengths and sampling
  const maxRaw =
    kind === "tgi" || kind === "tgi-stream"
      ? p.max_new_tokens
      : kind.startsWith("ollama")
        ? p.num_predict
        : (b.max_completion_tokens ?? b.max_tokens);
  let maxTokens: number | undefined;
  if (maxRaw !== undefined && maxRaw !== null) {
    const ollamaUnlimited = kind.startsWith("ollama") && typeof maxRaw === "number" && maxRaw < 0;
    if (!ollamaUnlimited) {
      if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1)
        return badRequest(`max_tokens must be an integer ≥ 1, got ${JSON.stringify(maxRaw)}.`, "max_tokens");
      maxTokens = maxRaw;
    }
  } else if (kind === "tgi" || kind === "tgi-stream") maxTokens = 100; // TGI's documented default
  const openai = kind === "chat" || kind === "completion";
  if (openai) {
    try {
      validateParams(kind === "chat" ? "chat" : "completions", b);
    } catch (err) {
      if (isInferplaneError(err)) return badRequest(err.message, err.param);
      throw err;
    }
  }
  const n = b.n;
  // vLLM samples n choices; TGI, Ollama and Triton's OpenAI routes and native APIs do not.
  if ((!openai || engine !== "vllm") && n !== undefined && n !== null && n !== 1)
    return badRequest(`n > 1 is not supported by ${engine} on this route.`, "n");
  const stopRaw =
    kind === "tgi" || kind === "tgi-stream" ? p.stop : kind.startsWith("triton") ? b.stop_words : p.stop;
  const stops =
    typeof stopRaw === "string"
      ? [stopRaw]
      : Array.isArray(stopRaw)
        ? stopRaw.filter((s): s is string => typeof s === "string")
        : [];
  const seedRaw = p.seed;
  const seed = typeof seedRaw === "number" && Number.isInteger(seedRaw) ? seedRaw : undefined;
  const minRaw = b.min_tokens;
  const minTokens = typeof minRaw === "number" && Number.isInteger(minRaw) && minRaw > 0 ? minRaw : 0;
  const streamRaw = kind.startsWith("ollama") ? b.stream !== false : b.stream === true;
  const so = b.stream_options as { include_usage?: unknown } | undefined;
  const stream =
    kind === "tgi-stream" || kind === "triton-stream"
      ? true
      : kind === "tgi" || kind === "triton"
        ? b.stream === true
        : streamRaw;
  return {
    kind,
    promptIds,
    maxTokens,
    ignoreEos: b.ignore_eos === true || p.ignore_eos === true,
    minTokens,
    stops,
    seed,
    stream,
    // vLLM's StreamOptions.include_usage defaults to true once stream_options is given.
    includeUsage: so !== null && typeof so === "object" && so.include_usage !== false,
    details: p.details === true,
    rich: openai ? richSpec(b, kind === "chat") : null,
  };
}

/** Decides the reply: its length, finish reason, text seed, stop cut and fault cut. */
export function planReply(p: ParsedGeneration, fault: FaultAction, replica: ReplyPlanner): Job | WireError {
  const maxLen = replica.config.maxModelLen;
  const prompt = p.promptIds.length;
  const where = p.kind === "chat" || p.kind === "ollama-chat" ? "messages" : "prompt";
  if (prompt >= maxLen) {
    return badRequest(
      `This model's maximum context length is ${maxLen} tokens. However, your request has ${prompt} input tokens. Please reduce the length of the input ${where}.`,
      where,
      "context_length_exceeded",
    );
  }
  if (p.maxTokens !== undefined && prompt + p.maxTokens > maxLen) {
    return badRequest(
      `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt + p.maxTokens} tokens (${prompt} in the ${where}, ${p.maxTokens} in the completion). Please reduce the length of the ${where} or completion.`,
      where,
      "context_length_exceeded",
    );
  }
  const limit = p.maxTokens ?? maxLen - prompt;
  const rand = p.seed !== undefined ? rng(p.seed) : replica.rand;
  let outputTokens = limit;
  let finishReason: "stop" | "length" = "length";
  if (!p.ignoreEos) {
    const drawn =
      replica.setup.outputLenSigma > 0
        ? sampleLength(
            {
              kind: "lognormal",
              mean: replica.setup.outputLenMean,
              sigma: replica.setup.outputLenSigma,
              min: 1,
            },
            rand,
          )
        : Math.round(replica.setup.outputLenMean);
    const eos = Math.max(drawn, p.minTokens);
    if (eos < limit) {
      outputTokens = eos;
      finishReason = "stop";
    }
  }
  const textSeed = p.seed ?? Math.floor(rand() * 0x1_0000_0000);
  let texts: string[] | null = null;
  let stopReason = "null";
  if (p.stops.length > 0) {
    const cut = applyStop(textSeed, outputTokens, p.stops);
    if (cut !== null && cut.tokens >= p.minTokens) {
      outputTokens = cut.tokens;
      texts = cut.texts;
      finishReason = "stop";
      stopReason = JSON.stringify(cut.stop);
    }
  }
  const id = replica.nextId();
  return {
    id,
    promptIds: p.promptIds,
    outputTokens,
    finishReason,
    textSeed,
    texts,
    stopReason,
    cutAt: fault.kind === "cut" ? Math.floor((outputTokens - 1) / 2) : -1,
  };
}
