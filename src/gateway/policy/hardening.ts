/**
 * Client-side hardening of the gateway's HTTP server: body, header and URL limits, slow-client
 * timeouts (slowloris), strict JSON bodies, CORS and security headers. Every refusal is a 4xx
 * in the OpenAI error shape — including the ones Node's HTTP parser raises before Fastify
 * sees a request.
 */
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { InferplaneError } from "../../errors.js";
import type { GatewaySpec } from "../../spec/schema.js";
import { parseJsonBody } from "./json-body.js";

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
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      // An empty body is no JSON; routes that need one say so (POST /admin/keys/:id/revoke needs none).
      done(null, (body as Buffer).length === 0 ? undefined : parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
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
