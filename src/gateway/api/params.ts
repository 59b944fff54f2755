/**
 * The OpenAI request parameters' ranges as vLLM enforces them, checked before a request is
 * dispatched (the gateway) or generated (the simulator), so a bad value fails at once with a
 * 400 naming the parameter instead of deep inside an engine.
 *
 * Sources: vllm/sampling_params.py `SamplingParams._verify_args` (temperature in [0, 2], top_p in
 * (0, 1], top_k ≥ -1, min_p in [0, 1], penalties in [-2, 2], repetition_penalty > 0, n ≥ 1 and
 * n = 1 when greedy, max_tokens ≥ 1, 0 ≤ min_tokens ≤ max_tokens, logprobs ≥ 0, no empty stop
 * string); vllm/entrypoints/openai/protocol.py validators (`check_logprobs`: top_logprobs needs
 * logprobs; `validate_stream_options`; `check_tool_usage`); vLLM's `--max-logprobs` default 20
 * (vllm/config: ModelConfig.max_logprobs), which caps top_logprobs and completions logprobs.
 */
import { InferplaneError, isInferplaneError } from "../../errors.js";

export type ParamOp = "chat" | "completions" | "embeddings";

/** vLLM's default `--max-logprobs`. */
export const MAX_LOGPROBS = 20;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fail(param: string, message: string): never {
  throw new InferplaneError("invalid_request", message, { param });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const show = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : String(JSON.stringify(v)));

/** The value of `body[key]`, or undefined when absent or null (OpenAI treats null as unset). */
function opt(body: Record<string, unknown>, key: string): unknown {
  const v = body[key];
  return v === null ? undefined : v;
}

function num(body: Record<string, unknown>, key: string): number | undefined {
  const v = opt(body, key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v))
    fail(key, `${key} must be a finite number, got ${show(v)}.`);
  return v;
}

function int(body: Record<string, unknown>, key: string): number | undefined {
  const v = opt(body, key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) fail(key, `${key} must be an integer, got ${show(v)}.`);
  return v;
}

function bool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = opt(body, key);
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") fail(key, `${key} must be a boolean, got ${show(v)}.`);
  return v;
}

function sampling(op: "chat" | "completions", b: Record<string, unknown>): void {
  const temperature = ranges(b);
  counts(b, temperature);
  lengths(b);
  seedStopStream(b);
  if (op === "chat") {
    chatLogprobs(b);
    tools(b);
    responseFormat(b);
  } else completionLogprobs(b);
}

/** Sampling ranges; returns the temperature (greedy sampling limits `n`). */
function ranges(b: Record<string, unknown>): number | undefined {
  const temperature = num(b, "temperature");
  if (temperature !== undefined && temperature < 0)
    fail("temperature", `temperature must be non-negative, got ${temperature}.`);
  if (temperature !== undefined && temperature > 2)
    fail("temperature", `temperature must be in [0, 2], got ${temperature}.`);
  const topP = num(b, "top_p");
  if (topP !== undefined && !(topP > 0 && topP <= 1)) fail("top_p", `top_p must be in (0, 1], got ${topP}.`);
  const topK = int(b, "top_k");
  if (topK !== undefined && topK < -1)
    fail("top_k", `top_k must be 0 (disable), or at least 1, got ${topK}.`);
  const minP = num(b, "min_p");
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) fail("min_p", `min_p must be in [0, 1], got ${minP}.`);
  for (const key of ["presence_penalty", "frequency_penalty"]) {
    const v = num(b, key);
    if (v !== undefined && !(v >= -2 && v <= 2)) fail(key, `${key} must be in [-2, 2], got ${v}.`);
  }
  const rep = num(b, "repetition_penalty");
  if (rep !== undefined && !(rep > 0))
    fail("repetition_penalty", `repetition_penalty must be greater than zero, got ${rep}.`);
  return temperature;
}

