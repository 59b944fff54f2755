// The chat playground: a streamed chat against any route, with the timings the page and the
// gateway measured (TTFT, tokens/s, total, the gateway's own overhead).
import { $, h } from "./dom.js";

interface Chunk {
  choices?: { delta?: { content?: string } }[];
  usage?: { completion_tokens?: number };
}

/** What the stream delivered: when its first text came, how many text pieces, the usage chunk. */
interface Received {
  first: number;
  pieces: number;
  usage?: { completion_tokens?: number };
}

function timing(label: string, value: string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", { "data-timing": label }, value));
}

function send(key: string): Promise<Response> {
  return fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({
      model: $<HTMLSelectElement>("chat-route").value,
      messages: [{ role: "user", content: $<HTMLTextAreaElement>("chat-prompt").value }],
      max_tokens: Number($<HTMLInputElement>("chat-max").value) || 64,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
}

/** One SSE `data:` line: its text goes to the page, its usage is kept. */
function onLine(line: string, got: Received, out: HTMLElement): void {
  if (!line.startsWith("data:")) return;
  const data = line.slice(5).trim();
  if (data === "[DONE]") return;
  const chunk = JSON.parse(data) as Chunk;
  const text = chunk.choices?.[0]?.delta?.content;
  if (text) {
    if (!got.first) got.first = performance.now();
    got.pieces++;
    out.append(text);
  }
  if (chunk.usage) got.usage = chunk.usage;
}

async function readStream(body: ReadableStream<BufferSource>, out: HTMLElement): Promise<Received> {
  const got: Received = { first: 0, pieces: 0 };
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return got;
    buf += value;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const line of lines) onLine(line, got, out);
  }
}

function showTimings(got: Received, t0: number, overhead: string | null): void {
  const end = performance.now();
  const tokens = got.usage?.completion_tokens ?? got.pieces;
  const decodeS = (end - (got.first || end)) / 1000;
  $("chat-timings").replaceChildren(
    timing("TTFT", got.first ? `${(got.first - t0).toFixed(0)} ms` : "—"),
    timing("Tokens", String(tokens)),
    timing("Tokens/s", decodeS > 0 && tokens > 1 ? ((tokens - 1) / decodeS).toFixed(1) : "—"),
    timing("Total", `${(end - t0).toFixed(0)} ms`),
    timing("Gateway overhead", overhead ? `${Number(overhead).toFixed(2)} ms` : "—"),
  );
}

$("chat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("chat-out");
  out.textContent = "";
  $("chat-timings").replaceChildren();
  const t0 = performance.now();
  try {
    const res = await send($<HTMLInputElement>("chat-key").value.trim());
    if (!res.ok || !res.body) {
      const err = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      out.textContent = `Error ${res.status}: ${err.error?.message ?? res.statusText}`;
      return;
    }
    showTimings(await readStream(res.body, out), t0, res.headers.get("x-inferplane-overhead-ms"));
  } catch (err) {
    out.textContent = `Failed: ${(err as Error).message}`;
  }
});
