/**
 * The admin API under /admin/*, behind the admin token (`gateway.auth.adminTokenEnv`):
 * keys (create, list, revoke, rotate) and usage reports.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InferplaneError, isInferplaneError } from "../../errors.js";
import { checkKeyInput, createKey, listKeys, revokeKey, rotateKey, view } from "./key-admin.js";
import { credentialOf } from "./keys.js";
import type { GatewayPolicy } from "./policy.js";
import { type GroupBy, groupUsage } from "./usage.js";

const GROUPS: readonly GroupBy[] = ["key", "route", "model", "hour", "day"];

function sha(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** `2026-11-01`, `2026-11-01T10:00:00Z` or unix seconds → unix seconds. */
export function parseTime(v: string, param: string): number {
  if (/^\d{9,11}$/.test(v)) return Number(v);
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) {
    throw new InferplaneError(
      "invalid_request",
      `\`${param}\` must be a date, an ISO time or unix seconds, got "${v}"`,
      {
        param,
      },
    );
  }
  return Math.floor(t / 1000);
}

export function parseGroupBy(v: string | undefined): GroupBy[] {
  if (v === undefined || v === "") return ["key", "model"];
  const parts = v.split(",").map((s) => s.trim());
  for (const p of parts) {
    if (!(GROUPS as readonly string[]).includes(p)) {
      throw new InferplaneError("invalid_request", `group_by takes ${GROUPS.join(", ")}; got "${p}"`, {
        param: "group_by",
      });
    }
  }
  return parts as GroupBy[];
}

/** Default report period: this calendar month (UTC) up to now. */
export function defaultRange(now = Date.now()): { from: number; to: number } {
  const d = new Date(now);
  return { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000, to: Math.floor(now / 1000) + 3600 };
}

export function registerAdmin(
  app: FastifyInstance,
  policy: GatewayPolicy,
  tokenEnv: () => string,
  env: NodeJS.ProcessEnv,
) {
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header("cache-control", "no-store");
    const want = env[tokenEnv()];
    const got = credentialOf(request.headers);
    if (!want) {
      throw new InferplaneError(
        "invalid_api_key",
        `the admin API is disabled: set $${tokenEnv()} to an admin token`,
      );
    }
    if (!got || !timingSafeEqual(sha(got), sha(want))) {
      throw new InferplaneError("invalid_api_key", "missing or wrong admin token");
    }
  };
  const send = (reply: FastifyReply, err: unknown) => {
    const e = isInferplaneError(err) ? err : new InferplaneError("internal", String(err));
    return reply.code(e.def.status).send(e.toOpenAI());
  };
  app.register(async (admin) => {
    admin.addHook("onRequest", guard);
    admin.get("/admin/keys", async () => ({
      object: "list",
      data: [...(await listKeys(policy.store)), ...policy.declaredKeys().map(view)],
    }));
    admin.post("/admin/keys", async (request, reply) => {
      try {
        const created = await createKey(policy.store, checkKeyInput(request.body));
        return reply.code(201).send({ key: created.key, ...created.record });
      } catch (err) {
        return send(reply, err);
      }
    });
    admin.post<{ Params: { id: string } }>("/admin/keys/:id/revoke", async (request, reply) => {
      try {
        const rec = await revokeKey(policy.store, request.params.id);
        policy.invalidate();
        return rec;
      } catch (err) {
        return send(reply, err);
      }
    });
    admin.post<{ Params: { id: string } }>("/admin/keys/:id/rotate", async (request, reply) => {
      try {
        const rotated = await rotateKey(policy.store, request.params.id);
        policy.invalidate();
        return { key: rotated.key, ...rotated.record };
      } catch (err) {
        return send(reply, err);
      }
    });
    admin.get<{ Querystring: { from?: string; to?: string; group_by?: string } }>(
      "/admin/usage",
      async (request, reply) => {
        try {
          const q = request.query;
          const range = defaultRange();
          const from = q.from ? parseTime(q.from, "from") : range.from;
          const to = q.to ? parseTime(q.to, "to") : range.to;
          const by = parseGroupBy(q.group_by);
          const rows = await policy.usage.query(Math.floor(from / 3600) * 3600, to);
          const names = new Map((await policy.store.list().catch(() => [])).map((k) => [k.id, k.name]));
          const data = groupUsage(rows, by).map((r) =>
            r.key !== undefined ? { ...r, key_name: names.get(r.key) ?? null } : r,
          );
          return {
            object: "usage",
            from: new Date(from * 1000).toISOString(),
            to: new Date(to * 1000).toISOString(),
            group_by: by,
            data,
          };
        } catch (err) {
          return send(reply, err);
        }
      },
    );
  });
}
