/**
 * A minimal streaming client for measuring a server at thousands of tokens per second: one TCP
 * connection per request, the HTTP/1.1 request written by hand, the reply read as latin1 text
 * and cut at SSE event boundaries — no HTTP client library and no JSON parse per token (only the
 * usage event is parsed). The undici-based src/bench/client.ts costs ~16 µs of client CPU per
 * token, which saturates a core at 1,000 streams × 83 tokens/s and then delays its own reads;
 * this one costs a few µs, so the gaps it records are the server's.
 *
 * Timing as in src/bench/client.ts: TTFT from connect to the first content event, one gap per
 * later content event, all events of one read stamped with the read's time.
 */
import { connect } from "node:net";
import { pendingResult, type RequestResult } from "../../src/bench/client.js";

const DONE = "data: [DONE]";

/** POSTs one streamed request (`path`, JSON `body`) to host:port and reads the SSE reply. */
export function rawStream(
  host: string,
  port: number,
  path: string,
  body: string,
  onFirstToken?: () => void,
): Promise<RequestResult> {
  const r = pendingResult();
  const start = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port, noDelay: true });
    socket.setEncoding("latin1");
    let head = true;
    let buffer = "";
    let events = 0;
    let last = 0;
    let done = false;
    const finish = (error?: string) => {
      if (!Number.isNaN(r.e2eMs)) return; // already finished
      r.e2eMs = performance.now() - start;
      if (r.outputTokens === 0) r.outputTokens = events;
      if (error !== undefined) {
        r.errorType ??= "error";
        r.error ??= error;
      } else if (!done) {
        r.errorType = "stream_cut";
        r.error = "the stream ended without data: [DONE]";
      }
      r.ok = r.errorType === undefined && r.status === 200;
      socket.destroy();
      resolve(r);
    };
    socket.on("error", (err) => finish(err.message));
    socket.on("close", () => finish());
    socket.on("data", (chunk: string) => {
      const now = performance.now();
      buffer += chunk;
      if (head) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        r.status = Number(buffer.slice(9, 12));
        if (r.status !== 200) {
          r.errorType = `http_${r.status}`;
          r.error = buffer.slice(end + 4, end + 204);
          return finish();
        }
        head = false;
        buffer = buffer.slice(end + 4);
      }
      // Events end with a blank line; HTTP chunk-size lines sit between them, before "data: ".
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = buffer.slice(buffer.indexOf("data: "), cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        if (event === DONE) {
          done = true;
          continue;
        }
        if (event.includes('"usage":{')) {
          const u = (
            JSON.parse(event.slice(6)) as { usage: { prompt_tokens: number; completion_tokens: number } }
          ).usage;
          r.promptTokens = u.prompt_tokens;
          r.outputTokens = u.completion_tokens;
          continue;
        }
        // A content event: `"text":"…"` (completions) or `"content":"…"` (chat) with something in it.
        if (event.includes('"text":""') || event.includes('"content":""')) continue;
        if (events === 0) {
          r.ttftMs = now - start;
          onFirstToken?.();
        } else r.itlMs.push(now - last);
        last = now;
        events++;
      }
      // The terminating zero-length chunk: the reply is complete.
      if (done && buffer.includes("0\r\n\r\n")) finish();
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
