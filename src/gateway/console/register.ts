/**
 * Mounts the operator console: `GET /console` (the page and its files) and
 * `GET /console/api/state` (everything it shows, polled every ~1.5 s). With auth on, the JSON
 * needs the admin token; the page itself holds no data, so it loads without one and asks for it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InferplaneError } from "../../errors.js";
import { credentialOf } from "../policy/keys.js";
import { type ConsoleAsset, loadAssets } from "./assets.js";
import type { ConsoleSource } from "./source.js";

/** The page loads only its own files and talks only to this gateway. */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function sha(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

export interface ConsoleOptions {
  /** Built files; default: dist/console (see assets.ts). */
  assets?: Map<string, ConsoleAsset>;
}

export function registerConsole(app: FastifyInstance, source: ConsoleSource, options: ConsoleOptions = {}) {
  const assets = options.assets ?? loadAssets();

  const serve = (name: string) => async (_request: FastifyRequest, reply: FastifyReply) => {
    const file = assets?.get(name);
    if (!file) {
      throw new InferplaneError(
        "not_found",
        assets ? `no console file ${name}` : "the console is not built: run `npm run build`",
      );
    }
    return reply
      .header("content-type", file.type)
      .header("content-security-policy", CONSOLE_CSP)
      .header("cache-control", "no-cache")
      .send(file.body);
  };
  app.get("/console", serve("index.html"));
  app.get("/console/", serve("index.html"));
  app.get<{ Params: { file: string } }>("/console/:file", (request, reply) =>
    serve(request.params.file)(request, reply),
  );

  app.get("/console/api/state", async (request, reply) => {
    void reply.header("cache-control", "no-store");
    const want = source.adminToken();
    if (want !== undefined) {
      if (want === null || want === "") {
        throw new InferplaneError(
          "invalid_api_key",
          "the console is disabled while auth is on and no admin token is set (gateway.auth.adminTokenEnv)",
        );
      }
      const got = credentialOf(request.headers);
      if (!got || !timingSafeEqual(sha(got), sha(want))) {
        throw new InferplaneError("invalid_api_key", "missing or wrong admin token");
      }
    }
    return { generatedAt: new Date().toISOString(), ...(await source.state()) };
  });
}
