/**
 * The gateway's HTTP routes: the proxied OpenAI operations and the front doors (each request
 * becomes one exchange for the forwarder), and what the gateway answers itself — the model list,
 * one model, health, readiness, metrics and RAG.
 */
import type { ServerResponse } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InferplaneError, isInferplaneError } from "../errors.js";
import { type RagCaller, registerRagRoutes } from "../rag/index.js";
import type { Platform } from "../spec/schema.js";
import { withProcessMetrics } from "../telemetry/process-metrics.js";
import type { Tracing } from "../telemetry/tracing.js";
import type { DoorTranslation, FrontDoor } from "./api/door.js";
import { doors, responses, retrieveResponse } from "./api/index.js";
import { validateParams } from "./api/params.js";
import type { StreamMeter } from "./meter.js";
import type { GatewayMetrics } from "./metrics.js";
import { callerOf, internalRequestHeaders } from "./policy/index.js";
import { credentialOf, inScope } from "./policy/keys.js";
import { Exchange, OVERHEAD_HEADER, REQUEST_ID_HEADER, requestIdOf } from "./proxy/exchange.js";
import type { Handler } from "./proxy/layers.js";
import type { ProxyOp } from "./proxy/ops.js";
import { sendError } from "./proxy/respond.js";
import type { GatewayRuntime } from "./runtime.js";

type Log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface RouteContext {
  runtime(): GatewayRuntime;
  metrics: GatewayMetrics;
  tracing: Tracing;
  log: Log;
  draining: boolean;
  forward: Handler;
  meterFor?: (res: ServerResponse) => StreamMeter | undefined;
}

export const OP_PATHS: readonly (readonly [string, ProxyOp])[] = [
  ["/v1/chat/completions", "chat"],
  ["/v1/completions", "completions"],
  ["/v1/embeddings", "embeddings"],
  ["/v1/rerank", "rerank"],
  ["/rerank", "rerank"],
];

interface Stamped {
  t0: number;
  requestId: string;
  translation?: DoorTranslation;
}
const stamp = (request: FastifyRequest) => request as unknown as Stamped;

/** Arrival time and request id on every request; the id on every response. */
function stampRequests(app: FastifyInstance): void {
  app.decorateRequest("t0", 0);
  app.decorateRequest("requestId", "");
  app.addHook("onRequest", (request, reply, done) => {
    const s = stamp(request);
    s.t0 = performance.now();
    s.requestId = requestIdOf(request.headers);
    void reply.header(REQUEST_ID_HEADER, s.requestId);
    done();
  });
}

function errorHandling(app: FastifyInstance, ctx: RouteContext): void {
  app.setErrorHandler((err: FastifyError | InferplaneError, request, reply) => {
    const max = ctx.runtime().plan.gateway.maxRequestBytes;
    const e = isInferplaneError(err)
      ? err
      : err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? new InferplaneError("request_too_large", `the request body exceeds ${max} bytes`)
        : err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
          ? new InferplaneError("invalid_json", "send a JSON object with content-type application/json")
          : (err.statusCode ?? 500) < 500
            ? new InferplaneError("invalid_request", err.message)
            : new InferplaneError("internal", err.message);
    if (e.code === "internal") ctx.log("error", "request failed", { err: err.message });
    const t0 = stamp(request).t0;
    if (t0) void reply.header(OVERHEAD_HEADER, (performance.now() - t0).toFixed(3));
    if (e.retryAfter !== undefined) void reply.header("retry-after", e.retryAfter);
    void reply.code(e.def.status).send(e.toOpenAI());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(new InferplaneError("not_found", `no route for ${request.method} ${request.url}`).toOpenAI());
  });
}

