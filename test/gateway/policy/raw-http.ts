// Raw HTTP/1.1 over a socket: what a fuzzer needs that fetch refuses to send (bad headers, invalid
// bytes, lying lengths, trickled bodies) and a tolerant reader of whatever comes back.
import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function parseResponse(buf: Buffer): RawResponse | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "");
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = buf.subarray(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf("\r\n", at);
      if (nl < 0) break;
      const size = Number.parseInt(body.subarray(at, nl).toString(), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers["content-length"]) {
    body = body.subarray(0, Number(headers["content-length"]));
  }
  return { status: Number(m[1]), headers, body: body.toString("utf8") };
}

/**
 * Sends `write(socket)`'s bytes and reads until the server closes (or the response is complete),
 * bounded by `timeoutMs`. Resolves undefined when nothing parseable came back.
 */
export function rawRequest(
  port: number,
  write: (s: Socket) => void | Promise<void>,
  timeoutMs = 10_000,
): Promise<RawResponse | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const sock = connect({ host: "127.0.0.1", port });
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parseResponse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on("data", (b: Buffer) => {
      chunks.push(b);
      const r = parseResponse(Buffer.concat(chunks));
      if (
        r &&
        r.headers["content-length"] !== undefined &&
        Buffer.byteLength(r.body) >= Number(r.headers["content-length"])
      ) {
        finish();
      }
    });
    sock.on("error", () => {}); // EPIPE/ECONNRESET after the server answered early: keep what came
    sock.on("close", finish);
    sock.on("connect", () => {
      Promise.resolve(write(sock)).catch(() => {});
    });
  });
}

/** A request with the given head lines and body; `connection: close` so each gets its own socket. */
export function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string = "",
): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const lines = [`${method} ${path} HTTP/1.1`, "host: 127.0.0.1", "connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (
    !Object.keys(headers).some(
      (k) => k.toLowerCase() === "content-length" || k.toLowerCase() === "transfer-encoding",
    )
  ) {
    lines.push(`content-length: ${b.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), b]);
}
