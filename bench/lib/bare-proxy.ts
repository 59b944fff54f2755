/**
 * The floor of a Node.js proxy, to tell what a gateway adds from what Node itself costs. Proxies
 * with no routing, no retries, one keep-alive undici Pool (128 connections, as the gateway's):
 *
 * - `node`: node:http server; the request body is buffered and forwarded as bytes (no JSON
 *   parse), the upstream response buffered and sent with a content-length.
 * - `fastify`: fastify 5 with its JSON body parser; the body is parsed, its `model` replaced
 *   and re-serialized (what any OpenAI gateway must do), the response buffered and sent.
 *
 * `--features` adds, one by one, what `inferplane serve` does on the same path (an ablation
 * ladder: each feature's cost is the throughput it takes away):
 * - `hook`: an onRequest hook stamping performance.now() on a decorated request;
 * - `hijack`: reply.hijack() and raw writeHead/end with content-length and an extra header;
 * - `signal`: per request a new AbortController whose signal is passed to undici's request;
 * - `esignal`: the same with a plain EventEmitter as the signal (undici accepts either; an
 *   alternative that avoids EventTarget);
 * - `timer`: per request a total-timeout setTimeout, cleared at the end;
 * - `close`: per request a `close` listener on the response, added and removed;
 *   (`abort` = signal + timer + close: what the gateway's Forwarder.handle does);
 * - `timeouts`: per-request headersTimeout/bodyTimeout options on the undici request;
 * - `metrics`: prom-client as the gateway uses it — a labelled counter, a labelled histogram
 *   and an unlabelled histogram observed per request.
 *
 *   node --import tsx bench/lib/bare-proxy.ts --mode node|fastify --port P --upstream URL
 *     [--model NAME] [--features hook,hijack,signal,timer,close,timeouts,metrics] [--profile OUT.cpuprofile]
 */
import { EventEmitter } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { Counter, Histogram, Registry } from "prom-client";
import { Pool } from "undici";
import { httpReady, ROOT, type Service, spawnService } from "./procs.js";
import { installUsr2Profiler } from "./usr2-profiler.js";

export type BareMode = "node" | "fastify";
export const BARE_FEATURES = [
  "hook",
  "hijack",
  "signal",
  "esignal",
  "timer",
  "close",
  "timeouts",
  "metrics",
] as const;
export type BareFeature = (typeof BARE_FEATURES)[number];

async function readAll(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

function sendRaw(res: ServerResponse, status: number, body: Buffer, overheadMs: number): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": body.length,
    "x-inferplane-overhead-ms": overheadMs.toFixed(3),
  });
  res.end(body);
}

