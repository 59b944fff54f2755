/**
 * One simulator replica: its lifecycle (listen, kill, restart, stop; one engine, clock and
 * metrics per incarnation) and its routes, which hand each request to its dialect (OpenAI's in
 * src/sim/dialects/, an engine's own from its folder), the simulated endpoints (pooling.ts) or
 * the engine (generation.ts).
 */

import type { AddressInfo, Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { processRegistry } from "../telemetry/process-metrics.js";
import { registerAdmin } from "./admin.js";
import { admit } from "./admission.js";
import { ConstantLatencyEngine } from "./constant-latency.js";
import { modelsList } from "./dialects/openai.js";
import { FaultInjector } from "./faults.js";
import type { Flavour } from "./flavours.js";
import type { Life, WireContext } from "./generation.js";
import { readLateness, resetLateness } from "./loop-lateness.js";
import { SimMetrics } from "./metrics.js";
import type { EngineConfig } from "./model/config.js";
import { EngineCore } from "./model/engine.js";
import { rng } from "./model/workload.js";
import { type SimSetup, usage } from "./options.js";
import { embeddings, rerank, score, tokenize } from "./pooling.js";
import { RealtimeEngine } from "./realtime.js";
import type { GenRoute } from "./request.js";
import { admissionQueue, connectionQueue } from "./slices.js";
import { badRequest, type Dialect, readyOrRefuse, sendError, type WireError } from "./wire-errors.js";

export interface SimServerHandle {
  /** http://HOST:PORT */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly servedModelName: string;
  readonly setup: SimSetup;
  readonly flavour: Flavour;
  readonly config: EngineConfig;
  /** Whether the replica is listening. */
  readonly running: boolean;
  /** The engine of the current incarnation (undefined while killed). */
  readonly engine: EngineCore | undefined;
  readonly realtime: RealtimeEngine | undefined;
  /** Admin stop: close the listener and drop every connection (streams and hung requests too). */
  kill(): Promise<void>;
  /** Admin start: listen again on the same port with a fresh engine, metrics and start-up delay. */
  restart(): Promise<void>;
  /** Stops for good (idempotent). */
  stop(): Promise<void>;
  /** W3C `traceparent` headers of the latest API requests (up to 256, oldest first): what a gateway propagated. */
  readonly traceparents: readonly string[];
}

const MAX_TRACEPARENTS = 256;

const ID_ALPHABET = "0123456789abcdef";
function randomHex(rand: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ID_ALPHABET[Math.floor(rand() * 16)];
  return s;
}

/** Answers 503 in the dialect and returns false while the replica is still starting. */
type Ready = (reply: FastifyReply, dialect: Dialect) => boolean;

export class Replica implements SimServerHandle {
  readonly setup: SimSetup;
  readonly flavour: Flavour;
  readonly config: EngineConfig;
  readonly servedModelName: string;
  readonly host: string;
  port: number;
  private life: Life | undefined;
  readonly faults: FaultInjector;
  /** The replica's own random stream (reply lengths and texts of requests without a seed). */
  readonly rand: () => number;
  private readonly idPrefix: string;
  private seq = 0;
  private stopped = false;
  readonly traceparents: string[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private transition: Promise<void> = Promise.resolve();
  readonly created = (): number => Math.floor(Date.now() / 1000);
  private readonly servedJson: string;
  /** Whether the served name (the only free text in token payloads) is ASCII. */
  private readonly asciiName: boolean;

  constructor(setup: SimSetup) {
    this.setup = setup;
    this.flavour = setup.flavour;
    this.config = setup.config;
    this.servedModelName = setup.servedModelName;
    this.servedJson = JSON.stringify(setup.servedModelName);
    this.asciiName = /^[\x20-\x7e]*$/.test(this.servedJson);
    this.host = setup.host;
    this.port = setup.port;
    this.faults = new FaultInjector(setup.faults);
    this.rand = rng(setup.seed * 7919 + setup.replicaIndex);
    this.idPrefix = randomHex(rng(Date.now() ^ (setup.replicaIndex << 16)), 8);
  }

  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `http://${h}:${this.port}`;
  }
  /** The incarnation serving now (undefined while killed). */
  get current(): Life | undefined {
    return this.life;
  }
  get running(): boolean {
    return this.life !== undefined;
  }
  get engine(): EngineCore | undefined {
    return this.life?.engine;
  }
  get realtime(): RealtimeEngine | undefined {
    return this.life?.rt;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.transition.then(fn, fn);
    this.transition = next.catch(() => {});
    return next;
  }

  start(): Promise<void> {
    return this.serial(() => this.listen());
  }

  kill(): Promise<void> {
    return this.serial(() => this.down());
  }

  restart(): Promise<void> {
    return this.serial(async () => {
      await this.down();
      if (!this.stopped) await this.listen();
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    return this.serial(() => this.down());
  }

  /** Admin: start again after `ms` (unless stopped for good meanwhile). */
  restartAfter(ms: number): void {
    if (this.stopped) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.start().catch(() => {});
    }, ms);
  }

  private async down(): Promise<void> {
    const life = this.life;
    if (life === undefined) return;
    this.life = undefined;
    life.rt.close();
    for (const s of life.sockets) s.destroy();
    await life.app.close();
  }

  private async listen(): Promise<void> {
    if (this.life !== undefined || this.stopped) return;
    const engine = new EngineCore(this.config);
    const cl = this.setup.constantLatency;
    const rt = cl
      ? new ConstantLatencyEngine(engine, cl)
      : new RealtimeEngine(engine, { speed: this.setup.speed });
    const metrics = new SimMetrics(this.flavour, engine, this.servedModelName);
    const common = { "x-sim-replica": String(this.setup.replicaIndex) };
    const life: Life = {
      app: undefined as unknown as FastifyInstance,
      engine,
      rt,
      metrics,
      readyAt: performance.now() + this.setup.startupDelayMs,
      jsonHeaders: { ...common, "content-type": "application/json" },
      sseHeaders: {
        ...common,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
      },
      ndjsonHeaders: { ...common, "content-type": "application/x-ndjson" },
      sockets: new Set(),
    };
    life.app = this.buildApp(life);
    // Connections are accepted paused and start reading a few per turn (src/sim/slices.ts).
    (life.app.server as { pauseOnConnect?: boolean }).pauseOnConnect = true;
    life.app.server.on("connection", (socket: Socket) => {
      life.sockets.add(socket);
      socket.once("close", () => life.sockets.delete(socket));
      connectionQueue.push(() => {
        if (!socket.destroyed) socket.resume();
      });
    });
    try {
      // A deep accept queue, as uvicorn's 2048 under vLLM: a benchmark opening 1,000 connections
      // at once must not lose SYNs to Node's default of 511 (the client retries after 1 s).
      await life.app.listen({ host: this.host, port: this.port, backlog: 2048 });
    } catch (err) {
      rt.close();
      await life.app.close().catch(() => {});
      const code = (err as { code?: string }).code;
      if (code === "EADDRINUSE") throw usage(`port ${this.port} on ${this.host} is already in use`);
      if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
        throw usage(`cannot listen on ${this.host}: no such local address`);
      throw err;
    }
    this.port = (life.app.server.address() as AddressInfo).port;
    this.life = life;
  }

  // ---------------------------------------------------------------------------------------------
  // Routes
  // ---------------------------------------------------------------------------------------------

  private buildApp(life: Life): FastifyInstance {
    const app = this.baseApp();
    const ready = (reply: FastifyReply, dialect: Dialect): boolean =>
      readyOrRefuse(life.readyAt, reply, dialect);
    this.healthRoutes(app, life, ready);
    this.openaiRoutes(app, life, ready);
    this.nativeRoutes(app, life, ready);
    registerAdmin(app, this);
    return app;
  }

  /** A fastify app that reads any body as JSON and answers errors and 404s in the route's dialect. */
  private baseApp(): FastifyInstance {
    const app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024 * 1024,
      forceCloseConnections: true,
      return503OnClosing: true,
    });
    // Any content type is read as JSON (curl -d sends form-urlencoded); plain JSON.parse is enough here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text.trim() === "") return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (err) {
        const e = new Error(`Invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
        (e as Error & { statusCode: number }).statusCode = 400;
        done(e, undefined);
      }
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      const e: WireError =
        status < 500
          ? badRequest(err.message)
          : { status, type: "server_error", code: "internal_error", message: err.message };
      e.status = status;
      return sendError(reply, this.dialectOf(req.url), e);
    });
    const replica = String(this.setup.replicaIndex);
    app.addHook("onSend", (_req, reply, payload, done) => {
      reply.header("x-sim-replica", replica);
      done(null, payload);
    });
    app.setNotFoundHandler((req, reply) =>
      sendError(reply, this.dialectOf(req.url), {
        status: 404,
        type: "invalid_request_error",
        code: "not_found",
        message: `Not Found: ${req.method} ${req.url.split("?")[0]}`,
      }),
    );
    return app;
  }

  /** The engine's health and metrics paths, and the simulator's own process and loop-lateness. */
  private healthRoutes(app: FastifyInstance, life: Life, ready: Ready): void {
    const f = this.flavour;
    for (const path of f.healthPaths) {
      app.get(path, (_req, reply) => {
        if (!ready(reply, f.openaiDialect)) return reply;
        return reply.code(200).send("");
      });
    }
    if (f.metricsPath !== null) {
      const path = f.metricsPath;
      app.get(path, async (_req, reply) => {
        const text = await life.metrics.metrics();
        return reply.code(200).type(life.metrics.contentType).send(text);
      });
    }
    // The simulator's own process (event-loop lag, heap, GC), apart from the engine's exposition.
    app.get("/sim/process-metrics", async (_req, reply) => {
      const registry = processRegistry();
      return reply
        .code(200)
        .type(registry.contentType)
        .send(await registry.metrics());
    });
    // How late the event loop runs a 1 ms timer, less the 1 ms (src/sim/loop-lateness.ts): GET
    // reads; POST …/reset returns the window it closes and starts a new one (?scope=all: the total too).
    app.get("/sim/loop-lateness", (_req, reply) => reply.send(readLateness()));
    app.post("/sim/loop-lateness/reset", (req, reply) => {
      const scope = (req.query as { scope?: unknown }).scope;
      if (scope !== undefined && scope !== "window" && scope !== "all")
        return sendError(reply, "openai", badRequest("`scope` must be window or all.", "scope"));
      return reply.send(resetLateness(scope === "all"));
    });
  }

  /** The OpenAI API as this flavour serves it. */
  private openaiRoutes(app: FastifyInstance, life: Life, ready: Ready): void {
    const o = this.flavour.openai;
    const d = this.flavour.openaiDialect;
    if (o.models !== null)
      app.get(o.models, (_req, reply) => reply.send(modelsList(this.setup, this.created())));
    if (o.chat !== null) app.post(o.chat, (req, reply) => this.generate(life, req, reply, d, "chat"));
    if (o.completions !== null)
      app.post(o.completions, (req, reply) => this.generate(life, req, reply, d, "completion"));
    if (o.embeddings !== null)
      app.post(o.embeddings, (req, reply) => {
        this.noteTraceparent(req);
        return ready(reply, d) ? embeddings(this, req, reply) : reply;
      });
    for (const path of o.rerank)
      app.post(path, (req, reply) => {
        this.noteTraceparent(req);
        return ready(reply, d) ? rerank(this, req, reply) : reply;
      });
    if (o.score !== null)
      app.post(o.score, (req, reply) => (ready(reply, d) ? score(this, req, reply) : reply));
    if (o.tokenize !== null) app.post(o.tokenize, (req, reply) => tokenize(this, req, reply));
  }

  /** The flavour's native API, as the engine's folder describes it (src/engines/<engine>/sim.ts). */
  private nativeRoutes(app: FastifyInstance, life: Life, ready: Ready): void {
    const f = this.flavour;
    const n = f.native;
    const dialect: Dialect = n.dialect ?? "openai";
    if (n.version !== null) {
      app.get(n.version, (_req, reply) => {
        if (n.versionWaitsReady && !ready(reply, dialect)) return reply;
        return reply.send({ version: f.version });
      });
    }
    for (const route of n.generate)
      app.post(route.path, (req, reply) => this.generate(life, req, reply, route.dialect, route));
    for (const get of n.gets)
      app.get(get.path, (_req, reply) => {
        if (get.waitsReady && !ready(reply, dialect)) return reply;
        const out = get.reply(this.setup);
        if (out.type !== undefined) reply.type(out.type);
        return reply.send(out.body);
      });
    const embed = n.embed;
    if (embed !== null)
      app.post(embed.path, (req, reply) => {
        this.noteTraceparent(req);
        return ready(reply, embed.dialect) ? embeddings(this, req, reply, embed) : reply;
      });
  }

  private dialectOf(url: string): Dialect {
    if (url.startsWith("/admin")) return "openai";
    if (url.startsWith("/v1/")) return this.flavour.openaiDialect;
    return this.flavour.native.dialect ?? "openai";
  }

  wireContext(): WireContext {
    return {
      servedModelName: this.servedModelName,
      servedJson: this.servedJson,
      asciiName: this.asciiName,
      created: this.created(),
    };
  }

  nextId(): string {
    this.seq++;
    return `${this.idPrefix}${this.seq.toString(16)}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Generation endpoints
  // ---------------------------------------------------------------------------------------------

  private generate(
    life: Life,
    req: FastifyRequest,
    reply: FastifyReply,
    dialect: Dialect,
    route: GenRoute,
  ): unknown {
    life.metrics.received();
    this.noteTraceparent(req);
    // Parsing the prompt, admission and the first write wait for a slice of their own (FCFS), so
    // that a burst of arrivals does not make one long turn of the event loop (src/sim/slices.ts).
    admissionQueue.push(() => {
      if (this.life !== life || reply.raw.destroyed) return;
      try {
        admit(this, life, req, reply, dialect, route);
      } catch (err) {
        if (!reply.sent && !reply.raw.headersSent)
          sendError(reply, dialect, {
            status: 500,
            type: "server_error",
            code: "internal_error",
            message: err instanceof Error ? err.message : String(err),
          });
        else reply.raw.destroy();
      }
    });
    return undefined;
  }

  /** Keeps the request's traceparent (bounded), so tests can check propagation. */
  private noteTraceparent(req: FastifyRequest): void {
    const tp = req.headers.traceparent;
    if (typeof tp !== "string") return;
    if (this.traceparents.length >= MAX_TRACEPARENTS) this.traceparents.shift();
    this.traceparents.push(tp);
  }
}
