/**
 * Mounts the operator console: `GET /console` (the page and its files), its JSON under
 * `/console/api/*` (the state, polled every ~1.5 s; the spec; the plan and bench links) and the
 * report documents under `/console/report/<link>/*`. With auth on, the JSON needs the admin
 * token; the page itself holds no data, so it loads without one and asks for it. Keys, usage
 * and the playgrounds use the gateway's own APIs (/admin/*, /v1/*), not routes of their own.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InferplaneError } from "../../errors.js";
import { credentialOf } from "../policy/keys.js";
import { type ConsoleAsset, loadAssets } from "./assets.js";
import { ReportLinks } from "./reports.js";
import type { ConsoleSource } from "./source.js";

/** The page loads only its own files, frames only its own reports and talks only to this gateway. */
const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The report documents: no script at all, their own inline styles, framed by the console only. */
const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

function sha(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

export interface ConsoleOptions {
  /** Built files; default: dist/console (see assets.ts). */
  assets?: Map<string, ConsoleAsset>;
}

/** The admin-token check of the console's JSON (none with auth off). */
function guardOf(source: ConsoleSource) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header("cache-control", "no-store");
    const want = source.adminToken();
    if (want === undefined) return;
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
  };
}

function registerReports(app: FastifyInstance, source: ConsoleSource) {
  const links = new ReportLinks();
  app.register(async (scope) => {
    scope.addHook("onRequest", guardOf(source));
    scope.get("/console/api/state", async () => ({
      generatedAt: new Date().toISOString(),
      ...(await source.state()),
    }));
    scope.get("/console/api/spec", async () => ({ spec: source.specDocument() }));
    scope.get("/console/api/reports", async () => {
      const base = `/console/report/${links.mint()}`;
      const bench = source.bench();
      if ("missing" in bench) return { plan: { url: `${base}/plan.html` }, bench };
      const { svg: _svg, ...table } = bench;
      return { plan: { url: `${base}/plan.html` }, bench: { ...table, chart: `${base}/bench.svg` } };
    });
  });
  app.get<{ Params: { link: string; doc: string } }>("/console/report/:link/:doc", async (request, reply) => {
    const { link, doc } = request.params;
    if (!links.valid(link)) throw new InferplaneError("not_found", "this report link has expired");
    void reply
      .header("cache-control", "no-store")
      .header("content-security-policy", REPORT_CSP)
      .header("x-frame-options", "SAMEORIGIN");
    if (doc === "plan.html") {
      return reply.header("content-type", "text/html; charset=utf-8").send(source.planHtml());
    }
    const bench = doc === "bench.svg" ? source.bench() : undefined;
    if (!bench || "missing" in bench) throw new InferplaneError("not_found", `no report ${doc}`);
    return reply.header("content-type", "image/svg+xml").send(bench.svg);
  });
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
  registerReports(app, source);
}