function counts(b: Record<string, unknown>, temperature: number | undefined): void {
  const n = int(b, "n");
  if (n !== undefined && n < 1) fail("n", `n must be at least 1, got ${n}.`);
  if (n !== undefined && n > 1 && temperature === 0)
    fail("n", `n must be 1 when using greedy sampling, got ${n}.`);
  const bestOf = int(b, "best_of");
  if (bestOf !== undefined && bestOf < (n ?? 1))
    fail("best_of", `best_of must be greater than or equal to n, got n=${n ?? 1} and best_of=${bestOf}.`);
}

function lengths(b: Record<string, unknown>): void {
  const maxKey = opt(b, "max_completion_tokens") !== undefined ? "max_completion_tokens" : "max_tokens";
  const maxTokens = int(b, maxKey);
  if (maxTokens !== undefined && maxTokens < 1)
    fail(maxKey, `${maxKey} must be at least 1, got ${maxTokens}.`);
  const minTokens = int(b, "min_tokens");
  if (minTokens !== undefined && minTokens < 0)
    fail("min_tokens", `min_tokens must be greater than or equal to 0, got ${minTokens}.`);
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens)
    fail("min_tokens", `min_tokens must be less than or equal to max_tokens=${maxTokens}, got ${minTokens}.`);
}

function seedStopStream(b: Record<string, unknown>): void {
  const seed = int(b, "seed");
  if (seed !== undefined && (BigInt(seed) < INT64_MIN || BigInt(seed) > INT64_MAX))
    fail("seed", `seed must be a 64-bit integer, got ${seed}.`);

  const stop = opt(b, "stop");
  if (stop !== undefined) {
    const list = typeof stop === "string" ? [stop] : stop;
    if (!Array.isArray(list) || !list.every((s) => typeof s === "string"))
      fail("stop", `stop must be a string or an array of strings, got ${show(stop)}.`);
    if (list.some((s) => s === "")) fail("stop", "stop cannot contain an empty string.");
  }

  const stream = bool(b, "stream");
  const so = opt(b, "stream_options");
  if (so !== undefined) {
    if (!isObject(so)) fail("stream_options", `stream_options must be an object, got ${show(so)}.`);
    if (stream !== true) fail("stream_options", "Stream options can only be defined when `stream=True`.");
    bool(so, "include_usage");
    bool(so, "continuous_usage_stats");
  }
}

function chatLogprobs(b: Record<string, unknown>): void {
  const logprobs = bool(b, "logprobs");
  const top = int(b, "top_logprobs");
  if (top !== undefined) {
    if (top < 0) fail("top_logprobs", "`top_logprobs` must be a positive value.");
    if (top > 0 && logprobs !== true)
      fail("top_logprobs", "when using `top_logprobs`, `logprobs` must be set to true.");
    if (top > MAX_LOGPROBS)
      fail(
        "top_logprobs",
        `Requested sample logprobs of ${top}, which is greater than max allowed: ${MAX_LOGPROBS}`,
      );
  }
}

function completionLogprobs(b: Record<string, unknown>): void {
  const logprobs = int(b, "logprobs");
  if (logprobs !== undefined && logprobs < 0)
    fail("logprobs", `logprobs must be non-negative, got ${logprobs}.`);
  if (logprobs !== undefined && logprobs > MAX_LOGPROBS)
    fail(
      "logprobs",
      `Requested sample logprobs of ${logprobs}, which is greater than max allowed: ${MAX_LOGPROBS}`,
    );
}

