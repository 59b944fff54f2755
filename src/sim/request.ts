/** A generation request read into prompt ids and sampling parameters, and the reply planned for it. */

import type { FastifyRequest } from "fastify";
import { isInferplaneError } from "../errors.js";
import { validateParams } from "../gateway/api/params.js";
import type { FaultAction } from "./faults.js";
import type { Flavour } from "./flavours.js";
import type { Job, Wire, WireContext } from "./generation.js";
import type { EngineConfig } from "./model/config.js";
import { rng, sampleLength } from "./model/workload.js";
import type { SimSetup } from "./options.js";
import { type RichSpec, richSpec } from "./structured.js";
import { applyStop, type ChatMessageLike, chatPromptIds, completionPromptIds } from "./text.js";
import { badRequest, modelNotFound, type NativeDialect, type WireError } from "./wire-errors.js";

/**
 * How a generation route reads its request: where each field sits. The OpenAI routes' shapes are
 * here; an engine's native routes bring theirs (src/engines/<engine>/sim.ts).
 */
export interface RequestShape {
  /** Messages (chat) rather than one prompt. */
  chat: boolean;
  /** A nested object of the body holding the sampling parameters (TGI `parameters`, Ollama `options`); else the body. */
  params?: string;
  /** Where the model name is: the body's `model`, the URL's `:model`, or nowhere (the server has one). */
  model: "body" | "url" | "none";
  /** The prompt's field (routes that are not chat). */
  prompt: string;
  /** Fields of the output limit, in the parameters, tried in order. */
  maxTokens: readonly string[];
  /** A negative limit means "no limit" (Ollama's `num_predict: -1`). */
  negativeMaxUnlimited?: boolean;
  /** The limit when none is given (TGI's documented 100). */
  defaultMaxTokens?: number;
  /** The stop strings' field, in the parameters. */
  stop: string;
  /** Streams always (a `…_stream` route), unless `stream: false` (Ollama), or only with `stream: true`. */
  stream: "always" | "unless-false" | "if-true";
}

/** An engine's own generation route: its path (fastify syntax), request shape, error dialect and wire. */
export interface NativeRoute {
  path: string;
  request: RequestShape;
  dialect: NativeDialect;
  wire(ctx: WireContext, p: ParsedGeneration, job: Job): Wire;
}

/** The generation endpoints: the OpenAI routes, or an engine's native one. */
export type GenRoute = "chat" | "completion" | NativeRoute;

const OPENAI_COMPLETION: RequestShape = {
  chat: false,
  model: "body",
  prompt: "prompt",
  maxTokens: ["max_completion_tokens", "max_tokens"],
  stop: "stop",
  stream: "if-true",
};
const OPENAI_CHAT: RequestShape = { ...OPENAI_COMPLETION, chat: true };

function shapeOf(route: GenRoute): RequestShape {
  return route === "chat" ? OPENAI_CHAT : route === "completion" ? OPENAI_COMPLETION : route.request;
}

export interface ParsedGeneration {
  route: GenRoute;
  /** The prompt is chat messages. */
  chat: boolean;
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

/** The output limit as the route gives it: a number ≥ 1, no limit (undefined), or a bad-request. */
function maxTokensOf(
  shape: RequestShape,
  p: Record<string, unknown>,
): { max: number | undefined } | WireError {
  let maxRaw: unknown;
  for (const field of shape.maxTokens) maxRaw ??= p[field];
  if (maxRaw === undefined || maxRaw === null) return { max: shape.defaultMaxTokens };
  if (shape.negativeMaxUnlimited && typeof maxRaw === "number" && maxRaw < 0) return { max: undefined };
  if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1)
    return badRequest(`max_tokens must be an integer ≥ 1, got ${JSON.stringify(maxRaw)}.`, "max_tokens");
  return { max: maxRaw };
}

/** The prompt as token ids: chat messages through the template, a string, or ids as given. */
function promptIdsOf(shape: RequestShape, b: Record<string, unknown>): number[] | WireError {
  if (shape.chat) {
    const messages = b.messages;
    if (!Array.isArray(messages) || messages.length === 0)
      return badRequest("`messages` must be a non-empty array of {role, content}.", "messages");
    for (const m of messages) {
      if (m === null || typeof m !== "object" || typeof (m as ChatMessageLike).role !== "string")
        return badRequest("Each message needs a string `role`.", "messages");
    }
    return chatPromptIds(messages as ChatMessageLike[]);
  }
  const prompt = b[shape.prompt];
  const one =
    Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string" ? prompt[0] : prompt;
  if (typeof one === "string") return completionPromptIds(one);
  if (Array.isArray(one) && one.length > 0 && one.every((x) => Number.isInteger(x))) return one as number[];
  return badRequest(
    `\`${shape.prompt}\` must be a string or an array of token ids (one prompt per request in the simulator).`,
    shape.prompt,
  );
}

