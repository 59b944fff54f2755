/**
 * Minimal SSE handling for relayed streams: split upstream bytes into events, note the first
 * content event (time to first token), read the usage chunk and drop it when the gateway asked
 * for it on the client's behalf, and remember whether `[DONE]` arrived (a stream without it was
 * truncated).
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
  usage: Usage | undefined;
  /** The `model` of the usage chunk (gen_ai.response.model). */
  model: string | undefined;

  /** @param stripUsage drop the usage-only chunk (the client did not ask for it). */
  constructor(private readonly stripUsage: boolean) {}

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
      if (this.accept(event)) out += event;
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
    return out;
  }

  /** Whatever is left when the upstream ends (an unterminated event). */
  flush(): string {
    const rest = this.buffer + this.decoder.end();
    this.buffer = "";
    return rest;
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
    if (!this.sawToken && hasToken(event)) this.sawToken = true;
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
export function sseError(message: string, code = "upstream_stream_error"): string {
  return `data: ${JSON.stringify({ error: { message, type: "server_error", code, param: null } })}\n\n`;
}
