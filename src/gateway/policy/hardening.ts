/**
 * Client-side hardening of the gateway's HTTP server: body, header and URL limits, slow-client
 * timeouts (slowloris), strict JSON bodies, CORS and security headers. Every refusal is a 4xx
 * in the OpenAI error shape — including the ones Node's HTTP parser raises before Fastify
 * sees a request.
 */
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { InferplaneError } from "../../errors.js";
import { parseJsonBody } from "../../json-body.js";
import type { GatewaySpec } from "../../spec/schema.js";

/** Options for Fastify (and the Node server under it) from the spec's limits. */
export function hardenedServerOptions(g: GatewaySpec): FastifyServerOptions {
  const headersTimeout = Math.min(g.http.headersTimeout, g.http.requestTimeout);
  return {
    bodyLimit: g.maxRequestBytes,
    requestTimeout: g.http.requestTimeout,
    http: {
      maxHeaderSize: g.http.maxHeaderBytes,
      headersTimeout,
      requestTimeout: g.http.requestTimeout,
      // Node checks both timeouts on this period (default 30 s): keep it well under them.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 2))),
    },
    clientErrorHandler: onClientError,
  } as FastifyServerOptions;
}

/** What Node's parser rejects before a request exists: answered on the raw socket, then closed. */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const e =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? new InferplaneError("request_timeout", "the request was not received in time")
      : err.code === "HPE_HEADER_OVERFLOW"
        ? new InferplaneError("headers_too_large", "the request line and headers are too large")
        : new InferplaneError("invalid_request", `malformed HTTP request (${err.code ?? "parse error"})`);
  const body = JSON.stringify(e.toOpenAI());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.def.status} ${e.def.status === 408 ? "Request Timeout" : e.def.status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** How much of an oversized body is read and dropped before the 413 (lingering close). */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;
const LINGER_MAX_MS = 5_000;

const SECURITY_HEADERS: [string, string][] = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "no-referrer"],
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
];

const EXPOSED = [
  "retry-after",
  "x-inferplane-overhead-ms",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-reset-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-tokens",
].join(", ");

function corsOrigin(g: GatewaySpec, origin: string | undefined): string | undefined {
  if (!origin || g.http.cors.origins.length === 0) return undefined;
  if (g.http.cors.origins.includes("*")) return "*";
  return g.http.cors.origins.includes(origin) ? origin : undefined;
}

/**
 * Installs the strict JSON parser, the URL limit, security and CORS headers on every response
 * (set on the raw response, so they also reach hijacked, streamed replies) and CORS preflights.
 */
export function installHardening(app: FastifyInstance, spec: () => GatewaySpec): void {
  app.removeContentTypeParser("application/json");
  // The body is read here (not with parseAs) so an oversized one is drained before the 413 —
  // chunked bodies too, whose size is not announced.
  app.addContentTypeParser("application/json", (_request, payload, done) => {
    const limit = spec().maxRequestBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      payload.off("data", onData);
      if (err) return done(err, undefined);
      if (size > limit) {
        return done(
          new InferplaneError("request_too_large", `the request body exceeds ${limit} bytes`),
          undefined,
        );
      }
      try {
        // An empty body is no JSON; routes that need one say so (POST /admin/keys/:id/revoke needs none).
        done(null, size === 0 ? undefined : parseJsonBody(Buffer.concat(chunks, size)));
      } catch (e) {
        done(e as Error, undefined);
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        chunks.length = 0; // over the limit: keep reading, keep nothing
        if (size > LINGER_MAX_BYTES) finish();
      }
    };
    payload.on("data", onData);
    payload.once("end", () => finish());
    payload.once("error", (err: Error) => finish(err));
  });
  app.addHook("onRequest", (request, reply, done) => {
    const g = spec();
    const raw = reply.raw;
    if (g.http.securityHeaders) for (const [k, v] of SECURITY_HEADERS) raw.setHeader(k, v);
    const origin = corsOrigin(g, request.headers.origin);
    if (origin) {
      raw.setHeader("access-control-allow-origin", origin);
      raw.setHeader("access-control-expose-headers", EXPOSED);
      if (origin !== "*") raw.setHeader("vary", "origin");
    }
    const announced = Number(request.headers["content-length"]);
    if (announced > g.maxRequestBytes) {
      const e = new InferplaneError(
        "request_too_large",
        `the request body exceeds ${g.maxRequestBytes} bytes`,
      );
      // Lingering close (as nginx): read and drop what the client is already sending before
      // answering, or closing on unread data resets the connection and the 413 is lost.
      const raw = request.raw;
      let seen = 0;
      let answered = false;
      const answer = () => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        raw.off("data", onData);
        void reply.code(e.def.status).header("connection", "close").send(e.toOpenAI());
      };
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > LINGER_MAX_BYTES) answer();
      };
      const timer = setTimeout(answer, Math.min(LINGER_MAX_MS, g.http.requestTimeout));
      raw.on("data", onData);
      raw.once("end", answer);
      raw.once("error", answer);
      return; // answered (later): no done()
    }
    const url = request.raw.url ?? "";
    if (url.length > g.http.maxUrlBytes) {
      const e = new InferplaneError("uri_too_long", `the URL is longer than ${g.http.maxUrlBytes} bytes`);
      void reply.code(e.def.status).send(e.toOpenAI());
      return; // answered: no done()
    }
    done();
  });
  app.options("/*", (request, reply) => {
    const g = spec();
    const origin = corsOrigin(g, request.headers.origin);
    if (!origin) {
      void reply
        .code(404)
        .send(new InferplaneError("not_found", "CORS is not enabled for this origin").toOpenAI());
      return;
    }
    void reply
      .code(204)
      .header("access-control-allow-methods", "GET, POST, OPTIONS")
      .header(
        "access-control-allow-headers",
        "authorization, content-type, x-api-key, openai-organization, openai-project, traceparent",
      )
      .header("access-control-max-age", String(g.http.cors.maxAge))
      .send();
  });
}
