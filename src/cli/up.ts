import { type LocalReplicas, localRunnerFor } from "../engines/index.js";
import { localCacheDir } from "../engines/local.js";
import { InferplaneError } from "../errors.js";
import { manageLifecycle } from "../gateway/lifecycle.js";
import { startGateway } from "../gateway/server.js";
import { renderTable } from "../report/table.js";
import { simPlanFor } from "../sim/from-spec.js";
import { type SimFleetHandle, startSimFleet } from "../sim/server.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import type { CliIO } from "./io.js";

export interface UpOptions {
  config?: string;
  env?: string;
  port?: string;
  host?: string;
  speed?: string;
  json?: boolean;
}

function log(level: string, msg: string, fields: Record<string, unknown> = {}) {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

type SimStack = { model: string; fleet: SimFleetHandle; engine: string; gpu: string };
type RealStack = { model: string; engine: string; replicas: LocalReplicas };

/** Real replicas for a model whose engine runs here; undefined where it does not. */
async function startRealReplicas(m: ModelSpec): Promise<RealStack | undefined> {
  const runner = await localRunnerFor(m.engine);
  if (runner === undefined) return undefined;
  const replicas = await runner.start(m, {
    replicas: m.autoscaling?.enabled ? Math.max(1, m.autoscaling.minReplicas) : Math.max(1, m.replicas),
    cacheDir: localCacheDir(),
    progress: (msg) => log("info", msg, { model: m.name }),
  });
  return { model: m.name, engine: m.engine, replicas };
}

/** A simulated fleet shaped like the replicas the plan would deploy for the model. */
async function startSimReplicas(platform: Platform, m: ModelSpec, speed: number): Promise<SimStack> {
  const plan = simPlanFor(platform, m);
  const c = plan.config;
  const fleet = await startSimFleet({
    engine: plan.engine,
    ...(plan.engineVersion ? { engineVersion: plan.engineVersion } : {}),
    model: c.model,
    gpu: c.gpu,
    ...(c.tp ? { tp: c.tp } : {}),
    ...(c.weightFormat ? { weightFormat: c.weightFormat } : {}),
    ...(c.maxModelLen ? { maxModelLen: c.maxModelLen } : {}),
    ...(c.maxNumSeqs ? { maxNumSeqs: c.maxNumSeqs } : {}),
    ...(c.maxNumBatchedTokens ? { maxNumBatchedTokens: c.maxNumBatchedTokens } : {}),
    ...(c.gpuMemoryUtilization ? { gpuMemoryUtilization: c.gpuMemoryUtilization } : {}),
    enablePrefixCaching: c.enablePrefixCaching ?? true,
    servedModelName: plan.servedModelName,
    replicas: plan.replicas,
    host: "127.0.0.1",
    port: 0,
    speed,
  });
  const gpu =
    typeof c.gpu === "string" ? c.gpu : `${c.gpu.id}${m.gpu?.migProfile ? ` MIG ${m.gpu.migProfile}` : ""}`;
  return { model: m.name, fleet, engine: plan.engine, gpu };
}

/** A curl line to try: a route served by real weights first (its answer is real text). */
function sampleRequest(platform: Platform, reals: RealStack[], gatewayUrl: string): string {
  const isChat = (name: string, real: boolean) =>
    platform.models.some(
      (m) =>
        m.name === name && (m.kind ?? "chat") === "chat" && (!real || reals.some((r) => r.model === name)),
    );
  const route =
    platform.routes.find((r) => r.targets.every((t) => isChat(t.model, true))) ??
    platform.routes.find((r) => r.targets.some((t) => isChat(t.model, false)));
  return route
    ? `curl ${gatewayUrl}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${route.name}","messages":[{"role":"user","content":"Hello! Who are you?"}],"max_tokens":48}'`
    : `curl ${gatewayUrl}/v1/models`;
}

interface Stack {
  platform: Platform;
  gatewayUrl: string;
  reals: RealStack[];
  fleets: SimStack[];
  sample: string;
}

function stackJson({ gatewayUrl, reals, fleets, sample }: Stack): string {
  const replicas = [
    ...reals.map((r) => ({
      model: r.model,
      engine: r.engine,
      real: true,
      describe: r.replicas.describe,
      urls: r.replicas.urls,
    })),
    ...fleets.map((f) => ({ model: f.model, engine: f.engine, real: false, gpu: f.gpu, urls: f.fleet.urls })),
  ];
  return JSON.stringify({ gateway: gatewayUrl, replicas, sample }, null, 2);
}

function stackText({ platform, gatewayUrl, reals, fleets, sample }: Stack): string {
  const rows = [
    ["gateway", "inferplane", "", gatewayUrl],
    ...reals.flatMap((r) =>
      r.replicas.urls.map((u, i) => [`${r.model}[${i}]`, `${r.engine} (real)`, "CPU", u]),
    ),
    ...fleets.flatMap((f) =>
      f.fleet.urls.map((u, i) => [`${f.model}[${i}]`, `${f.engine} (simulated)`, f.gpu, u]),
    ),
    ...platform.models
      .filter((m) => m.endpoints.length > 0)
      .flatMap((m) => m.endpoints.map((u, i) => [`${m.name}[${i}]`, m.engine, "", u])),
  ];
  const realLines = reals.map((r) => `  ${r.model}: ${r.replicas.describe}`).join("\n");
  return `${renderTable(["SERVICE", "KIND", "GPU", "URL"], rows)}\n\n${
    reals.length > 0
      ? `Real engines (real weights):\n${realLines}\nEvery other replica is simulated.\n\n`
      : "Every replica is simulated.\n\n"
  }Routes: ${platform.routes.map((r) => r.name).join(", ")}\nTry:\n  ${sample}\n`;
}

function portOf(opts: UpOptions, platform: Platform): number {
  const port = opts.port === undefined ? platform.gateway.listen.port : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InferplaneError("usage", `--port must be a port number, got "${opts.port}"`);
  }
  return port;
}