function tools(b: Record<string, unknown>): void {
  const list = opt(b, "tools");
  const names: string[] = [];
  if (list !== undefined) {
    if (!Array.isArray(list)) fail("tools", `tools must be an array, got ${show(list)}.`);
    list.forEach((t, i) => {
      const fn = isObject(t) ? t.function : undefined;
      if (!isObject(t) || (t.type !== undefined && t.type !== "function") || !isObject(fn))
        fail(`tools[${i}]`, `tools[${i}] must be {"type": "function", "function": {name, parameters}}.`);
      if (typeof fn.name !== "string" || fn.name === "")
        fail(`tools[${i}].function.name`, `tools[${i}].function.name must be a non-empty string.`);
      if (fn.parameters !== undefined && fn.parameters !== null && !isObject(fn.parameters))
        fail(
          `tools[${i}].function.parameters`,
          `tools[${i}].function.parameters must be a JSON schema object.`,
        );
      names.push(fn.name);
    });
  }
  const choice = opt(b, "tool_choice");
  if (choice === undefined || choice === "none") return;
  if (list === undefined) fail("tool_choice", "When using `tool_choice`, `tools` must be set.");
  if (choice === "auto" || choice === "required") return;
  const usage = 'Correct usage: `{"type": "function", "function": {"name": "my_function"}}`';
  if (!isObject(choice))
    fail(
      "tool_choice",
      `Invalid value for \`tool_choice\`: ${show(choice)}! Only named tools, "none", "auto" or "required" are supported.`,
    );
  const fn = choice.function;
  if (!isObject(fn) || typeof fn.name !== "string" || fn.name === "")
    fail(
      "tool_choice.function.name",
      `Expected a non-empty \`name\` in \`function\` in \`tool_choice\`! ${usage}`,
    );
  if (!names.includes(fn.name))
    fail("tool_choice", "The tool specified in `tool_choice` does not match any of the specified `tools`");
}

function responseFormat(b: Record<string, unknown>): void {
  const rf = opt(b, "response_format");
  if (rf === undefined) return;
  if (!isObject(rf)) fail("response_format", `response_format must be an object, got ${show(rf)}.`);
  const type = rf.type;
  if (type !== "text" && type !== "json_object" && type !== "json_schema" && type !== "structural_tag")
    fail(
      "response_format.type",
      `response_format.type must be text, json_object or json_schema, got ${show(type)}.`,
    );
  if (type === "json_schema") {
    const js = rf.json_schema;
    if (!isObject(js) || typeof js.name !== "string")
      fail(
        "response_format.json_schema",
        "response_format.json_schema must be an object with a `name` and a `schema`.",
      );
    if (js.schema !== undefined && js.schema !== null && !isObject(js.schema))
      fail(
        "response_format.json_schema.schema",
        "response_format.json_schema.schema must be a JSON schema object.",
      );
  }
}

function embeddings(b: Record<string, unknown>): void {
  const input = b.input;
  const ok =
    typeof input === "string" ||
    (Array.isArray(input) &&
      input.length > 0 &&
      (input.every((x) => typeof x === "string") ||
        input.every((x) => Number.isInteger(x)) ||
        input.every((x) => Array.isArray(x) && x.length > 0 && x.every((y) => Number.isInteger(y)))));
  if (!ok)
    fail(
      "input",
      "`input` must be a string, an array of strings, an array of token ids or an array of token-id arrays.",
    );
  const dims = int(b, "dimensions");
  if (dims !== undefined && dims < 1) fail("dimensions", `dimensions must be at least 1, got ${dims}.`);
  const format = opt(b, "encoding_format");
  if (format !== undefined && format !== "float" && format !== "base64")
    fail("encoding_format", `encoding_format must be "float" or "base64", got ${show(format)}.`);
}

/**
 * Throws `InferplaneError("invalid_request", message, {param})` for the first parameter out of the
 * range vLLM accepts; returns nothing when the body is acceptable. Unknown fields pass (vLLM
 * accepts and ignores them); the body is never changed.
 */
export function validateParams(op: ParamOp, body: unknown): void {
  if (!isObject(body)) throw new InferplaneError("invalid_json", "The request body must be a JSON object.");
  if (op === "embeddings") embeddings(body);
  else sampling(op, body);
}

/**
 * `validateParams` for a front door's translated body: an error names the parameter the client
 * sent (`names` maps chat names back to the door's, e.g. `stop` → `stop_sequences`).
 */
export function validateTranslated(
  op: ParamOp,
  body: unknown,
  names: Readonly<Record<string, string>>,
): void {
  try {
    validateParams(op, body);
  } catch (err) {
    if (!isInferplaneError(err) || err.param === null) throw err;
    const own = names[err.param];
    if (own === undefined) throw err;
    throw new InferplaneError("invalid_request", err.message.replaceAll(err.param, own), { param: own });
  }
}
