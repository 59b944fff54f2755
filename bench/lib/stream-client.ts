/**
 * A minimal streaming OpenAI-completions client for benchmarks: one request, timed per token.
 * (`inferplane bench` grows out of this; the benchmarks here need only these numbers.)
 */
import { encode } from "gpt-tokenizer";

export interface StreamTiming {
  ok: boolean;
  status: number;
  /** Seconds from send to the first content chunk. */
  ttft: number;
  /** Gaps between content chunks, seconds. */
  itl: number[];
  e2e: number;
  outputTokens: number;
  error?: string;
}

const WORDS = " the a of and to in is was for on that with as by at from it an be this are or his her"
  .split(" ")
  .filter(Boolean);

/** A prompt of about `tokens` tokens, unique per `seed` (so that prefix caching does not hit). */
export function promptOfTokens(tokens: number, seed: number): string {
  let x = (seed * 2654435761) >>> 0;
  const words = [`request ${seed}:`];
  while (encode(words.join(" ")).length < tokens) {
    x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 12345) >>> 0;
    words.push(WORDS[x % WORDS.length] as string);
  }
  return words.join(" ");
}

export async function streamCompletion(
  url: string,
  body: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<StreamTiming> {
  const start = performance.now();
  const timing: StreamTiming = {
    ok: false,
    status: 0,
    ttft: Number.NaN,
    itl: [],
    e2e: Number.NaN,
    outputTokens: 0,
  };
  try {
    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      ...(signal ? { signal } : {}),
    });
    timing.status = res.status;
    if (!res.ok || !res.body) {
      timing.error = await res.text();
      return timing;
    }
    let last = 0;
    let buffer = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      const now = performance.now();
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        if (!event.startsWith("data: ") || event === "data: [DONE]") {
          if (event === "data: [DONE]") timing.ok = true;
          continue;
        }
        const data = JSON.parse(event.slice(6)) as {
          choices?: { text?: string }[];
          usage?: { completion_tokens: number } | null;
        };
        if (data.usage) timing.outputTokens = data.usage.completion_tokens;
        if (!data.choices?.[0]?.text) continue;
        if (Number.isNaN(timing.ttft)) timing.ttft = (now - start) / 1000;
        else timing.itl.push((now - last) / 1000);
        last = now;
      }
    }
    timing.e2e = (performance.now() - start) / 1000;
  } catch (err) {
    timing.error = err instanceof Error ? err.message : String(err);
  }
  return timing;
}

export const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
