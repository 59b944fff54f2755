/**
 * Minimal SSE handling for relayed streams: split upstream bytes into events, count the events
 * that carry generated text (the first one is time to first token; their count is the
 * completion-token count when the engine sends no usage), read the usage chunk and drop it when
 * the gateway asked for it on the client's behalf, and remember whether `[DONE]` arrived (a
 * stream without it was truncated).
 */
import { StringDecoder } from "node:string_decoder";

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export class SseRelay {
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  done = false;
  sawContent = false;
  /** An event carried generated text (or a tool call): the first token, for time to first token. */
  sawToken = false;
  /** Events that carried generated text so far (one per decoding step of the engine). */
  tokenEvents = 0;
  usage: Usage | undefined;
  /** The `model` of the usage chunk (gen_ai.response.model). */
  model: string | undefined;

  /**
   * @param stripUsage drop the usage-only chunk (the client did not ask for it).
   * @param transform rewrites each relayed event (a front door's translation); default: as is.
   */
  constructor(
    private readonly stripUsage: boolean,
    private readonly transform?: (event: string) => string,
  ) {}

  /** Feeds upstream bytes; returns the text to send to the client now (possibly empty). */
  push(chunk: Buffer): string {
    this.buffer += this.decoder.write(chunk);
    let out = "";
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf("\n\n", start);
      if (end < 0) break;
      const event = this.buffer.slice(start, end + 2);
      start = end + 2;
      if (this.accept(event)) out += this.transform ? this.transform(event) : event;
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
    return out;
  }

  /** Whatever is left when the upstream ends (an unterminated event). */
  flush(): string {
    const rest = this.buffer + this.decoder.end();
    this.buffer = "";
    return this.transform && rest !== "" ? "" : rest;
  }

  private accept(event: string): boolean {
    if (event.startsWith("data: [DONE]")) {
      this.done = true;
      return true;
    }
    const usageAt = event.indexOf('"usage":{');
    if (usageAt >= 0) {
      try {
        const body = JSON.parse(event.slice(event.indexOf("{"))) as {
          usage?: Usage;
          choices?: unknown[];
          model?: unknown;
        };
        if (body.usage) this.usage = body.usage;
        if (typeof body.model === "string") this.model = body.model;
        if (this.stripUsage && Array.isArray(body.choices) && body.choices.length === 0) return false;
      } catch {
        // not JSON: relay untouched
      }
    }
    if (!this.sawContent && event.startsWith("data: ")) this.sawContent = true;
    if (hasToken(event)) {
      this.sawToken = true;
      this.tokenEvents++;
    }
    return true;
  }
}

// Keys whose non-empty string value is generated text. A role-only first chunk (`"content":""`),
// which some servers send before prefill ends, is not a token.
const TOKEN_KEYS = ['"content":"', '"text":"', '"reasoning_content":"', '"content": "', '"text": "'];

function hasToken(event: string): boolean {
  for (const key of TOKEN_KEYS) {
    const at = event.indexOf(key);
    if (at >= 0 && event.charCodeAt(at + key.length) !== 34) return true;
  }
  return event.includes('"tool_calls":[{');
}

/** The final SSE event sent when the upstream fails mid-stream: OpenAI SDKs raise it as an error. */
export function sseError(message: string, code = "upstream_stream_error", type = "server_error"): string {
  return `data: ${JSON.stringify({ error: { message, type, code, param: null } })}\n\n`;
}
