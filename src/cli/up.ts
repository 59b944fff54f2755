import { type LocalReplicas, localRunnerFor } from "../engines/index.js";
import { localCacheDir } from "../engines/local.js";
import { InferplaneError } from "../errors.js";
import { manageLifecycle } from "../gateway/lifecycle.js";
import { startGateway } from "../gateway/server.js";
import { renderTable } from "../report/table.js";
import { simPlanFor } from "../sim/from-spec.js";
import { type SimFleetHandle, startSimFleet } from "../sim/server.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
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

/**
 * The local stack, like the guide's `docker compose up`: for every model without endpoints, real
 * replicas where its engine runs here (llama.cpp with real weights) and simulated ones otherwise,
 * the gateway in front, until SIGINT/SIGTERM. Over 120 lines: a thin shell that starts the
 * pieces in order and stops what it started on failure or on a signal.
 */
export async function upCommand(opts: UpOptions, io: CliIO): Promise<number> {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const port = opts.port === undefined ? platform.gateway.listen.port : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InferplaneError("usage", `--port must be a port number, got "${opts.port}"`);
  }
  const speed = opts.speed === undefined ? 1 : Number(opts.speed);
  const fleets: { model: string; fleet: SimFleetHandle; engine: string; gpu: string }[] = [];
  const reals: { model: string; engine: string; replicas: LocalReplicas }[] = [];
  const endpoints: Record<string, string[]> = {};
  const stopAll = () =>
    Promise.all([...fleets.map((f) => f.fleet.stop()), ...reals.map((r) => r.replicas.close())]);
  try {
    for (const m of platform.models) {
      if (m.endpoints.length > 0 || m.discovery !== undefined) continue;
      const runner = await localRunnerFor(m.engine);
      if (runner !== undefined) {
        const replicas = await runner.start(m, {
          replicas: m.autoscaling?.enabled ? Math.max(1, m.autoscaling.minReplicas) : Math.max(1, m.replicas),
          cacheDir: localCacheDir(),
          progress: (msg) => log("info", msg, { model: m.name }),
        });
        reals.push({ model: m.name, engine: m.engine, replicas });
        endpoints[m.name] = replicas.urls;
        continue;
      }
      const plan = simPlanFor(platform, m);
      const fleet = await startSimFleet({
        engine: plan.engine,
        ...(plan.engineVersion ? { engineVersion: plan.engineVersion } : {}),
        model: typeof plan.config.model === "string" ? plan.config.model : plan.config.model,
        gpu: plan.config.gpu,
        ...(plan.config.tp ? { tp: plan.config.tp } : {}),
        ...(plan.config.weightFormat ? { weightFormat: plan.config.weightFormat } : {}),
        ...(plan.config.maxModelLen ? { maxModelLen: plan.config.maxModelLen } : {}),
        ...(plan.config.maxNumSeqs ? { maxNumSeqs: plan.config.maxNumSeqs } : {}),
        ...(plan.config.maxNumBatchedTokens ? { maxNumBatchedTokens: plan.config.maxNumBatchedTokens } : {}),
        ...(plan.config.gpuMemoryUtilization
          ? { gpuMemoryUtilization: plan.config.gpuMemoryUtilization }
          : {}),
        enablePrefixCaching: plan.config.enablePrefixCaching ?? true,
        servedModelName: plan.servedModelName,
        replicas: plan.replicas,
        host: "127.0.0.1",
        port: 0,
        speed,
      });
      fleets.push({
        model: m.name,
        fleet,
        engine: plan.engine,
        gpu:
          typeof plan.config.gpu === "string"
            ? plan.config.gpu
            : `${plan.config.gpu.id}${m.gpu?.migProfile ? ` MIG ${m.gpu.migProfile}` : ""}`,
      });
      endpoints[m.name] = fleet.urls;
    }
    const gw = await startGateway(platform, {
      host: opts.host ?? platform.gateway.listen.host,
      port,
      endpoints,
      log,
    });
    const isChat = (name: string, real: boolean) =>
      platform.models.some(
        (m) =>
          m.name === name && (m.kind ?? "chat") === "chat" && (!real || reals.some((r) => r.model === name)),
      );
    // A route served by real weights first: its answer is real text.
    const route =
      platform.routes.find((r) => r.targets.every((t) => isChat(t.model, true))) ??
      platform.routes.find((r) => r.targets.some((t) => isChat(t.model, false)));
    const sample = route
      ? `curl ${gw.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${route.name}","messages":[{"role":"user","content":"Hello! Who are you?"}],"max_tokens":48}'`
      : `curl ${gw.url}/v1/models`;
    if (opts.json) {
      io.out(
        JSON.stringify(
          {
            gateway: gw.url,
            replicas: [
              ...reals.map((r) => ({
                model: r.model,
                engine: r.engine,
                real: true,
                describe: r.replicas.describe,
                urls: r.replicas.urls,
              })),
              ...fleets.map((f) => ({
                model: f.model,
                engine: f.engine,
                real: false,
                gpu: f.gpu,
                urls: f.fleet.urls,
              })),
            ],
            sample,
          },
          null,
          2,
        ),
      );
    } else {
      const rows = [
        ["gateway", "inferplane", "", gw.url],
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
      io.out(
        `${renderTable(["SERVICE", "KIND", "GPU", "URL"], rows)}\n\n${
          reals.length > 0
            ? `Real engines (real weights):\n${realLines}\nEvery other replica is simulated.\n\n`
            : "Every replica is simulated.\n\n"
        }Routes: ${platform.routes.map((r) => r.name).join(", ")}\nTry:\n  ${sample}\n`,
      );
    }
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