/**
 * The local stack, like the guide's `docker compose up`: for every model without endpoints, real
 * replicas where its engine runs here (llama.cpp with real weights) and simulated ones otherwise,
 * the gateway in front, until SIGINT/SIGTERM; what was started is stopped on failure or on a signal.
 */
export async function upCommand(opts: UpOptions, io: CliIO): Promise<number> {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const port = portOf(opts, platform);
  const speed = opts.speed === undefined ? 1 : Number(opts.speed);
  const fleets: SimStack[] = [];
  const reals: RealStack[] = [];
  const endpoints: Record<string, string[]> = {};
  const stopAll = () =>
    Promise.all([...fleets.map((f) => f.fleet.stop()), ...reals.map((r) => r.replicas.close())]);
  try {
    for (const m of platform.models) {
      if (m.endpoints.length > 0 || m.discovery !== undefined) continue;
      const real = await startRealReplicas(m);
      if (real !== undefined) {
        reals.push(real);
        endpoints[m.name] = real.replicas.urls;
        continue;
      }
      const sim = await startSimReplicas(platform, m, speed);
      fleets.push(sim);
      endpoints[m.name] = sim.fleet.urls;
    }
    const gw = await startGateway(platform, {
      host: opts.host ?? platform.gateway.listen.host,
      port,
      endpoints,
      log,
    });
    const stack: Stack = {
      platform,
      gatewayUrl: gw.url,
      reals,
      fleets,
      sample: sampleRequest(platform, reals, gw.url),
    };
    io.out(opts.json ? stackJson(stack) : stackText(stack));
    return await new Promise<number>((resolve) => {
      manageLifecycle(gw, {
        file,
        ...(opts.env ? { env: opts.env } : {}),
        log,
        onExit: (code) => {
          void stopAll().then(() => resolve(code));
        },
      });
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}
