/**
 * The real-time HTTP simulator: one fastify app per replica in front of one EngineCore driven in
 * real time (RealtimeEngine). It speaks the OpenAI API as vLLM does (chat and text completions,
 * streaming or not, embeddings and rerank simulated from text hashes), the engine's own health
 * and metrics paths, and per flavour TGI's, Ollama's or Triton's native routes.
 *
 * Library API: `startSimServer(options)` starts one replica, `startSimFleet(options)` N replicas
 * on consecutive ports; both resolve to handles with `url`, `stop()` (for good), and the admin
 * pair `kill()` (close the listener, drop every connection) / `restart()` (listen again on the
 * same port with a fresh engine, as a restarted pod). Over HTTP: `POST /admin/stop` and
 * `POST /admin/restart` (see docs/simulator-http.md).
 *
 * The hot path (one token of one stream) is one string concatenation and one socket write; a
 * request allocates its wire strings once. No timers per request or per token.
 */

import type { ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { GpuSpec } from "../catalog/gpus.js";
import { WEIGHT_FORMATS, type WeightFormat } from "../catalog/kv.js";
import { findModel, findModelByRepo, MODEL_IDS, type ModelSpec } from "../catalog/models.js";
import { InferplaneError, isInferplaneError } from "../errors.js";
import { validateParams } from "../gateway/api/params.js";
import { processRegistry } from "../telemetry/process-metrics.js";
import { type ConstantLatency, ConstantLatencyEngine } from "./constant-latency.js";
import {
  checkFaultOptions,
  FAULT_HEADER,
  type FaultAction,
  FaultInjector,
  type FaultOptions,
} from "./faults.js";
import { type Flavour, flavour as resolveFlavour, SIM_ENGINES, type SimEngine } from "./flavours.js";
import { readLateness, resetLateness } from "./loop-lateness.js";
import { type FinishReason, SimMetrics } from "./metrics.js";
import { type EngineConfig, engineConfig } from "./model/config.js";
import { EngineCore, RequestRejected } from "./model/engine.js";
import { rng, sampleLength } from "./model/workload.js";
import { RealtimeEngine, type RequestListener } from "./realtime.js";
import { RichReply } from "./rich-reply.js";
import { admissionQueue, connectionQueue } from "./slices.js";
import { type ChoiceContent, choiceContent, type RichSpec, richSpec } from "./structured.js";
import {
  applyStop,
  type ChatMessageLike,
  chatPromptIds,
  completionPromptIds,
  embeddingBase64,
  embedText,
  encodeText,
  pseudoText,
  pseudoToken,
  rerankScore,
} from "./text.js";

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

export interface SimServerOptions {
  /** vllm (default), tgi, ollama or triton. */
  engine?: string;
  /** Engine version whose paths and metric names to serve (default: the catalog's). */
  engineVersion?: string;
  /** Catalog model id (`llama-3.1-8b`), Hugging Face repo id (`Qwen/Qwen2.5-7B-Instruct-AWQ`) or catalog entry. */
  model: string | ModelSpec;
  /** Catalog GPU id or spec (e.g. a MIG slice as a GPU of its own; default H100-80GB). */
  gpu?: string | GpuSpec;
  tp?: number;
  /** Weight dtype when not quantized: auto, bf16, fp16, fp32. */
  dtype?: string;
  /** awq, gptq, gptq-int4, gptq-int8, fp8, int8, gguf, bitsandbytes. */
  quantization?: string;
  /** The weight format outright (library callers); overrides `dtype` and `quantization`. */
  weightFormat?: WeightFormat;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  numGpuBlocks?: number;
  maxModelLen?: number;
  blockSize?: number;
  gpuMemoryUtilization?: number;
  enablePrefixCaching?: boolean;
  /** Name requests must use (default: the repo id given, else the catalog model's native repo). */
  servedModelName?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Virtual seconds per real second (default 1). */
  speed?: number;
  /** Mean reply length without ignore_eos, tokens (default 128; log-normal, σ `outputLenSigma`). */
  outputLenMean?: number;
  /** Shape of the reply-length distribution (default 0.5; 0 = always the mean). */
  outputLenSigma?: number;
  /** Size of simulated embedding vectors (default: the catalog's for embedding models, else 1024). */
  embeddingDim?: number;
  /** Health answers 503 (and requests too) for this long after each (re)start, ms. */
  startupDelayMs?: number;
  faults?: FaultOptions;
  /** Seed of reply lengths and texts (default 1); faults use `faults.seed` or this. */
  seed?: number;
  /** Index of the replica in its fleet (shown in the `x-sim-replica` header). */
  replicaIndex?: number;
  /**
   * Constant-latency mode: every request's first token after `ttftMs`, each next after `itlMs`,
   * whatever the load (the engine model is bypassed). For checking benchmark clients.
   */
  constantLatency?: ConstantLatency;
}

/** Everything a replica needs, resolved and checked. */
export interface SimSetup {
  flavour: Flavour;
  config: EngineConfig;
  model: ModelSpec;
  /** Hugging Face repo of the weights simulated. */
  repo: string;
  servedModelName: string;
  host: string;
  port: number;
  speed: number;
  outputLenMean: number;
  outputLenSigma: number;
  embeddingDim: number;
  startupDelayMs: number;
  faults: FaultOptions;
  seed: number;
  replicaIndex: number;
  constantLatency: ConstantLatency | null;
}

const DTYPES: Readonly<Record<string, WeightFormat>> = {
  auto: "none",
  bf16: "bf16",
  bfloat16: "bf16",
  fp16: "fp16",
  float16: "fp16",
  half: "fp16",
  fp32: "fp32",
  float32: "fp32",
  float: "fp32",
};
const QUANTIZATIONS = Object.keys(WEIGHT_FORMATS).filter((q) => !["bf16", "fp16", "fp32"].includes(q));

const usage = (message: string) => new InferplaneError("usage", message);

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1))
    throw usage(`${name} must be a positive integer, got ${v}`);
}

