/**
 * What a simulated reply says beyond pseudo-text: tool calls (tool_choice auto, required or a
 * named function; parallel calls), JSON mode and JSON-schema output (a schema-valid instance, as
 * guided decoding guarantees), n choices, logprobs — the request features that take the
 * simulator off its plain hot path (src/sim/server.ts) and onto src/sim/rich-reply.ts.
 *
 * Tool-call behaviour (vLLM with `--enable-auto-tool-choice`): `auto` calls a tool unless the
 * conversation's last message is a tool result (then it answers in text), so an agent loop
 * ends; `required` and `auto` call one tool, or the first two tools of a seeded shuffle when
 * `parallel_tool_calls` is not false and two or more tools are given; a named function is always
 * called alone. Arguments validate against the function's `parameters` schema.
 * finish_reason is "tool_calls" for auto and "stop" for required / named, as vLLM's
 * serving_chat.py sets it (`"tool_calls" if auto_tools_called else output.finish_reason`).
 */
import { decode as cl100kDecode } from "gpt-tokenizer/encoding/cl100k_base";
import { jsonInstance } from "./json-instance.js";
import { rng } from "./model/workload.js";
import { encodeText, hashString, pseudoToken } from "./text.js";

export interface ToolDef {
  name: string;
  parameters: unknown;
}

export type OutputPlan =
  | { kind: "text" }
  | { kind: "json"; schema: unknown }
  | { kind: "tools"; choice: "auto" | "required" | { name: string }; tools: ToolDef[]; parallel: boolean };

