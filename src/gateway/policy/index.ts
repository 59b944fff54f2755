/**
 * Wires hardening and policy into the gateway's Fastify app: one call from server.ts. With
 * `auth.mode: none` only the field checks run (a synchronous hook, no promise per request).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { GatewaySpec } from "../../spec/schema.js";
import type { StreamMeter } from "../meter.js";
import { registerAdmin } from "./admin.js";
import { installHardening } from "./hardening.js";
import { checkFields, GatewayPolicy, type LogFn } from "./policy.js";
import type { ErrorBody } from "./refusals.js";
import type { Op } from "./request-fields.js";

export { hardenedServerOptions } from "./hardening.js";
export { callerOf } from "./policy.js";

/** Routes anyone may call, whatever the auth mode (probes). */
const PUBLIC_ROUTES = new Set(["/healthz", "/readyz"]);

/** Reads admitted on the key and its paths alone; the handler scopes what it answers (callerOf). */
function isListing(route: string): boolean {
  return (
    route === "/v1/models" ||
    route.startsWith("/v1/models/") ||
    route === "/models" ||
    route === "/v1/responses/:id"
  );
}

/**
 * Calls the gateway makes to itself (RAG → /v1/embeddings, /v1/rerank, /v1/chat/completions)
 * carry this header next to the caller's own key. It admits nothing by itself: the call is
 * admitted with the caller's key, model scopes, TPM and budget, and charged to it; the header
 * only says that the RAG route already counted the request (RPM) and checked its path.
 */
export const INTERNAL_HEADER = "x-inferplane-internal";
const internalToken = randomBytes(32).toString("base64url");

/** Headers for a gateway's loopback calls to itself (per-process secret, never logged). */
export function internalRequestHeaders(): Record<string, string> {
  return { [INTERNAL_HEADER]: internalToken };
}

/**
 * How a request outside the API operations is admitted: RAG by its collection scopes, listings by
 * the key, and with `auth.protectMetrics` everything else the gateway serves (its metrics) by a key
 * whose paths allow it; undefined: no admission (health, admin with its own token, preflights).
 */
function otherKind(route: string, method: string, protectMetrics: boolean): "rag" | "list" | undefined {
  if (route.startsWith("/v1/rag/")) return "rag";
  if (isListing(route)) return "list";
  const open =
    route === "" ||
    method === "OPTIONS" || // CORS preflights carry no credentials
    route === "/*" ||
    PUBLIC_ROUTES.has(route) ||
    route.startsWith("/admin/");
  return protectMetrics && !open ? "list" : undefined;
}

function isInternal(v: string | string[] | undefined): boolean {
  if (typeof v !== "string" || v.length !== internalToken.length) return false;
  return timingSafeEqual(Buffer.from(v), Buffer.from(internalToken));
}

export interface PolicyHooks {
  /** For the proxy: usage of a finished request (undefined when the policy is off). */
  onUsage:
    | ((
        res: ServerResponse,
        u: { pool: string; status: number; inputTokens: number; outputTokens: number },
      ) => void)
    | undefined;
  /**
   * The StreamMeter admission built for a response (undefined: policy off, or the key has no TPM
   * or budget). The streaming relay calls `add(completionTokens)` per relayed chunk.
   */
  meterFor(res: ServerResponse): StreamMeter | undefined;
  reload(spec: GatewaySpec): void;
  close(): Promise<void>;
}

export async function installGatewayPolicy(
  app: FastifyInstance,
  o: {
    /** API paths, the operation admission estimates tokens for, and the path's error shape (a door's). */
    ops: readonly (readonly [string, Op, ErrorBody?])[];
    spec: () => GatewaySpec;
    env: NodeJS.ProcessEnv;
    log: LogFn;
    registry: Registry;
    resolveRoute: (model: string) => string | undefined;
    /** A route's context limit (tokens), for the completion reserve of requests that set none. */
    contextLimit?: (route: string) => number | undefined;
  },
): Promise<PolicyHooks> {
  installHardening(app, o.spec);
  const initial = o.spec();
  const policy = await GatewayPolicy.create(initial, o);
  const opByPath = new Map(o.ops.map(([p, op, errorBody]) => [p, { op, errorBody }]));
  if (!policy) {
    app.addHook("preHandler", (request, reply, done) => {
      const api = opByPath.get(request.routeOptions.url ?? "");
      if (api === undefined || checkFields(api.op, request, reply, api.errorBody)) done();
    });
  } else {
    app.addHook("preHandler", async (request, reply) => {
      const route = request.routeOptions.url ?? "";
      const api = opByPath.get(route);
      const path = (request.raw.url ?? "").split("?")[0] ?? "";
      if (api !== undefined) {
        if (!checkFields(api.op, request, reply, api.errorBody)) return reply;
        const internal = isInternal(request.headers[INTERNAL_HEADER]);
        await policy.admit(api.op, path, request, reply, {
          kind: "api",
          internal,
          ...(api.errorBody ? { errorBody: api.errorBody } : {}),
        });
      } else {
        const kind = otherKind(route, request.method, o.spec().auth.protectMetrics);
        if (kind === undefined) return;
        await policy.admit(undefined, path, request, reply, { kind });
      }
      if (reply.sent) return reply;
    });
    registerAdmin(app, policy, () => o.spec().auth.adminTokenEnv, o.env);
  }
  return {
    onUsage: policy ? (res, u) => policy.onUsage(res, u) : undefined,
    meterFor: (res) => policy?.meterFor(res),
    reload(spec) {
      if ((spec.auth.mode === "keys") !== (policy !== undefined)) {
        o.log("warn", "gateway.auth.mode changed; restart the gateway to apply it", { mode: spec.auth.mode });
      }
      policy?.reload(spec);
    },
    close: async () => {
      await policy?.close();
    },
  };
}