/** Resolves and checks options; throws InferplaneError (`usage`, `catalog_unknown_*`) on bad input. */
export function resolveSimOptions(o: SimServerOptions): SimSetup {
  let flavour: Flavour;
  try {
    flavour = resolveFlavour(o.engine ?? "vllm", o.engineVersion);
  } catch (err) {
    throw usage(err instanceof Error ? err.message : String(err));
  }
  const given = o.model;
  const byId = typeof given === "string" ? findModel(given) : given;
  const byRepo = byId || typeof given !== "string" ? undefined : findModelByRepo(given);
  const model = byId ?? byRepo?.model;
  if (model === undefined) {
    throw new InferplaneError(
      "catalog_unknown_model",
      `Unknown model "${String(given)}": give a catalog id (${MODEL_IDS.join(", ")}) or a Hugging Face repo of one of them.`,
    );
  }
  const repo =
    byRepo && typeof given === "string"
      ? given.trim().replace(/^hf:\/\//i, "")
      : (model.variants[0]?.repo ?? model.id);

  // Weight format: the repo's quantization, or --quantization, or --dtype.
  const repoQuant = byRepo?.variant.quantization ?? "none";
  let quant: WeightFormat | undefined;
  if (o.quantization !== undefined) {
    const q = o.quantization.toLowerCase();
    if (!QUANTIZATIONS.includes(q))
      throw usage(`quantization must be one of ${QUANTIZATIONS.join(", ")}, got "${o.quantization}"`);
    const same = q === repoQuant || (q === "gptq" && repoQuant.startsWith("gptq"));
    if (repoQuant !== "none" && !same)
      throw usage(`${repo} is quantized with ${repoQuant}; --quantization ${q} contradicts it`);
    quant = q as WeightFormat;
  } else if (repoQuant !== "none") quant = repoQuant;
  let weightFormat: WeightFormat = quant ?? "none";
  if (o.dtype !== undefined) {
    const d = DTYPES[o.dtype.toLowerCase()];
    if (d === undefined)
      throw usage(`dtype must be one of ${Object.keys(DTYPES).join(", ")}, got "${o.dtype}"`);
    if (quant === undefined) weightFormat = d;
  }
  if (o.weightFormat !== undefined) weightFormat = o.weightFormat;

  positiveInt("tp", o.tp);
  positiveInt("max-num-seqs", o.maxNumSeqs);
  positiveInt("max-num-batched-tokens", o.maxNumBatchedTokens);
  positiveInt("num-gpu-blocks", o.numGpuBlocks);
  positiveInt("max-model-len", o.maxModelLen);
  positiveInt("block-size", o.blockSize);
  positiveInt("embedding-dim", o.embeddingDim);
  if (o.gpuMemoryUtilization !== undefined && !(o.gpuMemoryUtilization > 0 && o.gpuMemoryUtilization <= 1))
    throw usage(`gpu-memory-utilization must be in (0, 1], got ${o.gpuMemoryUtilization}`);
  const speed = o.speed ?? 1;
  if (!(speed > 0 && Number.isFinite(speed))) throw usage(`speed must be a positive number, got ${o.speed}`);
  const outputLenMean = o.outputLenMean ?? 128;
  if (!(outputLenMean >= 1)) throw usage(`output-len-mean must be ≥ 1, got ${o.outputLenMean}`);
  const outputLenSigma = o.outputLenSigma ?? 0.5;
  if (!(outputLenSigma >= 0)) throw usage(`output-len-sigma must be ≥ 0, got ${o.outputLenSigma}`);
  const cl = o.constantLatency;
  if (cl !== undefined && !(cl.ttftMs >= 0 && cl.itlMs >= 0 && Number.isFinite(cl.ttftMs + cl.itlMs)))
    throw usage(
      `time-to-first-token and inter-token-latency must be ≥ 0 ms, got ${cl.ttftMs} and ${cl.itlMs}`,
    );
  const startupDelayMs = o.startupDelayMs ?? 0;
  if (!(startupDelayMs >= 0)) throw usage(`startup delay must be ≥ 0, got ${o.startupDelayMs}`);
  const port = o.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw usage(`port must be 0–65535, got ${o.port}`);
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) throw usage(`seed must be an integer, got ${o.seed}`);
  // Each replica rolls its own fault dice unless the caller fixed their seed.
  const faults: FaultOptions = { ...o.faults, seed: o.faults?.seed ?? seed + (o.replicaIndex ?? 0) };
  const faultProblem = checkFaultOptions(faults);
  if (faultProblem !== undefined) throw usage(faultProblem);

  // Encoder (embedding, rerank) models keep no KV cache, so the computed pool is empty; give them
  // room for max-num-seqs sequences of full length so the scheduler can still batch them.
  const encoderBlocks =
    model.kind !== "chat" && o.numGpuBlocks === undefined
      ? Math.ceil(model.maxContext / (o.blockSize ?? 16)) * (o.maxNumSeqs ?? 256)
      : undefined;
  const input = {
    model,
    gpu: o.gpu ?? "H100-80GB",
    tp: o.tp,
    weightFormat,
    maxNumSeqs: o.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens,
    numGpuBlocks: o.numGpuBlocks ?? encoderBlocks,
    blockSize: o.blockSize,
    gpuMemoryUtilization: o.gpuMemoryUtilization,
    enablePrefixCaching: o.enablePrefixCaching,
  };
  let config: EngineConfig;
  try {
    config = engineConfig(input);
    const capacity = config.numGpuBlocks * config.blockSize;
    if (o.maxModelLen !== undefined) {
      // vLLM refuses to start when one sequence of max_model_len cannot fit in the KV cache.
      if (o.maxModelLen > capacity)
        throw usage(
          `max-model-len ${o.maxModelLen} needs more KV cache than the replica has (${config.numGpuBlocks} blocks × ${config.blockSize} = ${capacity} tokens)`,
        );
      config = engineConfig({ ...input, maxModelLen: o.maxModelLen });
    } else if (config.maxModelLen > capacity) {
      // As vLLM with max_model_len "auto": the longest context the KV cache holds.
      config = engineConfig({ ...input, maxModelLen: capacity });
    }
  } catch (err) {
    if (isInferplaneError(err)) throw err;
    throw usage(err instanceof Error ? err.message : String(err));
  }
  return {
    flavour,
    config,
    model,
    repo,
    servedModelName: o.servedModelName ?? repo,
    host: o.host ?? "127.0.0.1",
    port,
    speed,
    outputLenMean,
    outputLenSigma,
    embeddingDim: o.embeddingDim ?? model.embeddingDims ?? 1024,
    startupDelayMs,
    faults,
    seed,
    replicaIndex: o.replicaIndex ?? 0,
    constantLatency: o.constantLatency ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Errors on the wire
// ---------------------------------------------------------------------------------------------

/** Which error body a route family answers with. */
type Dialect = "openai" | "tgi" | "ollama" | "triton";

interface WireError {
  status: number;
  message: string;
  /** OpenAI error `type`. */
  type: string;
  /** OpenAI error `code`. */
  code: string;
  param?: string | null;
}

const FAULT_ERRORS: Readonly<Record<number, { type: string; code: string; what: string }>> = {
  429: { type: "rate_limit_error", code: "rate_limit_exceeded", what: "rate limit reached" },
  500: { type: "server_error", code: "internal_error", what: "internal server error" },
  502: { type: "server_error", code: "bad_gateway", what: "bad gateway" },
  503: { type: "server_error", code: "service_unavailable", what: "the engine is overloaded or not ready" },
  504: { type: "server_error", code: "gateway_timeout", what: "gateway timeout" },
};

function faultError(status: number): WireError {
  const known = FAULT_ERRORS[status];
  const type = known?.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
  const code = known?.code ?? `http_${status}`;
  return {
    status,
    type,
    code,
    message: `Simulated fault: ${known?.what ?? `HTTP ${status}`} (${FAULT_HEADER}).`,
  };
}

function errorBody(dialect: Dialect, e: WireError): unknown {
  switch (dialect) {
    case "openai":
      return { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } };
    case "tgi":
      return { error: e.message, error_type: e.status === 422 || e.status === 400 ? "validation" : e.code };
    case "ollama":
    case "triton":
      return { error: e.message };
  }
}

function sendError(reply: FastifyReply, dialect: Dialect, e: WireError): FastifyReply {
  if (e.status === 429 || e.status === 503) reply.header("retry-after", "1");
  return reply
    .code(e.status)
    .type("application/json")
    .send(JSON.stringify(errorBody(dialect, e)));
}

const badRequest = (message: string, param: string | null = null, code = "invalid_request"): WireError => ({
  status: 400,
  type: "invalid_request_error",
  code,
  message,
  param,
});

// ---------------------------------------------------------------------------------------------
// One request's generation
// ---------------------------------------------------------------------------------------------

interface Job {
  id: string;
  promptIds: number[];
  /** Reply tokens the engine generates. */
  outputTokens: number;
  finishReason: "stop" | "length";
  /** Pseudo-text seed. */
  textSeed: number;
  /** Per-token visible text when a stop string cut the reply. */
  texts: string[] | null;
  /** The stop string that ended the reply (vLLM's `stop_reason`), as JSON. */
  stopReason: string;
  /** Token index after which the connection is dropped (`cut` fault); -1 for none. */
  cutAt: number;
}

/** How one endpoint writes a reply. Strings are built once per request; `token` is the hot path. */
interface Wire {
  stream: boolean;
  contentType: string;
  /** Whether every token payload is ASCII (its length is its byte length). */
  ascii: boolean;
  /** Bytes sent as soon as the request is accepted (e.g. vLLM's role chunk). */
  head(): string;
  token(index: number, text: string, last: boolean): string;
  end(g: Generation): string;
  body(g: Generation): unknown;
}

/** Hex lengths of HTTP chunks, made once: a token's chunk header is a table read. */
const HEX: readonly string[] = Array.from({ length: 4096 }, (_, n) => n.toString(16));
const hexOf = (n: number): string => HEX[n] ?? n.toString(16);

class Generation implements RequestListener {
  scheduled: number | undefined;
  first: number | undefined;
  last = 0;
  cached = 0;
  generated = 0;
  done = false;
  /** Per-token state read on the hot path, copied out of `life`, `job` and `wire` once. */
  private readonly metrics: SimMetrics;
  private readonly itlPerToken: boolean;
  private readonly stream: boolean;
  private readonly lastIndex: number;
  private readonly cutAt: number;
  private readonly textSeed: number;
  private readonly texts: string[] | null;

  constructor(
    readonly life: Life,
    readonly job: Job,
    readonly wire: Wire,
    readonly res: ServerResponse,
    readonly arrival: number,
  ) {
    this.metrics = life.metrics;
    this.itlPerToken = life.metrics.itlPerToken;
    this.stream = wire.stream;
    this.lastIndex = job.outputTokens - 1;
    this.cutAt = job.cutAt;
    this.textSeed = job.textSeed;
    this.texts = job.texts;
  }

  get promptTokens(): number {
    return this.job.promptIds.length;
  }

  text(index: number): string {
    const texts = this.texts;
    return texts !== null ? (texts[index] ?? "") : pseudoToken(this.textSeed, index);
  }

  fullText(): string {
    const j = this.job;
    return j.texts !== null ? j.texts.join("") : pseudoText(j.textSeed, j.outputTokens);
  }

  onScheduled(time: number, cachedTokens: number): void {
    if (this.scheduled === undefined) {
      this.scheduled = time;
      this.cached = cachedTokens;
    }
  }

  /**
   * The socket a stream's tokens go to directly, framed as HTTP chunks here: one string and one
   * write per token, instead of ServerResponse's four-buffer writev (the hot path at 1,000
   * streams). Null until the headers are flushed, and when the wire is not plain ASCII.
   */
  private socket: Socket | null = null;
  private chunked = false;

  /** Sends the status line and headers (and the wire's head) of a streamed reply. */
  startStream(headers: Readonly<Record<string, string>>): void {
    const res = this.res;
    res.writeHead(200, headers);
    const head = this.wire.head();
    if (head !== "") res.write(head);
    else res.flushHeaders();
    if (this.wire.ascii && res.socket) {
      this.socket = res.socket;
      this.chunked = res.chunkedEncoding;
    }
  }

  onToken(index: number, time: number): void {
    if (index === 0) this.first = time;
    else if (this.itlPerToken) this.metrics.tokenGap(time - this.last);
    this.last = time;
    this.generated = index + 1;
    if (this.stream && !this.res.destroyed) {
      const payload = this.wire.token(index, this.text(index), index === this.lastIndex);
      if (payload !== "") {
        const socket = this.socket;
        if (socket === null) this.res.write(payload);
        else socket.write(this.chunked ? `${hexOf(payload.length)}\r\n${payload}\r\n` : payload);
      }
    }
    if (index === this.cutAt) this.cut(time);
  }

  onFinished(time: number): void {
    if (this.done) return;
    this.done = true;
    this.record(this.job.finishReason, time);
    const res = this.res;
    if (res.destroyed) return;
    if (this.wire.stream) res.end(this.wire.end(this));
    else {
      res.writeHead(200, this.life.jsonHeaders);
      res.end(JSON.stringify(this.wire.body(this)));
    }
  }

  private record(reason: FinishReason, end: number): void {
    this.life.metrics.finished({
      reason,
      arrival: this.arrival,
      scheduled: this.scheduled,
      firstToken: this.first,
      end,
      promptTokens: this.promptTokens,
      outputTokens: this.generated,
    });
  }

  /** `cut` fault: drop the connection mid-reply. */
  private cut(time: number): void {
    this.done = true;
    this.life.rt.abort(this.job.id);
    this.record("abort", time);
    this.res.destroy();
  }

  /** The client went away (or the server dropped the connection) before the end. */
  readonly onClose = (): void => {
    if (this.done) return;
    this.done = true;
    this.life.rt.abort(this.job.id);
    this.record("abort", this.life.rt.now());
  };
}

// ---------------------------------------------------------------------------------------------
// The replica
// ---------------------------------------------------------------------------------------------

/** One incarnation of a replica: a fresh engine, clock, metrics and app per (re)start. */
interface Life {
  app: FastifyInstance;
  engine: EngineCore;
  rt: RealtimeEngine;
  metrics: SimMetrics;
  readyAt: number;
  jsonHeaders: Readonly<Record<string, string>>;
  sseHeaders: Readonly<Record<string, string>>;
  ndjsonHeaders: Readonly<Record<string, string>>;
  /** Sockets of this incarnation, destroyed on kill (hung requests included). */
  sockets: Set<Socket>;
}

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

class Replica implements SimServerHandle {
  readonly setup: SimSetup;
  readonly flavour: Flavour;
  readonly config: EngineConfig;
  readonly servedModelName: string;
  readonly host: string;
  port: number;
  private life: Life | undefined;
  private readonly faults: FaultInjector;
  private readonly rand: () => number;
  private readonly idPrefix: string;
  private seq = 0;
  private stopped = false;
  readonly traceparents: string[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private transition: Promise<void> = Promise.resolve();
  private readonly created = () => Math.floor(Date.now() / 1000);
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
    const f = this.flavour;
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

    const ready = (reply: FastifyReply, dialect: Dialect): boolean => {
      if (performance.now() >= life.readyAt) return true;
      sendError(reply, dialect, {
        status: 503,
        type: "server_error",
        code: "service_unavailable",
        message: "The model is still loading (simulated start-up delay).",
      });
      return false;
    };

    // Health
    for (const path of f.healthPaths) {
      app.get(path, (_req, reply) => {
        if (!ready(reply, "openai")) return reply;
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

    // OpenAI API
    const o = f.openai;
    if (o.models !== null) app.get(o.models, (_req, reply) => reply.send(this.modelsBody()));
    if (o.chat !== null) app.post(o.chat, (req, reply) => this.generate(life, req, reply, "openai", "chat"));
    if (o.completions !== null)
      app.post(o.completions, (req, reply) => this.generate(life, req, reply, "openai", "completion"));
    if (o.embeddings !== null) app.post(o.embeddings, (req, reply) => this.embeddings(life, req, reply));
    for (const path of o.rerank) app.post(path, (req, reply) => this.rerank(life, req, reply));
    if (o.score !== null) app.post(o.score, (req, reply) => this.score(life, req, reply));
    if (o.tokenize !== null) app.post(o.tokenize, (req, reply) => this.tokenize(req, reply));

    // Native APIs
    const n = f.native;
    if (n.version !== null) {
      const path = n.version;
      app.get(path, (_req, reply) => {
        if (f.engine === "ollama" && !ready(reply, "ollama")) return reply;
        return reply.send({ version: f.version });
      });
    }
    if (n.tgiGenerate !== null)
      app.post(n.tgiGenerate, (req, reply) => this.generate(life, req, reply, "tgi", "tgi"));
    if (n.tgiGenerateStream !== null)
      app.post(n.tgiGenerateStream, (req, reply) => this.generate(life, req, reply, "tgi", "tgi-stream"));
    if (n.tgiInfo !== null) app.get(n.tgiInfo, (_req, reply) => reply.send(this.tgiInfo()));
    if (n.ollamaRoot !== null) {
      app.get(n.ollamaRoot, (_req, reply) => {
        if (!ready(reply, "ollama")) return reply;
        return reply.type("text/plain; charset=utf-8").send("Ollama is running");
      });
    }
    if (n.ollamaTags !== null) app.get(n.ollamaTags, (_req, reply) => reply.send(this.ollamaTags()));
    if (n.ollamaChat !== null)
      app.post(n.ollamaChat, (req, reply) => this.generate(life, req, reply, "ollama", "ollama-chat"));
    if (n.ollamaGenerate !== null)
      app.post(n.ollamaGenerate, (req, reply) =>
        this.generate(life, req, reply, "ollama", "ollama-generate"),
      );
    if (n.ollamaEmbed !== null)
      app.post(n.ollamaEmbed, (req, reply) => this.embeddings(life, req, reply, true));
    if (n.tritonGenerate !== null)
      app.post(tritonRoute(n.tritonGenerate), (req, reply) =>
        this.generate(life, req, reply, "triton", "triton"),
      );
    if (n.tritonGenerateStream !== null)
      app.post(tritonRoute(n.tritonGenerateStream), (req, reply) =>
        this.generate(life, req, reply, "triton", "triton-stream"),
      );

    // Admin
    app.post("/admin/stop", (req, reply) => {
      const body = (req.body ?? {}) as { restartAfterMs?: unknown };
      const after = typeof body.restartAfterMs === "number" ? body.restartAfterMs : undefined;
      reply.raw.once("finish", () => {
        void this.kill().then(() => {
          if (after !== undefined && !this.stopped) {
            this.restartTimer = setTimeout(() => {
              this.restartTimer = null;
              void this.start().catch(() => {});
            }, after);
          }
        });
      });
      return reply.code(202).send({ status: "stopping", restartAfterMs: after ?? null });
    });
    app.post("/admin/restart", (_req, reply) => {
      reply.raw.once("finish", () => void this.restart().catch(() => {}));
      return reply.code(202).send({ status: "restarting" });
    });
    return app;
  }

  private dialectOf(url: string): Dialect {
    if (url.startsWith("/v1/") || url.startsWith("/admin")) return "openai";
    switch (this.flavour.engine) {
      case "tgi":
        return "tgi";
      case "ollama":
        return "ollama";
      case "triton":
        return "triton";
      default:
        return "openai";
    }
  }

  private modelsBody(): unknown {
    return {
      object: "list",
      data: [
        {
          id: this.servedModelName,
          object: "model",
          created: this.created(),
          owned_by: this.flavour.engine,
          root: this.setup.repo,
          parent: null,
          max_model_len: this.config.maxModelLen,
        },
      ],
    };
  }

  private tgiInfo(): unknown {
    return {
      model_id: this.setup.repo,
      model_sha: null,
      model_pipeline_tag: "text-generation",
      max_concurrent_requests: this.config.maxNumSeqs,
      max_best_of: 2,
      max_stop_sequences: 4,
      max_input_tokens: this.config.maxModelLen - 1,
      max_total_tokens: this.config.maxModelLen,
      max_batch_total_tokens: this.config.numGpuBlocks * this.config.blockSize,
      version: this.flavour.version,
      router: "text-generation-router",
      simulated: true,
    };
  }

  private ollamaTags(): unknown {
    const m = this.setup.model;
    const q =
      this.config.weightFormat === "none"
        ? m.nativeDtype.toUpperCase()
        : this.config.weightFormat.toUpperCase();
    return {
      models: [
        {
          name: this.servedModelName,
          model: this.servedModelName,
          modified_at: new Date(0).toISOString(),
          size: 0,
          digest: "0".repeat(64),
          details: {
            parent_model: "",
            format: "gguf",
            family: m.family,
            families: [m.family],
            parameter_size: `${(m.totalParams / 1e9).toFixed(1)}B`,
            quantization_level: q,
          },
        },
      ],
    };
  }

  private nextId(): string {
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
    kind: GenKind,
  ): unknown {
    life.metrics.received();
    this.noteTraceparent(req);
    // Parsing the prompt, admission and the first write wait for a slice of their own (FCFS), so
    // that a burst of arrivals does not make one long turn of the event loop (src/sim/slices.ts).
    admissionQueue.push(() => {
      if (this.life !== life || reply.raw.destroyed) return;
      try {
        this.admit(life, req, reply, dialect, kind);
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

  private admit(life: Life, req: FastifyRequest, reply: FastifyReply, dialect: Dialect, kind: GenKind): void {
    if (performance.now() < life.readyAt) {
      sendError(reply, dialect, {
        status: 503,
        type: "server_error",
        code: "service_unavailable",
        message: "The model is still loading (simulated start-up delay).",
      });
      return;
    }
    const parsed = this.parseGeneration(req, kind);
    if ("status" in parsed) {
      sendError(reply, dialect, parsed);
      return;
    }

    const fault = this.faults.decide(headerValue(req.headers[FAULT_HEADER]));
    if (typeof fault === "string") {
      sendError(reply, dialect, badRequest(fault, FAULT_HEADER));
      return;
    }
    if (fault.kind === "status") {
      sendError(reply, dialect, faultError(fault.status));
      return;
    }

    const job = this.plan(parsed, fault);
    if ("status" in job) {
      sendError(reply, dialect, job);
      return;
    }

    reply.hijack();
    const res = reply.raw;
    if (fault.kind === "hang") return; // never answered; the socket dies with the client or the server
    if (parsed.rich !== null) {
      this.admitRich(life, res, dialect, parsed, parsed.rich, job, fault);
      return;
    }
    const wire = this.wire(kind, parsed, job);
    const begin = () => {
      if (res.destroyed || this.life !== life) return;
      const g = new Generation(life, job, wire, res, life.rt.now());
      res.once("close", g.onClose);
      try {
        life.rt.submit(
          {
            id: job.id,
            promptTokens: job.promptIds.length,
            maxTokens: job.outputTokens,
            tokenIds: job.promptIds,
          },
          g,
        );
      } catch (err) {
        res.off("close", g.onClose);
        const e =
          err instanceof RequestRejected
            ? badRequest(err.message, null, "context_length_exceeded")
            : { status: 500, type: "server_error", code: "internal_error", message: String(err) };
        res.writeHead(e.status, life.jsonHeaders);
        res.end(JSON.stringify(errorBody(dialect, e)));
        return;
      }
      if (wire.stream) g.startStream(wire.contentType === "sse" ? life.sseHeaders : life.ndjsonHeaders);
    };
    if (fault.kind === "slow") {
      const t = setTimeout(begin, fault.ms);
      res.once("close", () => clearTimeout(t));
    } else begin();
  }

  /** Reads the request body of one generation endpoint into prompt ids and sampling parameters. */
  private parseGeneration(req: FastifyRequest, kind: GenKind): ParsedGeneration | WireError {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body))
      return badRequest("The request body must be a JSON object.");
    const b = body as Record<string, unknown>;
    const params = (
      kind === "tgi" || kind === "tgi-stream" ? b.parameters : kind.startsWith("ollama") ? b.options : b
    ) as Record<string, unknown> | undefined;
    const p: Record<string, unknown> = params !== null && typeof params === "object" ? params : {};

    // Model name
    let model: unknown = b.model;
    if (kind === "triton" || kind === "triton-stream") model = (req.params as { model?: string }).model;
    if (kind !== "tgi" && kind !== "tgi-stream" && model !== undefined && model !== this.servedModelName) {
      const name = typeof model === "string" ? model : JSON.stringify(model);
      return {
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        param: "model",
        message: kind.startsWith("ollama")
          ? `model '${name}' not found`
          : `The model \`${name}\` does not exist.`,
      };
    }

    // Prompt
    let promptIds: number[];
    if (kind === "chat" || kind === "ollama-chat") {
      const messages = b.messages;
      if (!Array.isArray(messages) || messages.length === 0)
        return badRequest("`messages` must be a non-empty array of {role, content}.", "messages");
      for (const m of messages) {
        if (m === null || typeof m !== "object" || typeof (m as ChatMessageLike).role !== "string")
          return badRequest("Each message needs a string `role`.", "messages");
      }
      promptIds = chatPromptIds(messages as ChatMessageLike[]);
    } else {
      const prompt =
        kind === "tgi" || kind === "tgi-stream"
          ? b.inputs
          : kind.startsWith("triton")
            ? b.text_input
            : b.prompt;
      const one =
        Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string" ? prompt[0] : prompt;
      if (typeof one === "string") promptIds = completionPromptIds(one);
      else if (Array.isArray(one) && one.length > 0 && one.every((x) => Number.isInteger(x)))
        promptIds = one as number[];
      else {
        const field = kind.startsWith("tgi") ? "inputs" : kind.startsWith("triton") ? "text_input" : "prompt";
        return badRequest(
          `\`${field}\` must be a string or an array of token ids (one prompt per request in the simulator).`,
          field,
        );
      }
    }

    // Lengths and sampling
    const maxRaw =
      kind === "tgi" || kind === "tgi-stream"
        ? p.max_new_tokens
        : kind.startsWith("ollama")
          ? p.num_predict
          : (b.max_completion_tokens ?? b.max_tokens);
    let maxTokens: number | undefined;
    if (maxRaw !== undefined && maxRaw !== null) {
      const ollamaUnlimited = kind.startsWith("ollama") && typeof maxRaw === "number" && maxRaw < 0;
      if (!ollamaUnlimited) {
        if (typeof maxRaw !== "number" || !Number.isInteger(maxRaw) || maxRaw < 1)
          return badRequest(
            `max_tokens must be an integer ≥ 1, got ${JSON.stringify(maxRaw)}.`,
            "max_tokens",
          );
        maxTokens = maxRaw;
      }
    } else if (kind === "tgi" || kind === "tgi-stream") maxTokens = 100; // TGI's documented default
    const openai = kind === "chat" || kind === "completion";
    if (openai) {
      try {
        validateParams(kind === "chat" ? "chat" : "completions", b);
      } catch (err) {
        if (isInferplaneError(err)) return badRequest(err.message, err.param);
        throw err;
      }
    }
    const n = b.n;
    // vLLM samples n choices; TGI, Ollama and Triton's OpenAI routes and native APIs do not.
    if ((!openai || this.flavour.engine !== "vllm") && n !== undefined && n !== null && n !== 1)
      return badRequest(`n > 1 is not supported by ${this.flavour.engine} on this route.`, "n");
    const stopRaw =
      kind === "tgi" || kind === "tgi-stream" ? p.stop : kind.startsWith("triton") ? b.stop_words : p.stop;
    const stops =
      typeof stopRaw === "string"
        ? [stopRaw]
        : Array.isArray(stopRaw)
          ? stopRaw.filter((s): s is string => typeof s === "string")
          : [];
    const seedRaw = p.seed;
    const seed = typeof seedRaw === "number" && Number.isInteger(seedRaw) ? seedRaw : undefined;
    const minRaw = b.min_tokens;
    const minTokens = typeof minRaw === "number" && Number.isInteger(minRaw) && minRaw > 0 ? minRaw : 0;
    const streamRaw = kind.startsWith("ollama") ? b.stream !== false : b.stream === true;
    const so = b.stream_options as { include_usage?: unknown } | undefined;
    const stream =
      kind === "tgi-stream" || kind === "triton-stream"
        ? true
        : kind === "tgi" || kind === "triton"
          ? b.stream === true
          : streamRaw;
    return {
      kind,
      promptIds,
      maxTokens,
      ignoreEos: b.ignore_eos === true || p.ignore_eos === true,
      minTokens,
      stops,
      seed,
      stream,
      // vLLM's StreamOptions.include_usage defaults to true once stream_options is given.
      includeUsage: so !== null && typeof so === "object" && so.include_usage !== false,
      details: p.details === true,
      rich: openai ? richSpec(b, kind === "chat") : null,
    };
  }

  /**
   * A reply of n choices, tool calls, JSON output, logprobs or continuous usage: one engine job
   * per choice (src/sim/rich-reply.ts), each choice's content from src/sim/structured.ts.
   */
  private admitRich(
    life: Life,
    res: ServerResponse,
    dialect: Dialect,
    p: ParsedGeneration,
    spec: RichSpec,
    first: Job,
    fault: FaultAction,
  ): void {
    const jobs: Job[] = [];
    const contents: ChoiceContent[] = [];
    const limit = p.maxTokens ?? this.config.maxModelLen - p.promptIds.length;
    for (let i = 0; i < spec.n; i++) {
      let job = first;
      if (i > 0) {
        const planned = this.plan({ ...p, seed: p.seed !== undefined ? p.seed + i : undefined }, fault);
        if ("status" in planned) throw new Error(planned.message);
        job = { ...planned, id: `${first.id}-${i}` };
      }
      const content = choiceContent(spec.output, job.textSeed, i);
      if (content.pieces !== null && content.pieces.length > 0) {
        // Guided decoding: the reply is the structured text, cut only by max_tokens.
        const outputTokens = Math.min(content.pieces.length, limit);
        job = {
          ...job,
          outputTokens,
          texts: content.pieces.slice(0, outputTokens),
          finishReason: content.pieces.length <= limit ? "stop" : "length",
          stopReason: "null",
          cutAt: fault.kind === "cut" ? Math.floor((outputTokens - 1) / 2) : -1,
        };
      }
      jobs.push(job);
      contents.push(content);
    }
    const begin = () => {
      if (res.destroyed || this.life !== life) return;
      const rich = new RichReply(
        {
          metrics: life.metrics,
          abort: (id) => life.rt.abort(id),
          now: () => life.rt.now(),
          res,
          jsonHeaders: life.jsonHeaders,
          sseHeaders: life.sseHeaders,
          model: this.servedModelName,
          created: this.created(),
          id: `${spec.chat ? "chatcmpl" : "cmpl"}-${first.id}`,
          stream: p.stream,
          includeUsage: p.includeUsage,
          spec,
        },
        jobs,
        contents,
        life.rt.now(),
      );
      try {
        jobs.forEach((job, i) => {
          life.rt.submit(
            {
              id: job.id,
              promptTokens: job.promptIds.length,
              maxTokens: job.outputTokens,
              tokenIds: job.promptIds,
            },
            rich.listener(i),
          );
        });
      } catch (err) {
        rich.detach();
        for (const job of jobs) life.rt.abort(job.id);
        const e =
          err instanceof RequestRejected
            ? badRequest(err.message, null, "context_length_exceeded")
            : { status: 500, type: "server_error", code: "internal_error", message: String(err) };
        res.writeHead(e.status, life.jsonHeaders);
        res.end(JSON.stringify(errorBody(dialect, e)));
        return;
      }
      if (p.stream) rich.startStream();
    };
    if (fault.kind === "slow") {
      const t = setTimeout(begin, fault.ms);
      res.once("close", () => clearTimeout(t));
    } else begin();
  }

  /** Decides the reply: its length, finish reason, text seed, stop cut and fault cut. */
  private plan(p: ParsedGeneration, fault: FaultAction): Job | WireError {
    const maxLen = this.config.maxModelLen;
    const prompt = p.promptIds.length;
    const where = p.kind === "chat" || p.kind === "ollama-chat" ? "messages" : "prompt";
    if (prompt >= maxLen) {
      return badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, your request has ${prompt} input tokens. Please reduce the length of the input ${where}.`,
        where,
        "context_length_exceeded",
      );
    }
    if (p.maxTokens !== undefined && prompt + p.maxTokens > maxLen) {
      return badRequest(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${prompt + p.maxTokens} tokens (${prompt} in the ${where}, ${p.maxTokens} in the completion). Please reduce the length of the ${where} or completion.`,
        where,
        "context_length_exceeded",
      );
    }
    const limit = p.maxTokens ?? maxLen - prompt;
    const rand = p.seed !== undefined ? rng(p.seed) : this.rand;
    let outputTokens = limit;
    let finishReason: "stop" | "length" = "length";
    if (!p.ignoreEos) {
      const drawn =
        this.setup.outputLenSigma > 0
          ? sampleLength(
              { kind: "lognormal", mean: this.setup.outputLenMean, sigma: this.setup.outputLenSigma, min: 1 },
              rand,
            )
          : Math.round(this.setup.outputLenMean);
      const eos = Math.max(drawn, p.minTokens);
      if (eos < limit) {
        outputTokens = eos;
        finishReason = "stop";
      }
    }
    const textSeed = p.seed ?? Math.floor(rand() * 0x1_0000_0000);
    let texts: string[] | null = null;
    let stopReason = "null";
    if (p.stops.length > 0) {
      const cut = applyStop(textSeed, outputTokens, p.stops);
      if (cut !== null && cut.tokens >= p.minTokens) {
        outputTokens = cut.tokens;
        texts = cut.texts;
        finishReason = "stop";
        stopReason = JSON.stringify(cut.stop);
      }
    }
    const id = this.nextId();
    return {
      id,
      promptIds: p.promptIds,
      outputTokens,
      finishReason,
      textSeed,
      texts,
      stopReason,
      cutAt: fault.kind === "cut" ? Math.floor((outputTokens - 1) / 2) : -1,
    };
  }

  private wire(kind: GenKind, p: ParsedGeneration, job: Job): Wire {
    const model = this.servedJson;
    const created = this.created();
    const usage = (g: Generation) => ({
      prompt_tokens: g.promptTokens,
      total_tokens: g.promptTokens + g.generated,
      completion_tokens: g.generated,
      prompt_tokens_details: { cached_tokens: g.cached },
    });
    const vllmFinish = (g: Generation) => g.job.finishReason;
    switch (kind) {
      case "chat":
      case "completion": {
        const chat = kind === "chat";
        const id = `${chat ? "chatcmpl" : "cmpl"}-${job.id}`;
        const object = chat ? "chat.completion.chunk" : "text_completion";
        const base = `{"id":"${id}","object":"${object}","created":${created},"model":${model},"choices":[`;
        const pre = chat
          ? `data: ${base}{"index":0,"delta":{"content":"`
          : `data: ${base}{"index":0,"text":"`;
        const close = chat ? `"}` : `"`;
        const mid = `${close},"logprobs":null,"finish_reason":null}]}\n\n`;
        const midLast = `${close},"logprobs":null,"finish_reason":"${job.finishReason}","stop_reason":${job.stopReason}}]}\n\n`;
        return {
          stream: p.stream,
          contentType: "sse",
          ascii: this.asciiName,
          head: () =>
            chat
              ? `data: ${base}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`
              : "",
          token: (_i, text, last) => pre + text + (last ? midLast : mid),
          end: (g) =>
            p.includeUsage
              ? `data: ${base}],"usage":${JSON.stringify(usage(g))}}\n\ndata: [DONE]\n\n`
              : "data: [DONE]\n\n",
          body: (g) =>
            chat
              ? {
                  id,
                  object: "chat.completion",
                  created,
                  model: this.servedModelName,
                  choices: [
                    {
                      index: 0,
                      message: { role: "assistant", content: g.fullText(), tool_calls: [] },
                      logprobs: null,
                      finish_reason: vllmFinish(g),
                      stop_reason: JSON.parse(job.stopReason) as string | null,
                    },
                  ],
                  usage: usage(g),
                  prompt_logprobs: null,
                }
              : {
                  id,
                  object: "text_completion",
                  created,
                  model: this.servedModelName,
                  choices: [
                    {
                      index: 0,
                      text: g.fullText(),
                      logprobs: null,
                      finish_reason: vllmFinish(g),
                      stop_reason: JSON.parse(job.stopReason) as string | null,
                    },
                  ],
                  usage: usage(g),
                },
        };
      }
      case "tgi":
      case "tgi-stream": {
        const tgiReason =
          job.finishReason === "length" ? "length" : job.texts !== null ? "stop_sequence" : "eos_token";
        const details = (g: Generation) => ({
          finish_reason: tgiReason,
          generated_tokens: g.generated,
          seed: p.seed ?? null,
          input_length: g.promptTokens,
        });
        return {
          stream: p.stream,
          contentType: "sse",
          ascii: true,
          head: () => "",
          token: (i, text, last) =>
            last
              ? ""
              : `data:{"index":${i + 1},"token":{"id":${i},"text":"${text}","logprob":0,"special":false},"generated_text":null,"details":null,"top_tokens":null}\n\n`,
          end: (g) => {
            const i = g.generated - 1;
            const lastTok = { id: i, text: g.text(i), logprob: 0, special: false };
            return `data:${JSON.stringify({ index: i + 1, token: lastTok, generated_text: g.fullText(), details: details(g), top_tokens: null })}\n\n`;
          },
          body: (g) =>
            p.details
              ? { generated_text: g.fullText(), details: { ...details(g), prefill: [], tokens: [] } }
              : { generated_text: g.fullText() },
        };
      }
      case "ollama-chat":
      case "ollama-generate": {
        const chat = kind === "ollama-chat";
        const createdAt = JSON.stringify(new Date().toISOString());
        const pre = chat
          ? `{"model":${model},"created_at":${createdAt},"message":{"role":"assistant","content":"`
          : `{"model":${model},"created_at":${createdAt},"response":"`;
        const post = chat ? `"},"done":false}\n` : `","done":false}\n`;
        const final = (g: Generation, content: string) => {
          const ns = (s: number) => Math.round(s * 1e9);
          const end = g.last;
          return {
            model: this.servedModelName,
            created_at: JSON.parse(createdAt) as string,
            ...(chat ? { message: { role: "assistant", content } } : { response: content }),
            done: true,
            done_reason: g.job.finishReason,
            total_duration: ns(end - g.arrival),
            load_duration: 0,
            prompt_eval_count: g.promptTokens,
            prompt_eval_duration: ns((g.first ?? end) - (g.scheduled ?? g.arrival)),
            eval_count: g.generated,
            eval_duration: ns(end - (g.first ?? end)),
          };
        };
        return {
          stream: p.stream,
          contentType: "ndjson",
          ascii: this.asciiName,
          head: () => "",
          token: (_i, text) => pre + text + post,
          end: (g) => `${JSON.stringify(final(g, ""))}\n`,
          body: (g) => final(g, g.fullText()),
        };
      }
      case "triton":
      case "triton-stream": {
        const pre = `data: {"model_name":${model},"model_version":"1","sequence_end":false,"sequence_id":0,"text_output":"`;
        return {
          stream: p.stream,
          contentType: "sse",
          ascii: this.asciiName,
          head: () => "",
          token: (_i, text) => `${pre + text}"}\n\n`,
          end: () => "",
          body: (g) => ({
            model_name: this.servedModelName,
            model_version: "1",
            sequence_end: false,
            sequence_id: 0,
            text_output: g.fullText(),
          }),
        };
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Embeddings, rerank, tokenize (simulated: no engine time)
  // ---------------------------------------------------------------------------------------------

  /** Keeps the request's traceparent (bounded), so tests can check propagation. */
  private noteTraceparent(req: FastifyRequest): void {
    const tp = req.headers.traceparent;
    if (typeof tp !== "string") return;
    if (this.traceparents.length >= MAX_TRACEPARENTS) this.traceparents.shift();
    this.traceparents.push(tp);
  }

  private embeddings(life: Life, req: FastifyRequest, reply: FastifyReply, ollama = false): unknown {
    this.noteTraceparent(req);
    const dialect: Dialect = ollama ? "ollama" : "openai";
    if (!this.readyNow(life, reply, dialect)) return reply;
    const b = req.body as Record<string, unknown> | undefined;
    if (b === undefined || b === null || typeof b !== "object")
      return sendError(reply, dialect, badRequest("The request body must be a JSON object."));
    if (b.model !== undefined && b.model !== this.servedModelName)
      return sendError(reply, dialect, {
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        param: "model",
        message: ollama
          ? `model '${String(b.model)}' not found`
          : `The model \`${String(b.model)}\` does not exist.`,
      });
    const input = b.input;
    let texts: string[];
    // Token-id inputs are already tokens: they count one each (their text only seeds the vector).
    let idCounts: number[] | null = null;
    if (typeof input === "string") texts = [input];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "string"))
      texts = input as string[];
    else if (Array.isArray(input) && input.length > 0 && input.every((x) => Number.isInteger(x))) {
      texts = [(input as number[]).join(" ")];
      idCounts = [input.length];
    } else if (
      Array.isArray(input) &&
      input.length > 0 &&
      input.every((x) => Array.isArray(x) && x.length > 0 && x.every((y) => Number.isInteger(y)))
    ) {
      texts = (input as number[][]).map((x) => x.join(" "));
      idCounts = (input as number[][]).map((x) => x.length);
    } else
      return sendError(
        reply,
        dialect,
        badRequest("`input` must be a string, an array of strings or token ids.", "input"),
      );
    const dims =
      typeof b.dimensions === "number" && Number.isInteger(b.dimensions) && b.dimensions > 0
        ? b.dimensions
        : this.setup.embeddingDim;
    const format = b.encoding_format ?? "float";
    if (format !== "float" && format !== "base64")
      return sendError(
        reply,
        dialect,
        badRequest('`encoding_format` must be "float" or "base64".', "encoding_format"),
      );
    let tokens = 0;
    const vectors = texts.map((t, i) => {
      tokens += idCounts !== null ? (idCounts[i] as number) : encodeText(t).length;
      return embedText(t, dims);
    });
    reply.header("x-sim-simulated", "true");
    if (ollama)
      return reply.send({
        model: this.servedModelName,
        embeddings: vectors.map((v) => Array.from(v)),
        prompt_eval_count: tokens,
        simulated: true,
      });
    return reply.send({
      object: "list",
      data: vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: format === "base64" ? embeddingBase64(v) : Array.from(v),
      })),
      model: this.servedModelName,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      simulated: true,
    });
  }

  private rerank(life: Life, req: FastifyRequest, reply: FastifyReply): unknown {
    this.noteTraceparent(req);
    if (!this.readyNow(life, reply, "openai")) return reply;
    const b = req.body as Record<string, unknown> | undefined;
    if (b === undefined || b === null || typeof b !== "object")
      return sendError(reply, "openai", badRequest("The request body must be a JSON object."));
    if (b.model !== undefined && b.model !== this.servedModelName)
      return sendError(reply, "openai", {
        status: 404,
        type: "invalid_request_error",
        code: "model_not_found",
        param: "model",
        message: `The model \`${String(b.model)}\` does not exist.`,
      });
    if (typeof b.query !== "string")
      return sendError(reply, "openai", badRequest("`query` must be a string.", "query"));
    const query = b.query;
    if (!Array.isArray(b.documents))
      return sendError(reply, "openai", badRequest("`documents` must be an array.", "documents"));
    const docs: string[] = [];
    for (const d of b.documents) {
      if (typeof d === "string") docs.push(d);
      else if (d !== null && typeof d === "object" && typeof (d as { text?: unknown }).text === "string")
        docs.push((d as { text: string }).text);
      else
        return sendError(
          reply,
          "openai",
          badRequest("Each document must be a string or {text}.", "documents"),
        );
    }
    const topN =
      typeof b.top_n === "number" && Number.isInteger(b.top_n) && b.top_n > 0 ? b.top_n : docs.length;
    const withDocs = b.return_documents !== false;
    let tokens = encodeText(query).length * docs.length;
    const results = docs
      .map((text, index) => {
        tokens += encodeText(text).length;
        return { index, relevance_score: rerankScore(query, text), text };
      })
      .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
      .slice(0, topN)
      .map((r) =>
        withDocs
          ? { index: r.index, document: { text: r.text }, relevance_score: r.relevance_score }
          : { index: r.index, relevance_score: r.relevance_score },
      );
    reply.header("x-sim-simulated", "true");
    return reply.send({
      id: `rerank-${this.nextId()}`,
      model: this.servedModelName,
      usage: { total_tokens: tokens },
      results,
      simulated: true,
    });
  }

  /** vLLM's /score: `text_1` against each of `text_2` (a string or a list). */
  private score(life: Life, req: FastifyRequest, reply: FastifyReply): unknown {
    if (!this.readyNow(life, reply, "openai")) return reply;
    const b = req.body as Record<string, unknown> | undefined;
    if (b === undefined || b === null || typeof b !== "object")
      return sendError(reply, "openai", badRequest("The request body must be a JSON object."));
    const t1 = b.text_1;
    const t2 = typeof b.text_2 === "string" ? [b.text_2] : b.text_2;
    if (typeof t1 !== "string" || !Array.isArray(t2) || !t2.every((x) => typeof x === "string"))
      return sendError(
        reply,
        "openai",
        badRequest("`text_1` must be a string and `text_2` a string or a list of strings.", "text_2"),
      );
    const docs = t2 as string[];
    let tokens = 0;
    const data = docs.map((d, index) => {
      tokens += encodeText(t1).length + encodeText(d).length;
      return { index, object: "score", score: rerankScore(t1, d) };
    });
    reply.header("x-sim-simulated", "true");
    return reply.send({
      id: `score-${this.nextId()}`,
      object: "list",
      created: this.created(),
      model: this.servedModelName,
      data,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      simulated: true,
    });
  }

  private tokenize(req: FastifyRequest, reply: FastifyReply): unknown {
    const b = req.body as Record<string, unknown> | undefined;
    let ids: number[];
    if (b && Array.isArray(b.messages)) ids = chatPromptIds(b.messages as ChatMessageLike[]);
    else if (b && typeof b.prompt === "string") ids = completionPromptIds(b.prompt);
    else return sendError(reply, "openai", badRequest("Give `prompt` (a string) or `messages`.", "prompt"));
    return reply.send({ count: ids.length, max_model_len: this.config.maxModelLen, tokens: ids });
  }

  private readyNow(life: Life, reply: FastifyReply, dialect: Dialect): boolean {
    if (performance.now() >= life.readyAt) return true;
    sendError(reply, dialect, {
      status: 503,
      type: "server_error",
      code: "service_unavailable",
      message: "The model is still loading (simulated start-up delay).",
    });
    return false;
  }
}

type GenKind =
  | "chat"
  | "completion"
  | "tgi"
  | "tgi-stream"
  | "ollama-chat"
  | "ollama-generate"
  | "triton"
  | "triton-stream";

interface ParsedGeneration {
  kind: GenKind;
  promptIds: number[];
  maxTokens: number | undefined;
  ignoreEos: boolean;
  minTokens: number;
  stops: string[];
  seed: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  details: boolean;
  /** n choices, logprobs, tools, JSON output or continuous usage (OpenAI routes): the RichReply path. */
  rich: RichSpec | null;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `/v2/models/{model}/generate` → fastify's `/v2/models/:model/generate`. */
function tritonRoute(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/** Starts one replica; resolves once it listens. Throws InferplaneError on bad options or a busy port. */
export async function startSimServer(options: SimServerOptions): Promise<SimServerHandle> {
  const replica = new Replica(resolveSimOptions(options));
  await replica.start();
  return replica;
}

export interface SimFleetOptions extends SimServerOptions {
  /** Replicas on ports port, port+1, …; each its own engine (default 1). */
  replicas?: number;
}

export interface SimFleetHandle {
  replicas: SimServerHandle[];
  urls: string[];
  /** Stops every replica for good. */
  stop(): Promise<void>;
}

/** Starts N replicas on consecutive ports (or N ephemeral ports with port 0). */
export async function startSimFleet(options: SimFleetOptions): Promise<SimFleetHandle> {
  const n = options.replicas ?? 1;
  positiveInt("replicas", n);
  const base = options.port ?? 0;
  if (base !== 0 && base + n - 1 > 65535) throw usage(`ports ${base}–${base + n - 1} run past 65535`);
  const setups = Array.from({ length: n }, (_, i) =>
    resolveSimOptions({ ...options, port: base === 0 ? 0 : base + i, replicaIndex: i }),
  );
  const replicas: SimServerHandle[] = [];
  try {
    for (const s of setups) {
      const r = new Replica(s);
      await r.start();
      replicas.push(r);
    }
  } catch (err) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw err;
  }
  return {
    replicas,
    urls: replicas.map((r) => r.url),
    stop: async () => {
      await Promise.all(replicas.map((r) => r.stop()));
    },
  };
}

export { SIM_ENGINES, type SimEngine };
