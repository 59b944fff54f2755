/**
 * `inferplane sim`: N simulated replicas of one engine on consecutive ports, until SIGINT or
 * SIGTERM. Flags become SimFleetOptions; the library (src/sim/server.ts) does the rest.
 */

import { DEFAULT_ENGINE, engineInfo } from "../catalog/engines.js";
import { InferplaneError } from "../errors.js";
import { renderTable } from "../report/table.js";
import { isSimEngine, SIM_ENGINES } from "../sim/flavours.js";
import type { SimFleetHandle, SimFleetOptions } from "../sim/server.js";
import type { CliIO } from "./io.js";

export interface SimCliOptions {
  engine?: string;
  engineVersion?: string;
  model?: string;
  gpu?: string;
  dtype?: string;
  quantization?: string;
  tp?: string;
  host?: string;
  port?: string;
  replicas?: string;
  speed?: string;
  maxNumSeqs?: string;
  maxNumBatchedTokens?: string;
  numGpuBlocks?: string;
  maxModelLen?: string;
  blockSize?: string;
  gpuMemoryUtilization?: string;
  enablePrefixCaching?: boolean;
  servedModelName?: string;
  outputLenMean?: string;
  outputLenSigma?: string;
  embeddingDim?: string;
  failRate?: string;
  failCodes?: string;
  cutStreamRate?: string;
  hangRate?: string;
  slowMs?: string;
  startupDelay?: string;
  seed?: string;
  timeToFirstToken?: string;
  interTokenLatency?: string;
  json?: boolean;
}

const usage = (message: string) => new InferplaneError("usage", message);

function num(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw usage(`--${flag} must be ${integer ? "an integer" : "a number"}, got "${v}"`);
  return n;
}

/** `5`, `5s`, `1.5s`, `500ms` → milliseconds. */
function duration(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(v);
  if (m?.[1] === undefined) throw usage(`--${flag} must be a duration such as 5, 5s or 500ms, got "${v}"`);
  return Number(m[1]) * (m[2] === "ms" ? 1 : 1000);
}

/** The engine's port, except privileged ones (TGI's image listens on 80; its docs map 8080:80). */
function defaultPort(engine: string): number {
  if (!isSimEngine(engine)) return 8000;
  const p = engineInfo(engine).defaultPort;
  return p < 1024 ? 8080 : p;
}

/** Flags → fleet options; throws `usage` errors naming the flag. */
export function simOptionsFromFlags(o: SimCliOptions): SimFleetOptions {
  const engine = o.engine ?? DEFAULT_ENGINE;
  if (!isSimEngine(engine)) throw usage(`--engine must be one of ${SIM_ENGINES.join(", ")}, got "${engine}"`);
  if (o.model === undefined || o.model.trim() === "")
    throw usage("--model is required (a catalog id or an HF repo id)");
  const failCodes =
    o.failCodes === undefined
      ? undefined
      : o.failCodes.split(",").map((c) => {
          const n = Number(c.trim());
          if (!Number.isInteger(n))
            throw usage(`--fail-codes must be comma-separated HTTP statuses, got "${o.failCodes}"`);
          return n;
        });
  const faults = {
    failRate: num("fail-rate", o.failRate),
    failCodes,
    cutStreamRate: num("cut-stream-rate", o.cutStreamRate),
    hangRate: num("hang-rate", o.hangRate),
    slowMs: num("slow-ms", o.slowMs),
  };
  const seed = num("seed", o.seed, true);
  return {
    engine,
    engineVersion: o.engineVersion,
    model: o.model,
    gpu: o.gpu ?? "H100-80GB",
    dtype: o.dtype,
    quantization: o.quantization,
    tp: num("tp", o.tp, true),
    host: o.host ?? "127.0.0.1",
    port: num("port", o.port, true) ?? defaultPort(engine),
    replicas: num("replicas", o.replicas, true) ?? 1,
    speed: num("speed", o.speed),
    maxNumSeqs: num("max-num-seqs", o.maxNumSeqs, true),
    maxNumBatchedTokens: num("max-num-batched-tokens", o.maxNumBatchedTokens, true),
    numGpuBlocks: num("num-gpu-blocks", o.numGpuBlocks, true),
    maxModelLen: num("max-model-len", o.maxModelLen, true),
    blockSize: num("block-size", o.blockSize, true),
    gpuMemoryUtilization: num("gpu-memory-utilization", o.gpuMemoryUtilization),
    enablePrefixCaching: o.enablePrefixCaching,
    servedModelName: o.servedModelName,
    outputLenMean: num("output-len-mean", o.outputLenMean),
    outputLenSigma: num("output-len-sigma", o.outputLenSigma),
    embeddingDim: num("embedding-dim", o.embeddingDim, true),
    startupDelayMs: duration("startup-delay", o.startupDelay),
    seed,
    ...(o.timeToFirstToken !== undefined || o.interTokenLatency !== undefined
      ? {
          constantLatency: {
            ttftMs: duration("time-to-first-token", o.timeToFirstToken ?? "0") ?? 0,
            itlMs: duration("inter-token-latency", o.interTokenLatency ?? "0") ?? 0,
          },
        }
      : {}),
    faults,
  };
}

export interface SimRunControl {
  /** Resolves when the simulator should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
  /** Called once every replica listens. */
  onReady?: (fleet: SimFleetHandle) => void;
}

export async function simCommand(o: SimCliOptions, io: CliIO, control: SimRunControl = {}): Promise<number> {
  const options = simOptionsFromFlags(o);
  const { startSimFleet } = await import("../sim/server.js");
  const fleet = await startSimFleet(options);
  const first = fleet.replicas[0];
  if (o.json) {
    io.out(
      JSON.stringify({
        replicas: fleet.replicas.map((r, i) => ({
          replica: i,
          url: r.url,
          engine: r.flavour.engine,
          engineVersion: r.flavour.version,
          servedModelName: r.servedModelName,
          gpu: r.config.gpu.id,
          tp: r.config.tp,
          numGpuBlocks: r.config.numGpuBlocks,
          maxModelLen: r.config.maxModelLen,
        })),
      }),
    );
  } else if (first) {
    const c = first.config;
    io.out(
      [
        `✔ ${fleet.replicas.length} simulated ${first.flavour.info.displayName} ${first.flavour.version} replica(s) of ${first.servedModelName}`,
        `  ${c.tp} × ${c.gpu.id}, weights ${c.weightFormat === "none" ? c.model.nativeDtype : c.weightFormat}, ${c.numGpuBlocks} KV blocks of ${c.blockSize} tokens, max model len ${c.maxModelLen}, ${first.setup.constantLatency ? `constant latency: TTFT ${first.setup.constantLatency.ttftMs} ms, ITL ${first.setup.constantLatency.itlMs} ms` : `speed ${first.setup.speed}×`}`,
        "",
        renderTable(
          ["REPLICA", "URL", "HEALTH", "METRICS"],
          fleet.replicas.map((r, i) => [
            String(i),
            r.url,
            r.flavour.healthPaths[0] ?? r.flavour.native.version ?? "-",
            r.flavour.metricsPath ?? "-",
          ]),
        ),
        "",
        "Ctrl+C stops.",
      ].join("\n"),
    );
  }
  control.onReady?.(fleet);
  let onSignal: (() => void) | undefined;
  const until =
    control.until ??
    new Promise<void>((resolve) => {
      onSignal = () => resolve();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
    });
  try {
    await until;
  } finally {
    if (onSignal) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    await fleet.stop();
  }
  if (!o.json) io.err("simulator stopped");
  return 0;
}