/** Hands a request to the forwarder as an exchange (the reply is hijacked: the layers answer). */
function exchangeOf(request: FastifyRequest, reply: FastifyReply, op: ProxyOp, ctx: RouteContext): Exchange {
  reply.hijack();
  const s = stamp(request);
  const body = request.body as Record<string, unknown>;
  const ex = new Exchange(op, body, request.headers, reply.raw, s.t0, s.requestId);
  ex.meter = ctx.meterFor?.(reply.raw);
  return ex;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A door translates in preValidation, so that admission sees the chat body it will forward. */
function registerDoor(app: FastifyInstance, door: FrontDoor, ctx: RouteContext): void {
  app.post(door.path, {
    preValidation: (request, reply, done) => {
      try {
        const t = door.translate(request.body);
        stamp(request).translation = t;
        request.body = t.body;
        done();
      } catch (err) {
        const e = isInferplaneError(err) ? err : new InferplaneError("invalid_request", String(err));
        void reply.code(e.def.status).send(door.errorBody(e));
      }
    },
    handler: (request, reply) => {
      const t = stamp(request).translation as DoorTranslation;
      const ex = exchangeOf(request, reply, t.op, ctx);
      ex.door = t;
      ex.doorErrorBody = (e) => door.errorBody(e);
      try {
        t.bind?.(callerOf(request.raw)?.id);
      } catch (err) {
        sendError(ex, isInferplaneError(err) ? err : new InferplaneError("internal", String(err)));
        return;
      }
      return ctx.forward(ex);
    },
  });
}

export function registerApiRoutes(app: FastifyInstance, ctx: RouteContext): void {
  stampRequests(app);
  errorHandling(app, ctx);
  for (const [path, op] of OP_PATHS) {
    app.post(path, {
      // vLLM's parameter ranges, before admission books any tokens (rerank has no sampling fields).
      ...(op === "rerank"
        ? {}
        : {
            preValidation: (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
              if (!isObject(request.body)) return done();
              try {
                validateParams(op, request.body);
                done();
              } catch (err) {
                done(err as Error);
              }
            },
          }),
      handler: (request, reply) => {
        const ex = exchangeOf(request, reply, op, ctx);
        if (!isObject(request.body)) {
          sendError(ex, new InferplaneError("invalid_json", "the request body must be a JSON object"));
          return;
        }
        return ctx.forward(ex);
      },
    });
  }
  for (const door of doors) registerDoor(app, door, ctx);
  // A stored response, to the key that created it only (admitted as a listing: key and paths).
  app.get("/v1/responses/:id", async (request, reply) => {
    const { id } = request.params as { id: string };
    const found = retrieveResponse(responses.store, id, callerOf(request.raw)?.id);
    if (found !== undefined) return found;
    return reply.code(404).send(
      new InferplaneError("not_found", `Response with id '${id}' not found.`, {
        param: "response_id",
      }).toOpenAI(),
    );
  });
}

function modelEntry(id: string, created: number) {
  return { id, object: "model", created, owned_by: "inferplane" };
}

/** The caller of a RAG request as the policy knows it: its key's collections and its credential. */
const ragCaller: RagCaller = {
  mayUse(request, collection) {
    const key = callerOf(request);
    return !key || inScope(key.collections, collection);
  },
  headers(headers) {
    const credential = credentialOf(headers);
    // The internal header only says the RAG route already counted the request; it admits nothing without the key.
    return credential ? { authorization: `Bearer ${credential}`, ...internalRequestHeaders() } : {};
  },
};

export function registerInfoRoutes(app: FastifyInstance, ctx: RouteContext, platform: Platform): void {
  // RAG (/v1/rag/*): embeddings, rerank and answers call this gateway's own router over loopback.
  registerRagRoutes(app, {
    rag: () => ctx.runtime().plan.spec.rag,
    gatewayUrl: () => selfUrl(app),
    registry: ctx.metrics.registry,
    tracing: ctx.tracing,
    caller: ragCaller,
  });
  // Only what the caller's key may use (with keys on, admission already required one).
  const names = (request: FastifyRequest) => {
    const key = callerOf(request.raw);
    return ctx
      .runtime()
      .router.publicNames()
      .filter(({ name, aliases }) => !key || [name, ...aliases].some((n) => inScope(key.models, n)))
      .flatMap(({ name, aliases }) => [name, ...aliases]);
  };
  app.get("/v1/models", async (request) => {
    const created = Math.floor(Date.now() / 1000);
    return { object: "list", data: names(request).map((id) => modelEntry(id, created)) };
  });
  // Model ids may hold slashes (`meta-llama/Llama-3.1-8B-Instruct`): the rest of the path is the id.
  app.get("/v1/models/*", async (request, reply) => {
    const id = decodeURIComponent((request.params as { "*": string })["*"]);
    if (!names(request).includes(id)) {
      return reply.code(404).send(
        new InferplaneError("model_not_found", `The model \`${id}\` does not exist.`, {
          param: "model",
        }).toOpenAI(),
      );
    }
    return modelEntry(id, Math.floor(Date.now() / 1000));
  });
  // `/health` too: benchmark clients (GuideLLM) probe it before they start.
  for (const path of ["/healthz", "/health"]) app.get(path, async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const now = performance.now();
    const rt = ctx.runtime();
    const missing = rt.plan.spec.routes
      .filter((r) => r.required)
      .filter((r) => !r.targets.some((t) => (rt.pools.get(t.model)?.available(now).length ?? 0) > 0))
      .map((r) => r.name);
    if (ctx.draining || missing.length > 0) {
      return reply
        .code(503)
        .send({ status: ctx.draining ? "draining" : "not ready", routesWithoutEndpoints: missing });
    }
    return { status: "ready" };
  });
  const m = platform.observability.metrics;
  if (m.enabled) {
    app.get(m.path, async (_request, reply) => {
      void reply.header("content-type", ctx.metrics.registry.contentType);
      return withProcessMetrics(ctx.metrics.registry);
    });
  }
}

/** This gateway's loopback URL (a wildcard listen address is reached on loopback). */
function selfUrl(app: FastifyInstance): string {
  const a = app.server.address();
  if (!a || typeof a !== "object") throw new Error("the gateway is not listening");
  const host = a.address === "0.0.0.0" || a.address === "::" ? "127.0.0.1" : a.address;
  return `http://${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}
