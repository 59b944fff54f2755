/**
 * One streaming chat completion, timed: time to the first content token, end to end, the reply
 * text (to carry into the next turn of a conversation) and the usage the server reported
 * (`prompt_tokens_details.cached_tokens` says how much of the prompt the prefix cache served).
 */
import { Agent, request } from "undici";

export interface ChatTiming {
  ok: boolean;
  status: number;
  /** Seconds from send to the first content chunk. */
  ttft: number;
  /** Seconds from send to the end of the stream. */
  e2e: number;
  content: string;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  error?: string;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Keep-alive connections for the load (many streams at once). */
export const chatAgent = new Agent({ connections: 1024, keepAliveTimeout: 60_000, pipelining: 1 });

export async function streamChat(
  url: string,
  body: { model: string; messages: readonly ChatMessage[]; max_tokens: number; [k: string]: unknown },
  signal?: AbortSignal,
): Promise<ChatTiming> {
  const start = performance.now();
  const t: ChatTiming = {
    ok: false,
    status: 0,
    ttft: Number.NaN,
    e2e: Number.NaN,
    content: "",
    promptTokens: 0,
    cachedTokens: 0,
    outputTokens: 0,
  };
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: "POST",
      dispatcher: chatAgent,
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      headersTimeout: 600_000,
      bodyTimeout: 600_000,
      ...(signal ? { signal } : {}),
    });
    t.status = res.statusCode;
    if (res.statusCode !== 200) {
      t.error = (await res.body.text()).slice(0, 300);
      return t;
    }
    let buffer = "";
    const parts: string[] = [];
    res.body.setEncoding("utf8");
    for await (const chunk of res.body) {
      const now = performance.now();
      buffer += chunk as string;
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        if (!event.startsWith("data: ")) continue;
        if (event === "data: [DONE]") {
          t.ok = true;
          continue;
        }
        const data = JSON.parse(event.slice(6)) as {
          choices?: { delta?: { content?: string } }[];
          usage?: {
            prompt_tokens: number;
            completion_tokens: number;
            prompt_tokens_details?: { cached_tokens?: number } | null;
          } | null;
          error?: unknown;
        };
        if (data.error) {
          t.error = JSON.stringify(data.error).slice(0, 300);
          continue;
        }
        if (data.usage) {
          t.promptTokens = data.usage.prompt_tokens;
          t.outputTokens = data.usage.completion_tokens;
          t.cachedTokens = data.usage.prompt_tokens_details?.cached_tokens ?? 0;
        }
        const text = data.choices?.[0]?.delta?.content;
        if (!text) continue;
        if (Number.isNaN(t.ttft)) t.ttft = (now - start) / 1000;
        parts.push(text);
      }
    }
    t.content = parts.join("");
    t.e2e = (performance.now() - start) / 1000;
    if (t.error) t.ok = false;
  } catch (err) {
    t.error = err instanceof Error ? err.message : String(err);
  }
  return t;
}
