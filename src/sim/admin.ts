/** The replica's admin routes: `POST /admin/stop` (optionally restarting later) and `POST /admin/restart`. */

import type { FastifyInstance } from "fastify";

/** What the admin routes drive. */
export interface AdminTarget {
  kill(): Promise<void>;
  restart(): Promise<void>;
  restartAfter(ms: number): void;
}

/** Each action runs once the 202 reply has gone out, so the caller gets its answer before the socket closes. */
export function registerAdmin(app: FastifyInstance, target: AdminTarget): void {
  app.post("/admin/stop", (req, reply) => {
    const body = (req.body ?? {}) as { restartAfterMs?: unknown };
    const after = typeof body.restartAfterMs === "number" ? body.restartAfterMs : undefined;
    reply.raw.once("finish", () => {
      void target.kill().then(() => {
        if (after !== undefined) target.restartAfter(after);
      });
    });
    return reply.code(202).send({ status: "stopping", restartAfterMs: after ?? null });
  });
  app.post("/admin/restart", (_req, reply) => {
    reply.raw.once("finish", () => void target.restart().catch(() => {}));
    return reply.code(202).send({ status: "restarting" });
  });
}