/** A chat or completions request that needs more than the plain single-choice text path. */
export interface RichSpec {
  chat: boolean;
  n: number;
  /** Chat: top_logprobs count when `logprobs` is true; completions: `logprobs`; null: none. */
  logprobs: number | null;
  continuousUsage: boolean;
  output: OutputPlan;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The rich part of an already validated request body (src/gateway/api/params.ts), or null when
 * the plain path serves it unchanged (one choice of pseudo-text, no logprobs).
 */
export function richSpec(b: Record<string, unknown>, chat: boolean): RichSpec | null {
  const n = typeof b.n === "number" ? b.n : 1;
  let logprobs: number | null = null;
  if (chat && b.logprobs === true) logprobs = typeof b.top_logprobs === "number" ? b.top_logprobs : 0;
  if (!chat && typeof b.logprobs === "number") logprobs = b.logprobs;
  const so = isObject(b.stream_options) ? b.stream_options : {};
  const continuousUsage =
    b.stream === true && so.continuous_usage_stats === true && so.include_usage !== false;
  let output: OutputPlan = { kind: "text" };
  if (chat) output = outputPlan(b);
  if (n === 1 && logprobs === null && !continuousUsage && output.kind === "text") return null;
  return { chat, n, logprobs, continuousUsage, output };
}

function outputPlan(b: Record<string, unknown>): OutputPlan {
  const tools: ToolDef[] = Array.isArray(b.tools)
    ? b.tools.flatMap((t) => {
        const fn = isObject(t) && isObject(t.function) ? t.function : null;
        return fn !== null && typeof fn.name === "string"
          ? [{ name: fn.name, parameters: fn.parameters }]
          : [];
      })
    : [];
  const choice = b.tool_choice ?? (tools.length > 0 ? "auto" : "none");
  if (tools.length > 0 && choice !== "none") {
    if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string")
      return { kind: "tools", choice: { name: choice.function.name }, tools, parallel: false };
    const messages = Array.isArray(b.messages) ? b.messages : [];
    const last = messages[messages.length - 1];
    const answered = isObject(last) && last.role === "tool";
    if (choice === "required" || (choice === "auto" && !answered))
      return { kind: "tools", choice, tools, parallel: b.parallel_tool_calls !== false };
  }
  const rf = isObject(b.response_format) ? b.response_format : null;
  if (rf?.type === "json_object") return { kind: "json", schema: undefined };
  if (rf?.type === "json_schema" && isObject(rf.json_schema))
    return { kind: "json", schema: rf.json_schema.schema ?? undefined };
  return { kind: "text" };
}

/** One tool call of a choice: its arguments are tokens `start` … `start + pieces - 1` of the reply. */
export interface ToolCallPlan {
  id: string;
  name: string;
  arguments: string;
  start: number;
}

/** What one choice says: per-token text (null: the pseudo-text of its seed) and its tool calls. */
export interface ChoiceContent {
  pieces: string[] | null;
  calls: ToolCallPlan[] | null;
}

/** The visible text of each cl100k token of `text` (pieces join back to `text`). */
export function tokenPieces(text: string): string[] {
  const ids = encodeText(text);
  const pieces = ids.map((id) => cl100kDecode([id]));
  if (!pieces.some((p) => p.includes("\uFFFD"))) return pieces;
  // A character split across tokens: cut where the decoded prefix grows instead.
  const out: string[] = [];
  let prev = "";
  for (let i = 1; i <= ids.length; i++) {
    const cur = cl100kDecode(ids.slice(0, i)).replace(/\uFFFD+$/, "");
    out.push(cur.slice(prev.length));
    prev = cur;
  }
  return out;
}

/** Tool call ids as vLLM makes them (`random_tool_call_id`: "chatcmpl-tool-" + 32 hex). */
function toolCallId(rand: () => number): string {
  let s = "";
  for (let i = 0; i < 32; i++) s += "0123456789abcdef"[Math.floor(rand() * 16)];
  return `chatcmpl-tool-${s}`;
}

const EMPTY_PARAMS = { type: "object", properties: {} };

/** The content of choice `index` of a reply whose text seed is `seed` (deterministic in both). */
export function choiceContent(output: OutputPlan, seed: number, index: number): ChoiceContent {
  const rand = rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  switch (output.kind) {
    case "text":
      return { pieces: null, calls: null };
    case "json":
      return { pieces: tokenPieces(JSON.stringify(jsonInstance(output.schema, rand))), calls: null };
    case "tools": {
      let chosen: ToolDef[];
      if (typeof output.choice === "object") {
        const name = output.choice.name;
        chosen = output.tools.filter((t) => t.name === name).slice(0, 1);
      } else {
        const order = output.tools.map((t) => ({ t, k: rand() })).sort((a, b) => a.k - b.k);
        chosen = order.slice(0, output.parallel && order.length >= 2 ? 2 : 1).map((o) => o.t);
      }
      const pieces: string[] = [];
      const calls: ToolCallPlan[] = [];
      for (const t of chosen) {
        const args = JSON.stringify(jsonInstance(t.parameters ?? EMPTY_PARAMS, rand));
        calls.push({ id: toolCallId(rand), name: t.name, arguments: args, start: pieces.length });
        pieces.push(...tokenPieces(args));
      }
      return { pieces, calls };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Logprobs (simulated: stable numbers in vLLM's shapes, not a model's)
// ---------------------------------------------------------------------------------------------

const ALTERNATIVES = [" the", " a", " and", " of", " to", " in", " is", " it", " that", " for", ",", "."];

/** The sampled token's logprob and `k` alternatives below it, most likely first (the sampled one is rank 1). */
export function tokenLogprobs(
  seed: number,
  index: number,
  token: string,
  k: number,
): { logprob: number; top: { token: string; logprob: number }[] } {
  const h = hashString(token, (seed ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const logprob = -Math.round(((h % 2000) / 1000) * 1e4) / 1e4;
  const top = [{ token, logprob }];
  let lp = logprob;
  for (let j = 0; top.length < k && j < ALTERNATIVES.length + 1; j++) {
    const alt =
      j === 0 ? pseudoToken(seed + 1, index) : (ALTERNATIVES[(h + j) % ALTERNATIVES.length] as string);
    if (top.some((t) => t.token === alt)) continue;
    lp = Math.round((lp - 0.5 - ((h >>> (j % 16)) % 100) / 100) * 1e4) / 1e4;
    top.push({ token: alt, logprob: lp });
  }
  return { logprob, top };
}

const bytesOf = (s: string): number[] => Array.from(Buffer.from(s, "utf8"));

/** One entry of a chat choice's `logprobs.content` (vLLM's ChatCompletionLogProbsContent). */
export function chatLogprob(seed: number, index: number, token: string, topK: number): unknown {
  const { logprob, top } = tokenLogprobs(seed, index, token, topK);
  return {
    token,
    logprob,
    bytes: bytesOf(token),
    top_logprobs:
      topK === 0 ? [] : top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytesOf(t.token) })),
  };
}

/** Completions `logprobs` for tokens `from`…: vLLM's CompletionLogProbs (sampled token plus up to k, at least one). */
export function completionLogprobs(
  seed: number,
  from: number,
  tokens: readonly string[],
  k: number,
  offset: number,
): {
  text_offset: number[];
  token_logprobs: number[];
  tokens: string[];
  top_logprobs: Record<string, number>[];
} {
  const out = {
    text_offset: [] as number[],
    token_logprobs: [] as number[],
    tokens: [] as string[],
    top_logprobs: [] as Record<string, number>[],
  };
  let at = offset;
  tokens.forEach((token, j) => {
    const { logprob, top } = tokenLogprobs(seed, from + j, token, Math.max(k, 1));
    out.text_offset.push(at);
    at += token.length;
    out.token_logprobs.push(logprob);
    out.tokens.push(token);
    out.top_logprobs.push(Object.fromEntries(top.map((t) => [t.token, t.logprob])));
  });
  return out;
}
