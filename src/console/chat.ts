// The chat playground: a streamed chat against any route, with the timings the page and the
// gateway measured (TTFT, tokens/s, total, the gateway's own overhead).
import { $, h } from "./dom.js";

function timing(label: string, value: string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", { "data-timing": label }, value));
}

$("chat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("chat-out");
  const timings = $("chat-timings");
  out.textContent = "";
  timings.replaceChildren();
  const key = $<HTMLInputElement>("chat-key").value.trim();
  const t0 = performance.now();
  let first = 0;
  let pieces = 0;
  let usage: { completion_tokens?: number } | undefined;
  try {
    const res = await fetch("/v1/chat/completions", {
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
    const overhead = res.headers.get("x-inferplane-overhead-ms");
    if (!res.ok || !res.body) {
      const err = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      out.textContent = `Error ${res.status}: ${err.error?.message ?? res.statusText}`;
      return;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as {
          choices?: { delta?: { content?: string } }[];
          usage?: { completion_tokens?: number };
        };
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) {
          if (!first) first = performance.now();
          pieces++;
          out.append(text);
        }
        if (chunk.usage) usage = chunk.usage;
      }
    }
    const end = performance.now();
    const tokens = usage?.completion_tokens ?? pieces;
    const decodeS = (end - (first || end)) / 1000;
    timings.replaceChildren(
      timing("TTFT", first ? `${(first - t0).toFixed(0)} ms` : "—"),
      timing("Tokens", String(tokens)),
      timing("Tokens/s", decodeS > 0 && tokens > 1 ? ((tokens - 1) / decodeS).toFixed(1) : "—"),
      timing("Total", `${(end - t0).toFixed(0)} ms`),
      timing("Gateway overhead", overhead ? `${Number(overhead).toFixed(2)} ms` : "—"),
    );
  } catch (err) {
    out.textContent = `Failed: ${(err as Error).message}`;
  }
});
