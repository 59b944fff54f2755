/**
 * The benchmark's HTTP client: one OpenAI-API request (chat or completions, streamed or not),
 * timed. Streamed replies are read as SSE events as they arrive: TTFT is the time from handing
 * the request to the connection pool to the first event carrying content, every later
 * content-bearing event adds one inter-token gap, E2E ends at the last byte. Output tokens are
 * the server's `usage.completion_tokens` (asked for with `stream_options.include_usage`), else the
 * content events counted (streamed) or the reply tokenized (not streamed).
 */
import { Pool } from "undici";
import { countTokens } from "../sim/text.js";
import type { ChatMessage } from "./workload.js";

export type Api = "chat" | "completions";

export interface Target {
  /** Base URL, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). */
  url: string;
  model: string;
  api: Api;
  stream: boolean;
  headers: Record<string, string>;
  /** Extra JSON fields merged into every request body (`ignore_eos` and the like). */
  extraBody: Record<string, unknown>;
  timeoutMs: number;
}

export interface RequestResult {
  ok: boolean;
  status: number;
  /** A short, stable kind for counting: `http_429`, `timeout`, `ECONNREFUSED`, `stream_cut`, … */
  errorType?: string;
  error?: string;
  ttftMs: number;
  e2eMs: number;
  /** Gaps between content events, ms. */
  itlMs: number[];
  promptTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /** The gateway's own time (`x-inferplane-overhead-ms`), when the server sent it. */
  overheadMs?: number;
  /** Reply text, only when asked for (multi-turn sessions carry it into the next turn). */
  text?: string;
}

/** A request's result before anything is known: failed, no timings, no tokens. */
export function pendingResult(): RequestResult {
  return {
    ok: false,
    status: 0,
    ttftMs: Number.NaN,
    e2eMs: Number.NaN,
    itlMs: [],
    promptTokens: 0,
    outputTokens: 0,
    cachedTokens: 0,
  };
}

export class Client {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(
    readonly target: Target,
    connections: number,
  ) {
    const base = new URL(target.url);
    const prefix = base.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.path = `${prefix}/v1/${target.api === "chat" ? "chat/completions" : "completions"}`;
    this.pool = new Pool(base.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
    });
    this.headers = {
      "content-type": "application/json",
      ...(target.stream ? { accept: "text/event-stream" } : {}),
      ...target.headers,
    };
  }

  /** The JSON body of one request. */
  body(messages: readonly ChatMessage[], prompt: string, maxTokens: number): string {
    const t = this.target;
    const b: Record<string, unknown> = { model: t.model };
    if (t.api === "chat") b.messages = messages;
    else b.prompt = prompt;
    b.max_tokens = maxTokens;
    if (t.stream) {
      b.stream = true;
      b.stream_options = { include_usage: true };
    }
    return JSON.stringify({ ...b, ...t.extraBody });
  }

  async send(body: string, keepText: boolean, signal?: AbortSignal): Promise<RequestResult> {
    const r = pendingResult();
    const start = performance.now();
    try {
      const res = await this.pool.request({
        method: "POST",
        path: this.path,
        headers: this.headers,
        body,
        ...(signal ? { signal } : {}),
      });
      r.status = res.statusCode;
      const overhead = res.headers["x-inferplane-overhead-ms"];
      if (typeof overhead === "string") r.overheadMs = Number(overhead);
      res.body.setEncoding("utf8");
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = await res.body.text();
        r.e2eMs = performance.now() - start;
        r.errorType = `http_${res.statusCode}`;
        r.error = errorMessage(text);
        return r;
      }
      const sse = String(res.headers["content-type"] ?? "").includes("text/event-stream");
      if (this.target.stream && sse) await this.readStream(res.body, start, r, keepText);
      else await this.readJson(await res.body.text(), start, r, keepText);
    } catch (err) {
      r.e2eMs = performance.now() - start;
      r.ok = false;
      const e = err as { code?: string; message?: string; cause?: { code?: string } };
      const code = e.code ?? e.cause?.code;
      r.errorType =
        code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" ? "timeout" : (code ?? "error");
      r.error = e.message ?? String(err);
    }
    return r;
  }

  private async readStream(
    body: AsyncIterable<string>,
    start: number,
    r: RequestResult,
    keepText: boolean,
  ): Promise<void> {
    const chat = this.target.api === "chat";
    const parts: string[] = [];
    let buffer = "";
    let last = 0;
    let events = 0;
    let done = false;
    for await (const chunk of body) {
      const now = performance.now();
      buffer += chunk;
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        const data = dataOf(event);
        if (data === undefined) continue;
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const text = eventText(data, chat, r);
        if (!text) continue;
        if (events === 0) r.ttftMs = now - start;
        else r.itlMs.push(now - last);
        last = now;
        events++;
        if (keepText) parts.push(text);
      }
    }
    r.e2eMs = performance.now() - start;
    if (r.outputTokens === 0) r.outputTokens = events;
    if (keepText) r.text = parts.join("");
    if (!done && r.errorType === undefined) {
      r.errorType = "stream_cut";
      r.error = "the stream ended without data: [DONE]";
    }
    r.ok = r.errorType === undefined;
  }

  private async readJson(text: string, start: number, r: RequestResult, keepText: boolean): Promise<void> {
    r.e2eMs = performance.now() - start;
    let json: { choices?: { message?: { content?: string }; text?: string }[]; usage?: Usage };
    try {
      json = JSON.parse(text);
    } catch {
      r.errorType = "bad_json";
      r.error = text.slice(0, 200);
      return;
    }
    const choice = json.choices?.[0];
    const content = (this.target.api === "chat" ? choice?.message?.content : choice?.text) ?? "";
    if (json.usage) usage(json.usage, r);
    if (r.outputTokens === 0 && content !== "") r.outputTokens = countTokens(content);
    r.ttftMs = r.e2eMs;
    if (keepText) r.text = content;
    r.ok = true;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface StreamChunk {
  choices?: { delta?: { content?: string | null }; text?: string }[];
  usage?: Usage | null;
  error?: { message?: string } | string;
}

/**
 * The text one stream event adds; usage it carries goes into `r`, and so does the first error
 * (an event that is not JSON, or an error event).
 */
function eventText(data: string, chat: boolean, r: RequestResult): string | null | undefined {
  let json: StreamChunk;
  try {
    json = JSON.parse(data) as StreamChunk;
  } catch {
    r.errorType ??= "bad_event";
    r.error ??= `not JSON: ${data.slice(0, 120)}`;
    return undefined;
  }
  if (json.error) {
    r.errorType ??= "stream_error";
    r.error ??=
      typeof json.error === "string" ? json.error : (json.error.message ?? JSON.stringify(json.error));
    return undefined;
  }
  if (json.usage) usage(json.usage, r);
  const choice = json.choices?.[0];
  return chat ? choice?.delta?.content : choice?.text;
}

function usage(u: Usage, r: RequestResult): void {
  if (typeof u.prompt_tokens === "number") r.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === "number") r.outputTokens = u.completion_tokens;
  r.cachedTokens = u.prompt_tokens_details?.cached_tokens ?? r.cachedTokens;
}

/** The data of one SSE event (its `data:` lines joined), or undefined for comments and other fields. */
function dataOf(event: string): string | undefined {
  if (event.startsWith("data: ") && event.indexOf("\n") < 0) return event.slice(6);
  let out: string | undefined;
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const v = line.slice(line[5] === " " ? 6 : 5);
    out = out === undefined ? v : `${out}\n${v}`;
  }
  return out;
}

function errorMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const e = j.error;
    return (typeof e === "string" ? e : (e?.message ?? j.message ?? text)).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}
