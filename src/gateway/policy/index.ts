/**
 * Wires hardening and policy into the gateway's Fastify app: one call from server.ts. With
 * `auth.mode: none` only the field checks run (a synchronous hook, no promise per request).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { GatewaySpec } from "../../spec/schema.js";
import { registerAdmin } from "./admin.js";
import { installHardening } from "./hardening.js";
import { checkFields, GatewayPolicy, type LogFn } from "./policy.js";
import type { Op } from "./request-fields.js";

export { hardenedServerOptions } from "./hardening.js";

/**
 * Calls the gateway makes to itself (RAG → /v1/embeddings, /v1/rerank, /v1/chat/completions)
 * carry this header: the request that caused them was already authenticated and limited.
 */
export const INTERNAL_HEADER = "x-inferplane-internal";
const internalToken = randomBytes(32).toString("base64url");

/** Headers for a gateway's loopback calls to itself (per-process secret, never logged). */
export function internalRequestHeaders(): Record<string, string> {
  return { [INTERNAL_HEADER]: internalToken };
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
  reload(spec: GatewaySpec): void;
  close(): Promise<void>;
}

export async function installGatewayPolicy(
  app: FastifyInstance,
  o: {
    ops: readonly (readonly [string, Op])[];
    spec: () => GatewaySpec;
    env: NodeJS.ProcessEnv;
    log: LogFn;
    registry: Registry;
    resolveRoute: (model: string) => string | undefined;
  },
): Promise<PolicyHooks> {
  installHardening(app, o.spec);
  const initial = o.spec();
  const policy = await GatewayPolicy.create(initial, o);
  const opByPath = new Map<string, Op>(o.ops.map(([p, op]) => [p, op]));
  if (!policy) {
    app.addHook("preHandler", (request, reply, done) => {
      const op = opByPath.get(request.routeOptions.url ?? "");
      if (op === undefined || checkFields(op, request, reply)) done();
    });
  } else {
    app.addHook("preHandler", async (request, reply) => {
      const route = request.routeOptions.url ?? "";
      const op = opByPath.get(route);
      const rag = route.startsWith("/v1/rag/");
      if (op === undefined && !rag) return;
      if (op !== undefined && !checkFields(op, request, reply)) return reply;
      if (isInternal(request.headers[INTERNAL_HEADER])) return; // admitted (and counted) at its RAG route
      await policy.admit(op, (request.raw.url ?? "").split("?")[0] ?? "", request, reply);
      if (reply.sent) return reply;
    });
    registerAdmin(app, policy, () => o.spec().auth.adminTokenEnv, o.env);
  }
  return {
    onUsage: policy ? (res, u) => policy.onUsage(res, u) : undefined,
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