export async function serveBareProxy(
  mode: BareMode,
  port: number,
  upstream: string,
  model: string | undefined,
  features: ReadonlySet<BareFeature> = new Set(),
): Promise<void> {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
  if (mode === "node") {
    const server = createServer(async (req, res) => {
      try {
        const body = await readAll(req);
        const up = await pool.request({
          method: "POST",
          path: req.url ?? "/",
          headers: { "content-type": "application/json" },
          body,
        });
        const payload = await readAll(up.body as AsyncIterable<Buffer>);
        res.writeHead(up.statusCode, {
          "content-type": "application/json",
          "content-length": payload.length,
        });
        res.end(payload);
      } catch (err) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(String(err));
      }
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    return;
  }

  const registry = new Registry();
  const requests = new Counter({
    name: "bare_requests_total",
    help: "requests",
    labelNames: ["route", "pool", "code"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "bare_duration_seconds",
    help: "duration",
    labelNames: ["route", "pool"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const overhead = new Histogram({
    name: "bare_overhead_seconds",
    help: "overhead",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const labels = { route: "llama", pool: "llama-pool" };

  const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
  if (features.has("hook")) {
    app.decorateRequest("t0", 0);
    app.addHook("onRequest", (request, _reply, done) => {
      (request as unknown as { t0: number }).t0 = performance.now();
      done();
    });
  }
  app.post("/v1/chat/completions", async (request, reply) => {
    const t0 = features.has("hook") ? (request as unknown as { t0: number }).t0 : performance.now();
    const body = request.body as Record<string, unknown>;
    let abort: AbortController | undefined;
    let timer: NodeJS.Timeout | undefined;
    const raw = reply.raw;
    const onClose = () => {
      if (!raw.writableFinished) abort?.abort();
    };
    if (features.has("signal")) abort = new AbortController();
    const emitter = features.has("esignal") ? new EventEmitter() : undefined;
    if (features.has("close")) raw.on("close", onClose);
    if (features.has("timer")) timer = setTimeout(() => abort?.abort(new Error("total timeout")), 600_000);
    if (features.has("hijack")) reply.hijack();
    try {
      const tDispatch = performance.now();
      const up = await pool.request({
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(model ? { ...body, model } : body),
        ...(abort ? { signal: abort.signal } : emitter ? { signal: emitter } : {}),
        ...(features.has("timeouts") ? { headersTimeout: 60_000, bodyTimeout: 30_000 } : {}),
      });
      const payload = await readAll(up.body as AsyncIterable<Buffer>);
      const upstreamMs = performance.now() - tDispatch;
      const overheadMs = performance.now() - t0 - upstreamMs;
      if (features.has("metrics")) {
        overhead.observe(overheadMs / 1000);
        requests.inc({ ...labels, code: String(up.statusCode) });
        duration.observe(labels, (performance.now() - t0) / 1000);
      }
      if (features.has("hijack")) {
        sendRaw(raw, up.statusCode, payload, overheadMs);
        return;
      }
      return reply.code(up.statusCode).header("content-type", "application/json").send(payload);
    } finally {
      if (timer) clearTimeout(timer);
      if (features.has("close")) raw.off("close", onClose);
    }
  });
  await app.listen({ host: "127.0.0.1", port });
}

export function startBareProxy(o: {
  mode: BareMode;
  port: number;
  upstream: string;
  model?: string;
  features?: readonly BareFeature[];
  cpu?: string;
  profileFile?: string;
}): Promise<Service> {
  const feats = o.features ?? [];
  return spawnService({
    name: `bare-${o.mode}${feats.map((f) => `+${f}`).join("")}`,
    cmd: process.execPath,
    args: [
      "--import",
      "tsx",
      `${ROOT}bench/lib/bare-proxy.ts`,
      "--mode",
      o.mode,
      "--port",
      String(o.port),
      "--upstream",
      o.upstream,
      ...(o.model ? ["--model", o.model] : []),
      ...(feats.length ? ["--features", feats.join(",")] : []),
      ...(o.profileFile ? ["--profile", o.profileFile] : []),
    ],
    ...(o.cpu ? { cpu: o.cpu } : {}),
    ready: httpReady(`http://127.0.0.1:${o.port}/`),
    timeoutMs: 20_000,
  });
}

/** `bare-fastify+abort+metrics` → features; undefined when the name is not a bare proxy. */
export function parseBareTarget(name: string): { mode: BareMode; features: BareFeature[] } | undefined {
  const [head, ...rest] = name.split("+");
  if (head !== "bare-node" && head !== "bare-fastify") return undefined;
  const features: BareFeature[] = [];
  for (const f of rest) {
    if (f === "all") features.push(...BARE_FEATURES.filter((x) => x !== "esignal"));
    else if (f === "abort") features.push("signal", "timer", "close");
    else if ((BARE_FEATURES as readonly string[]).includes(f)) features.push(f as BareFeature);
    else throw new Error(`unknown bare-proxy feature ${f} (${BARE_FEATURES.join(", ")}, all)`);
  }
  return { mode: head === "bare-node" ? "node" : "fastify", features: [...new Set(features)] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      mode: { type: "string", default: "node" },
      port: { type: "string" },
      upstream: { type: "string" },
      model: { type: "string" },
      features: { type: "string", default: "" },
      profile: { type: "string" },
    },
  });
  if (!values.port || !values.upstream || (values.mode !== "node" && values.mode !== "fastify")) {
    process.stderr.write(
      "usage: bare-proxy.ts --mode node|fastify --port P --upstream URL [--model NAME] [--features …] [--profile FILE]\n",
    );
    process.exit(2);
  }
  const features = new Set(
    (values.features ?? "")
      .split(",")
      .filter(Boolean)
      .flatMap((f): BareFeature[] => {
        if (f === "abort") return ["signal", "timer", "close"];
        if (!(BARE_FEATURES as readonly string[]).includes(f)) throw new Error(`unknown feature ${f}`);
        return [f as BareFeature];
      }),
  );
  if (values.profile) await installUsr2Profiler(values.profile);
  await serveBareProxy(values.mode, Number(values.port), values.upstream, values.model, features);
  const stop = () => process.exit(0);
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