/** Reads the request body of one generation endpoint into prompt ids and sampling parameters. */
export function parseGeneration(
  req: FastifyRequest,
  route: GenRoute,
  servedModelName: string,
  flavour: Pick<Flavour, "engine" | "samplesN">,
): ParsedGeneration | WireError {
  const body = req.body;
  if (body === null || typeof body !== "object" || Array.isArray(body))
    return badRequest("The request body must be a JSON object.");
  const b = body as Record<string, unknown>;
  const shape = shapeOf(route);
  const openai = typeof route === "string";
  const params = (shape.params !== undefined ? b[shape.params] : b) as Record<string, unknown> | undefined;
  const p: Record<string, unknown> = params !== null && typeof params === "object" ? params : {};

  const wrongModel = modelProblem(requestedModel(req, shape, b), servedModelName, route);
  if (wrongModel !== undefined) return wrongModel;
  const promptIds = promptIdsOf(shape, b);
  if ("status" in promptIds) return promptIds;
  const max = maxTokensOf(shape, p);
  if ("status" in max) return max;
  const invalid = openAiParamsProblem(route, b) ?? choicesProblem(openai, flavour, b.n);
  if (invalid !== undefined) return invalid;
  const seedRaw = p.seed;
  const minRaw = b.min_tokens;
  const so = b.stream_options as { include_usage?: unknown } | undefined;
  return {
    route,
    chat: shape.chat,
    promptIds,
    maxTokens: max.max,
    ignoreEos: b.ignore_eos === true || p.ignore_eos === true,
    minTokens: typeof minRaw === "number" && Number.isInteger(minRaw) && minRaw > 0 ? minRaw : 0,
    stops: stopsOf(p[shape.stop]),
    seed: typeof seedRaw === "number" && Number.isInteger(seedRaw) ? seedRaw : undefined,
    stream: streams(shape, b.stream),
    // vLLM's StreamOptions.include_usage defaults to true once stream_options is given.
    includeUsage: so !== null && typeof so === "object" && so.include_usage !== false,
    details: p.details === true,
    rich: openai ? richSpec(b, route === "chat") : null,
  };
}

/** The model name the request asks for, where its route carries one. */
function requestedModel(req: FastifyRequest, shape: RequestShape, b: Record<string, unknown>): unknown {
  if (shape.model === "url") return (req.params as { model?: string }).model;
  return shape.model === "body" ? b.model : undefined;
}

function modelProblem(model: unknown, servedModelName: string, route: GenRoute): WireError | undefined {
  if (model === undefined || model === servedModelName) return undefined;
  const name = typeof model === "string" ? model : JSON.stringify(model);
  return modelNotFound(name, typeof route === "string" ? "openai" : route.dialect);
}

/** OpenAI's own parameter checks, on the OpenAI routes. */
function openAiParamsProblem(route: GenRoute, b: Record<string, unknown>): WireError | undefined {
  if (typeof route !== "string") return undefined;
  try {
    validateParams(route === "chat" ? "chat" : "completions", b);
  } catch (err) {
    if (isInferplaneError(err)) return badRequest(err.message, err.param);
    throw err;
  }
  return undefined;
}

/** Only engines that sample n choices do it, and only on their OpenAI routes (vLLM). */
function choicesProblem(
  openai: boolean,
  flavour: Pick<Flavour, "engine" | "samplesN">,
  n: unknown,
): WireError | undefined {
  if ((!openai || !flavour.samplesN) && n !== undefined && n !== null && n !== 1)
    return badRequest(`n > 1 is not supported by ${flavour.engine} on this route.`, "n");
  return undefined;
}

function stopsOf(stopRaw: unknown): string[] {
  if (typeof stopRaw === "string") return [stopRaw];
  return Array.isArray(stopRaw) ? stopRaw.filter((s): s is string => typeof s === "string") : [];
}

function streams(shape: RequestShape, stream: unknown): boolean {
  if (shape.stream === "always") return true;
  return shape.stream === "unless-false" ? stream !== false : stream === true;
}

/** Decides the reply: its length, finish reason, text seed, stop cut and fault cut. */
export function planReply(p: ParsedGeneration, fault: FaultAction, replica: ReplyPlanner): Job | WireError {
  const maxLen = replica.config.maxModelLen;
  const prompt = p.promptIds.length;
  const where = p.chat ? "messages" : "prompt";
  const context = {
    promptTokens: prompt,
    contextTokens: maxLen,
    ...(p.maxTokens !== undefined ? { maxTokens: p.maxTokens } : {}),
  };
  if (prompt >= maxLen) {
    return {
      ...badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, your request has ${prompt} input tokens. Please reduce the length of the input ${where}.`,
        where,
        "context_length_exceeded",
      ),
      context,
    };
  }
  if (p.maxTokens !== undefined && prompt + p.maxTokens > maxLen) {
    return {
      ...badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt + p.maxTokens} tokens (${prompt} in the ${where}, ${p.maxTokens} in the completion). Please reduce the length of the ${where} or completion.`,
        where,
        "context_length_exceeded",
      ),
      context,
    };
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
