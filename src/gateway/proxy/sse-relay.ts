/**
 * Minimal SSE handling for relayed streams: split upstream bytes into events, count the events
 * that carry generated text (the first one is time to first token; their count is the
 * completion-token count when the engine sends no usage), read the usage chunk and drop it when
 * the gateway asked for it on the client's behalf, and remember whether `[DONE]` arrived (a
 * stream without it was truncated).
 *
 * Relayed bytes stay bytes: they are held as latin1 strings (one char per byte, so a UTF-8
 * sequence split across chunks needs no decoder and the client gets exactly what the engine
 * sent), scanned for ASCII markers only; JSON is parsed for the usage chunk alone. That is the
 * per-token path of every stream, so it allocates nothing when a chunk is whole events (the
 * usual case: one event per engine step).
 */

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** The UTF-8 text of a latin1-held byte string. */
export function utf8Of(bytes: string): string {
  return Buffer.from(bytes, "latin1").toString("utf8");
}

/** A JS string as the latin1-held form of its UTF-8 bytes (to compare with or splice into relayed bytes). */
export function bytesOf(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

export class SseRelay {
  private buffer = "";
  done = false;
  /** An event carried generated text (or a tool call): the first token, for time to first token. */
  sawToken = false;
  /** Events that carried generated text so far (one per decoding step of the engine). */
  tokenEvents = 0;
  usage: Usage | undefined;
  /** The `model` of the usage chunk (gen_ai.response.model). */
  model: string | undefined;
  /** How push() and flush() results are encoded: relayed bytes, or a door's translated text. */
  readonly encoding: "latin1" | "utf8";

  /**
   * @param stripUsage drop the usage-only chunk (the client did not ask for it).
   * @param transform rewrites each relayed event, given as text (a front door's translation);
   *   without one, events are relayed as the bytes they came as.
   */
  constructor(
    private readonly stripUsage: boolean,
    private readonly transform?: (event: string) => string,
  ) {
    this.encoding = transform ? "utf8" : "latin1";
  }

  /**
   * Feeds upstream bytes (held as latin1); returns what to send to the client now (possibly
   * empty), in `encoding`.
   */
  push(bytes: string): string {
    const text = this.buffer === "" ? bytes : this.buffer + bytes;
    const hasUsage = text.includes('"usage":{');
    let start = 0;
    // Kept events are copied out only once one is dropped or transformed; until then `out` is
    // the prefix text[0, start).
    let out: string | undefined;
    for (;;) {
      const end = text.indexOf("\n\n", start) + 2;
      if (end < 2) break;
      const keep = this.accept(text, start, end, hasUsage);
      if (this.transform) {
        out = (out ?? "") + (keep ? this.transform(utf8Of(text.slice(start, end))) : "");
      } else if (!keep) {
        out ??= text.slice(0, start);
      } else if (out !== undefined) {
        out += text.slice(start, end);
      }
      start = end;
    }
    this.buffer = start === text.length ? "" : text.slice(start);
    if (out !== undefined) return out;
    return start === text.length ? text : text.slice(0, start);
  }

  /** Whatever is left when the upstream ends (an unterminated event). */
  flush(): string {
    const rest = this.buffer;
    this.buffer = "";
    return this.transform ? "" : rest;
  }

  /** Bookkeeping for the event text[start, end); false: drop it. */
  private accept(text: string, start: number, end: number, hasUsage: boolean): boolean {
    if (text.startsWith("data: [DONE]", start)) {
      this.done = true;
      return true;
    }
    if (hasUsage) {
      const usageAt = text.indexOf('"usage":{', start);
      if (usageAt >= 0 && usageAt < end && !this.readUsage(text.slice(start, end))) return false;
    }
    if (hasToken(text, start, end)) {
      this.sawToken = true;
      this.tokenEvents++;
    }
    return true;
  }

  /** Reads a usage chunk; false when it is the usage-only chunk the client did not ask for. */
  private readUsage(event: string): boolean {
    try {
      const body = JSON.parse(utf8Of(event.slice(event.indexOf("{")))) as {
        usage?: Usage;
        choices?: unknown[];
        model?: unknown;
      };
      if (body.usage) this.usage = body.usage;
      if (typeof body.model === "string") this.model = body.model;
      return !(this.stripUsage && Array.isArray(body.choices) && body.choices.length === 0);
    } catch {
      return true; // not JSON: relay untouched
    }
  }
}

// Keys whose non-empty string value is generated text. A role-only first chunk (`"content":""`),
// which some servers send before prefill ends, is not a token.
const TOKEN_KEYS = ['"content":"', '"text":"', '"reasoning_content":"', '"content": "', '"text": "'];

function hasToken(text: string, start: number, end: number): boolean {
  for (const key of TOKEN_KEYS) {
    const at = text.indexOf(key, start);
    if (at >= 0 && at < end && text.charCodeAt(at + key.length) !== 34) return true;
  }
  const at = text.indexOf('"tool_calls":[{', start);
  return at >= 0 && at < end;
}

/** The final SSE event sent when the upstream fails mid-stream: OpenAI SDKs raise it as an error. */
export function sseError(message: string, code = "upstream_stream_error", type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, code, param: null } })}\n\n`;
}
